import os
import shutil

import pytest

from oauthtrace.capture.browser import find_chromium


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


@pytest.fixture(scope="session")
def chromium():
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed")
    return binary
