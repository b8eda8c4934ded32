"""pytest plugin: every recording under a `recordings/` folder is a test that replays it against the fixed server.

    pytest recordings/

Targets and secrets come from `[tool.oauthtrace]` in pyproject.toml, overridden by the environment
(`OAUTHTRACE_TARGETS="ORIGIN=URL ORIGIN=URL"`) or `--oauthtrace-target ORIGIN=URL`:

    [tool.oauthtrace]
    targets = { "https://auth.example.com" = "http://127.0.0.1:8000" }
    secrets = { password = "TEST_PASSWORD", client_secret = "TEST_CLIENT_SECRET" }   # NAME = ENVVAR
    client-auth = "basic"      # only for recordings that end before the token request
    db = "replays.db"          # keep the replays as traces (default: in memory)

A failing test shows the findings diff: fixed, still present, new. Only imports pytest until a test runs, since
it is loaded into every pytest session of an environment where oauthtrace is installed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

SUFFIXES = (".har", ".json", ".har.gz", ".mitm", ".flows")
FOLDER = "recordings"


def pytest_addoption(parser):
    group = parser.getgroup("oauthtrace", "oauthtrace recordings replayed as tests")
    group.addoption("--oauthtrace-target", action="append", default=[], metavar="ORIGIN=URL",
                    help="Replay what was recorded for ORIGIN against URL (repeatable).")


def pytest_collect_file(file_path: Path, parent):
    if not file_path.name.endswith(SUFFIXES) or FOLDER not in file_path.parent.parts:
        return None
    if not (_configured(parent.config) or _named_on_command_line(parent.config, file_path)):
        return None  # a recordings folder the user did not ask about and did not configure: not ours to run
    return RecordingFile.from_parent(parent, path=file_path)


class RecordingFile(pytest.File):
    def collect(self):
        yield RecordingItem.from_parent(self, name=self.path.name)


class ReplayFailed(Exception):
    def __init__(self, result):
        super().__init__("replay failed")
        self.result = result


class RecordingItem(pytest.Item):
    def runtest(self):
        from oauthtrace.replay.job import load_source, replay
        from oauthtrace.replay.secrets import Secrets
        from oauthtrace.replay.session import Targets
        from oauthtrace.store import Store

        settings = _settings(self.config)
        specs = _target_specs(self.config, settings)
        if not specs:
            from oauthtrace.errors import UserError

            raise UserError("no targets: set [tool.oauthtrace] targets in pyproject.toml, OAUTHTRACE_TARGETS, "
                            "or --oauthtrace-target ORIGIN=URL")
        secrets = Secrets({str(k): str(v) for k, v in (settings.get("secrets") or {}).items()},
                          hint='name each in [tool.oauthtrace] secrets = { NAME = "ENVVAR" }',
                          hint_one='name it in [tool.oauthtrace] secrets = {{ {name} = "ENVVAR" }} (or set {env})')
        with Store.open(_db_path(self.config, settings)) as store:
            source = load_source(str(self.path), None)
            result = replay(source, store, targets=Targets.parse(specs), secrets=secrets,
                            client_auth=settings.get("client-auth"), profile=settings.get("profile"))
        if result.run.notes:  # e.g. a token request left out: a passing test shows it with -rA / -rP
            self.add_report_section("call", "oauthtrace notes", "\n".join(result.run.notes))
        if not result.passed:
            raise ReplayFailed(result)

    def repr_failure(self, excinfo, style=None):
        from oauthtrace.errors import UserError

        if isinstance(excinfo.value, ReplayFailed):
            from oauthtrace.replay.report import text

            return text(excinfo.value.result)
        if isinstance(excinfo.value, UserError):
            return f"Error: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"replay {self.path.name}"


def _settings(config) -> dict:
    cached = getattr(config, "_oauthtrace_settings", None)
    if cached is None:
        cached = _read_pyproject(Path(config.rootpath) / "pyproject.toml")
        config._oauthtrace_settings = cached
    return cached


def _read_pyproject(path: Path) -> dict:
    if not path.is_file():
        return {}
    import tomllib

    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise pytest.UsageError(f"{path}: {exc}") from None
    table = data.get("tool", {}).get("oauthtrace", {})
    return table if isinstance(table, dict) else {}


def _target_specs(config, settings: dict) -> list[str]:
    option = config.getoption("oauthtrace_target") or []
    if option:
        return list(option)
    env = os.environ.get("OAUTHTRACE_TARGETS", "").strip()
    if env:
        return [spec for spec in re.split(r"[\s,]+", env) if spec]
    targets = settings.get("targets") or {}
    if isinstance(targets, dict):
        return [f"{recorded}={live}" for recorded, live in targets.items()]
    return [str(spec) for spec in targets]


def _configured(config) -> bool:
    return bool(config.getoption("oauthtrace_target") or os.environ.get("OAUTHTRACE_TARGETS")
                or _settings(config).get("targets"))


def _named_on_command_line(config, file_path: Path) -> bool:
    for arg in config.args:
        named = Path(str(arg).split("::")[0]).resolve()
        if file_path.resolve() == named or named in file_path.resolve().parents:
            return True
    return False


def _db_path(config, settings: dict) -> str:
    db = settings.get("db")
    return str(Path(config.rootpath) / db) if db else ":memory:"
