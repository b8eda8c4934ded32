"""Credentials a replay sends (password, client secret …): from the environment, or the user's own recording.

`--secret NAME=ENVVAR` names where a secret comes from; NAME is the parameter it fills (`password`,
`client_secret`, any form field). Without one, `OAUTHTRACE_SECRET_<NAME>` is looked up. A recorded value is used
only when it is really there: a redacted fingerprint never leaves for a server. For a form field recorded redacted,
the last resort is the value the live page itself fills in (the demo provider's pre-filled demo password): what a
user pressing the button sends, so it takes the same path as the live page's CSRF values (replay.forms.fill).
"""

from __future__ import annotations

import os
import re
from typing import Mapping

from oauthtrace.errors import UserError
from oauthtrace.model import is_redacted

DEFAULT_PREFIX = "OAUTHTRACE_SECRET_"
_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]+$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# where a value comes from (Secrets.pick): the order is the order they win in
FROM_ENVIRONMENT = "environment"
FROM_RECORDING = "recording"
FROM_PAGE = "page"
CLI_HINT = "give each with --secret NAME=ENVVAR (or set OAUTHTRACE_SECRET_<NAME>)"
CLI_ONE = "give it with --secret {name}=ENVVAR (or set {env})"  # {name}: the secret, {env}: its default variable


class Secrets:
    def __init__(self, sources: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None,
                 *, hint: str = CLI_HINT, hint_one: str = CLI_ONE):
        self.sources = dict(sources or {})  # secret name -> environment variable
        self.environ = os.environ if environ is None else environ
        self.hint = hint  # how the user supplies a secret where this replay runs (CLI, pytest plugin)
        self.hint_one = hint_one  # the same for one named secret

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...], environ: Mapping[str, str] | None = None) -> "Secrets":
        sources = {}
        for spec in specs:
            name, equals, env = spec.partition("=")
            if not equals or not _NAME.match(name) or not _ENV.match(env):
                raise UserError(f"--secret {spec!r}: expected NAME=ENVVAR, e.g. --secret client_secret=MY_SECRET")
            sources[name] = env
        return cls(sources, environ)

    def env_name(self, name: str) -> str:
        return self.sources.get(name) or DEFAULT_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()

    def value(self, name: str, recorded: str | None = None) -> str | None:
        """The value to send for secret `name`: the environment's, else the recorded one if it is not redacted."""
        return self.pick(name, recorded)[0]

    def pick(self, name: str, recorded: str | None = None, offered: str | None = None) -> tuple[str | None, str | None]:
        """(value to send for `name`, where it came from: FROM_ENVIRONMENT, FROM_RECORDING or FROM_PAGE), or
        (None, None) when nothing gives one.

        `offered` is what the live page fills the field with; it stands in only for a recorded value that is
        redacted — the user's own value (environment, then an unredacted recording) always wins.
        """
        from_env = self.environ.get(self.env_name(name))
        if from_env is not None:
            return from_env, FROM_ENVIRONMENT
        if name in self.sources:  # the user named a variable: do not fall back to something else silently
            return None, None
        if usable(recorded):
            return recorded, FROM_RECORDING
        if is_redacted(recorded) and offered and usable(offered):
            return offered, FROM_PAGE
        return None, None

    def how_to_give(self, name: str) -> str:
        """How the user supplies secret `name` where this replay runs, e.g. `give it with --secret NAME=ENVVAR`."""
        return self.hint_one.format(name=name, env=self.env_name(name))

    def describe_missing(self, names: list[str]) -> str:
        """One line naming each missing secret and where it was looked for."""
        parts = []
        for name in dict.fromkeys(names):
            if name in self.sources:
                parts.append(f"{name} (${self.sources[name]} is not set)")
            else:
                parts.append(name)
        return (
            f"the replay needs {', '.join(parts)} and the recording does not hold {'it' if len(parts) == 1 else 'them'}"
            f" (redacted or never sent); {self.hint}"
        )

    def describe_unfilled(self, names: list[str], page_url: str) -> str:
        """One line for redacted fields the live page leaves empty: the user must give them."""
        unique = list(dict.fromkeys(names))
        how = self.how_to_give(unique[0]) if len(unique) == 1 else self.hint
        return (f"the replay needs {', '.join(unique)}: the recording holds {'it' if len(unique) == 1 else 'them'} "
                f"redacted and the live page at {page_url} does not fill {'it' if len(unique) == 1 else 'them'} in; "
                f"{how}")


def usable(value: str | None) -> bool:
    return value is not None and not is_redacted(value)
