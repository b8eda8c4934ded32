"""`record --browser` as a user runs it: real Chromium, started by record itself, with a window (on Xvfb), through
HTTPS interception to a provider behind a private CA.

The browser is the one `record --browser` finds through OAUTHTRACE_BROWSER, here a small script that runs
Chromium with record's flags but the loopback-only ones every test browser gets: record's `--proxy-bypass-list`
is replaced (Chromium keeps a repeated switch's first value) and nothing but 127.0.0.1 resolves, so Chromium's own
calls home neither reach the proxy nor leave the machine.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from oauthtrace.demo.client import MISSING_STATE, DemoClient
from oauthtrace.params import path
from oauthtrace.store import Store
from tests.support.recording import recording
from tests.support.upstreams import wait_until
from tests.support.xvfb import virtual_display
from tests.support.tls import https_provider, private_ca  # noqa: F401 (fixtures)
from tests.test_record_https import UPSTREAM_HINT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def display():
    try:
        with virtual_display() as value:
            yield value
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}: CI installs it (.ci/run)")
        pytest.skip(str(exc))


@pytest.fixture
def loopback_browser(chromium, tmp_path):
    script = tmp_path / "chromium-loopback"
    script.write_text(f"""#!/bin/sh
for arg do
    shift
    case "$arg" in --proxy-bypass-list=*) arg='--proxy-bypass-list=*;<-loopback>' ;; esac
    set -- "$@" "$arg"
done
exec {chromium} --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1' "$@"
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def _environment(browser: str, display: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["OAUTHTRACE_BROWSER"] = browser
    if display:
        env["DISPLAY"] = display
    return env


def _check(db_path: str) -> str:
    done = subprocess.run([sys.executable, "-m", "oauthtrace", "check", "--db", db_path], capture_output=True,
                          text=True, timeout=120)
    return done.stdout


def test_record_browser_logs_in_through_https_to_a_private_ca_provider_and_names_the_dropped_state(
        https_provider, private_ca, loopback_browser, display, db_path, confdir):
    provider = https_provider("drop-state")
    client = DemoClient(provider.url).start()  # its token request never comes: without state it stops at the callback
    provider.redirect_uris.append(client.redirect_uri)
    try:
        with recording(db_path, "--browser", "--open", f"{client.url}/start", "--upstream-ca",
                       str(private_ca.ca_cert), confdir=confdir, env=_environment(loopback_browser, display)) as record:
            assert client.done.wait(60), "the login never reached the client's callback:\n" + "\n".join(record.lines)
            assert wait_until(lambda: _stored_paths(db_path)[-1:] == ["/aip/plugin-demo/oauth/callback"], timeout=30)
            output = record.stop()
    finally:
        client.stop()
    assert client.outcome == {**MISSING_STATE, "status": 400}
    assert "Warning" not in output, output
    hops = _hops(db_path)
    authorize = next(h for h in hops if path(h.url) == "/authorize")
    assert authorize.url.startswith(f"{provider.url}/authorize") and authorize.status == 200
    assert [path(h.url) for h in hops if h.url.startswith(provider.url)] == ["/authorize", "/login"]
    assert all(h.url.startswith("http://127.0.0.1:") or h.url.startswith("https://127.0.0.1:") for h in hops), \
        "only loopback reaches the proxy"
    assert "state-dropped" in _check(db_path)


def test_record_browser_without_the_upstream_ca_shows_the_console_hint(https_provider, loopback_browser, display,
                                                                       db_path, confdir):
    provider = https_provider("drop-state")
    client = DemoClient(provider.url).start()
    provider.redirect_uris.append(client.redirect_uri)
    host = provider.url.split("://", 1)[1]
    try:
        with recording(db_path, "--browser", "--open", f"{client.url}/start", confdir=confdir,
                       env=_environment(loopback_browser, display)) as record:
            assert wait_until(lambda: any(UPSTREAM_HINT in line for line in record.lines), timeout=60), \
                "\n".join(record.lines)
            output = record.stop()
    finally:
        client.stop()
    assert not client.done.is_set()
    [hint] = [line for line in output.splitlines() if UPSTREAM_HINT in line]
    assert hint.startswith(f"Warning: the proxy does not trust {host}'s certificate (Certificate verify failed")
    authorize = next(h for h in _hops(db_path) if path(h.url) == "/authorize")
    assert authorize.error.startswith("Upstream TLS handshake failed: Certificate verify failed")


def test_record_browser_without_a_display_says_why_and_what_to_do(loopback_browser, db_path, confdir):
    with recording(db_path, "--browser", confdir=confdir, env=_environment(loopback_browser, None)) as record:
        assert wait_until(lambda: any("the browser exited" in line for line in record.lines), timeout=60), \
            "\n".join(record.lines)
        assert record.process.poll() is None, "recording goes on: the user can set the proxy in their own browser"
        output = record.stop()
    [said] = [line for line in output.splitlines() if "the browser exited" in line]
    assert said.startswith("Warning: the browser exited (code ")
    assert "Missing X server or $DISPLAY" in said
    assert f"set {record.proxy_url} as the HTTP and HTTPS proxy of your own browser" in said
    assert "Set DISPLAY" in said


def _hops(db_path: str):
    """The one trace's hops, without Chromium's own /favicon.ico requests."""
    if not os.path.exists(db_path):
        return []
    with Store.open(db_path) as store:
        return [h for t in store.traces() for h in store.hops(t.id) if path(h.url) != "/favicon.ico"]


def _stored_paths(db_path: str) -> list[str]:
    return [path(h.url) for h in _hops(db_path)]


def test_record_browser_that_cannot_start_says_why_and_what_to_do(tmp_path, db_path, confdir):
    not_runnable = tmp_path / "chromium"
    not_runnable.write_text("#!/bin/sh\n")  # no execute permission
    with recording(db_path, "--browser", confdir=confdir, env=_environment(str(not_runnable), None)) as record:
        assert wait_until(lambda: any("cannot start the browser" in line for line in record.lines), timeout=60), \
            "\n".join(record.lines)
        assert record.process.poll() is None
        output = record.stop()
    [said] = [line for line in output.splitlines() if "cannot start the browser" in line]
    assert said == (f"Warning: cannot start the browser {not_runnable}: Permission denied. Set OAUTHTRACE_BROWSER "
                     f"to a Chromium or Chrome, or set {record.proxy_url} as the HTTP and HTTPS proxy of your own "
                     "browser; recording goes on.")
