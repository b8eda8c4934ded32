import os
import shutil

import pytest
from hypothesis import settings as hypothesis_settings

from oauthtrace.capture.browser import find_chromium
from oauthtrace.demo.provider import DemoProvider

# In CI every run tries the same examples (derandomize: drawn from each test's own source), so a red build is one
# anyone can reproduce and a green one did not pass by luck of the draw; no example database to carry between runs.
# Locally the default profile keeps exploring new examples. Loaded here, before the test modules build their
# settings objects, which inherit from the profile loaded at that moment.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def confdir(tmp_path):
    """A fresh mitmproxy CA directory: tests never touch ~/.mitmproxy."""
    path = tmp_path / "mitmproxy-conf"
    path.mkdir()
    return str(path)


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "oauthtrace.db")


@pytest.fixture
def populated_db(capsys, db_path):
    """A database holding one imported trace, for the import tests that check a bad file leaves it unchanged."""
    from tests.interchange_support import run_cli, sample

    code, _, err = run_cli(capsys, "import", sample("har_files/insomnia.har"), "--db", db_path)
    assert code == 0, err
    return db_path


@pytest.fixture
def demo_provider():
    """`demo_provider(bug)` starts a demo provider with that bug (of class `kind`) on an OS-picked port; the test's
    end stops every one it started."""
    started = []

    def start(bug: str, kind: type[DemoProvider] = DemoProvider) -> DemoProvider:
        started.append(kind(bug).start())
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="session")
def chromium():
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed")
    return binary
