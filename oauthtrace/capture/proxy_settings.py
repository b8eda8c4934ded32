"""How the proxy talks to upstream servers and any other mitmproxy option, as a command line gave them.

`record`, `demo` and the proxies they start share one set of options (`--upstream-ca`, `--ssl-insecure`,
`--set NAME=VALUE`). `demo` starts its proxy deep inside a scenario, so the command line's settings are in effect
for the whole command (`in_effect`) and every ProxyConfig made meanwhile starts from them.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from dataclasses import dataclass

from oauthtrace.capture.ca_bundle import read_ca_file
from oauthtrace.errors import UserError

# Options oauthtrace sets from its own flags: a --set of one would be overwritten or break recording.
MANAGED = {
    "mode": "--port/--reverse", "listen_host": "--listen-host", "listen_port": "--port", "confdir": "--confdir",
    "connection_strategy": None, "oauthtrace_db": "--db", "oauthtrace_name": "--name",
    "oauthtrace_only_hosts": "--only-hosts", "oauthtrace_ignore_hosts": "--ignore-hosts",
}
_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")


@dataclass(frozen=True)
class ProxySettings:
    upstream_ca_pem: bytes | None = None  # a private CA's certificates, trusted besides certifi's roots
    ssl_insecure: bool = False
    mitm_sets: tuple[str, ...] = ()  # mitmdump's --set NAME=VALUE, applied as it applies them

    @classmethod
    def from_command_line(cls, upstream_ca: str | None, ssl_insecure: bool, sets: tuple[str, ...]) -> ProxySettings:
        """Checked before anything starts: a missing CA file or a malformed --set is a one-line UserError.

        Whether an option exists and its value fits is mitmproxy's to say, once its addons have registered
        their options (ProxyRunner reports it as a UserError too).
        """
        for spec in sets:
            check_set(spec)
        pem = read_ca_file(upstream_ca, "--upstream-ca") if upstream_ca else None
        return cls(upstream_ca_pem=pem, ssl_insecure=ssl_insecure, mitm_sets=tuple(sets))


def check_set(spec: str) -> None:
    name = spec.split("=", 1)[0].strip()
    if not _NAME.match(name):
        raise UserError(f"bad --set {spec!r}: expected NAME=VALUE with a mitmproxy option name "
                        "(see `mitmdump --options`)")
    if name in MANAGED:
        instead = MANAGED[name]
        raise UserError(f"bad --set {spec!r}: oauthtrace sets {name} itself"
                        + (f"; use {instead}" if instead else ""))


_IN_EFFECT: contextvars.ContextVar[ProxySettings] = contextvars.ContextVar("oauthtrace_proxy_settings",
                                                                           default=ProxySettings())


def command_line_settings() -> ProxySettings:
    return _IN_EFFECT.get()


@contextlib.contextmanager
def in_effect(settings: ProxySettings):
    token = _IN_EFFECT.set(settings)
    try:
        yield settings
    finally:
        _IN_EFFECT.reset(token)
