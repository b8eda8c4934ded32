"""HTTPS as users have it: a provider behind a private CA, the user's own app started by `record -- COMMAND`, the
console's hints when a handshake fails, and mitmproxy's own options passed through.

Everything is real: `oauthtrace record` as a process, the demo provider serving TLS with a certificate from a CA
made here (tests/support/tls.py), client apps in Python and Node that know nothing of the proxy.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner

from oauthtrace.cli import cli
from oauthtrace.demo.provider import DEMO_CLIENT_ID, DEMO_PASSWORD, DEMO_USER, DemoProvider
from oauthtrace.params import path, query_pairs
from oauthtrace.store import Store
from tests.support.processes import ended
from tests.support.recording import recording
from tests.support.tls import https_provider, private_ca  # noqa: F401 (fixtures)
from tests.support.upstreams import fetch, proxy_opener, wait_until

pytestmark = pytest.mark.e2e

APPS = Path(__file__).resolve().parent / "fixtures" / "apps"
REDIRECT_URI = "http://127.0.0.1:9/aip/plugin-demo/oauth/callback"  # the app redeems the code; nobody visits it
UPSTREAM_HINT = "pass --upstream-ca FILE with that CA's certificate (PEM); --ssl-insecure skips the check"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login_code(provider: DemoProvider, ca_cert: Path) -> str:
    """The user's part, done straight at the provider (not recorded): sign in, read the code off the redirect."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _NoRedirect(),
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(ca_cert))))
    form = {"username": DEMO_USER, "password": DEMO_PASSWORD, "client_id": DEMO_CLIENT_ID,
            "redirect_uri": REDIRECT_URI, "response_type": "code", "state": "s-123", "scope": "openid"}
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(f"{provider.url}/login", data=urlencode(form).encode(), timeout=10)
    assert redirect.value.code == 303
    return dict(query_pairs(redirect.value.headers["Location"]))["code"]


def token_hops(db_path: str):
    if not Path(db_path).exists():
        return []
    with Store.open(db_path) as store:
        return [h for t in store.traces() for h in store.hops(t.id) if path(h.url) == "/token"]


def app_line(record) -> str | None:
    return next((line for line in record.lines if line.startswith(("pid ", "token request failed"))), None)


def _records_the_apps_token_request(app: list[str], provider, private_ca, db_path, confdir):
    code = login_code(provider, private_ca.ca_cert)
    with recording(db_path, "--upstream-ca", str(private_ca.ca_cert), "--", *app, provider.url, code, REDIRECT_URI,
                   confdir=confdir) as record:
        assert wait_until(lambda: app_line(record) is not None, timeout=60), "\n".join(record.lines)
        said = app_line(record)
        assert said.endswith("token 200 True"), said
        app_pid = int(said.split()[1])
        assert wait_until(lambda: token_hops(db_path), timeout=30), "the token request was never stored"
        assert not ended(app_pid), "the app must run until the recording stops"
        output = record.stop()
    assert record.process.returncode == 0, output
    assert wait_until(lambda: ended(app_pid)), "the app outlived the recording"
    [token] = token_hops(db_path)
    assert token.url == f"{provider.url}/token" and token.url.startswith("https://")
    assert token.status == 200 and b"access_token" in token.resp_body
    assert ("code", code) in token.form
    return output


def test_a_python_app_started_by_record_has_its_https_token_request_recorded(https_provider, private_ca, db_path,
                                                                              confdir):
    """`record --upstream-ca CA -- python3 app.py`: nothing configured in the app, the provider behind a private CA."""
    _records_the_apps_token_request([sys.executable, str(APPS / "token_client.py")], https_provider(), private_ca,
                                    db_path, confdir)


def test_a_node_app_using_fetch_has_its_https_token_request_recorded(https_provider, private_ca, db_path, confdir):
    """Node 20's fetch ignores HTTPS_PROXY by itself; record's preload routes it through the proxy."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    _records_the_apps_token_request([node, str(APPS / "token_client.mjs")], https_provider(), private_ca, db_path,
                                    confdir)


def test_record_stops_when_its_command_exits_and_reflects_its_exit_code(db_path, confdir):
    with recording(db_path, "--", sys.executable, "-c", "import sys; print('app ran'); sys.exit(3)",
                   confdir=confdir) as record:
        record.process.wait(60)
        output = record.stop()
    assert record.process.returncode == 3, output
    assert "app ran" in output
    assert "exited with code 3; recording stops." in output


STUBBORN_APP = """
import os, signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("pid", os.getpid(), "ignores SIGTERM", flush=True)
signal.pause()
"""


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period(db_path, confdir):
    with recording(db_path, "--", sys.executable, "-c", STUBBORN_APP, confdir=confdir) as record:
        assert wait_until(lambda: app_line(record) is not None, timeout=60), "\n".join(record.lines)
        app_pid = int(app_line(record).split()[1])
        output = record.stop(timeout=60)
    assert record.process.returncode == 0, output
    assert ended(app_pid), "record returned while the app it started still ran"


def test_a_command_that_cannot_start_is_one_line_and_exit_2(db_path, confdir, tmp_path):
    missing = str(tmp_path / "no-such-program")
    with recording(db_path, "--", missing, confdir=confdir) as record:
        record.process.wait(60)
        output = record.stop()
    assert record.process.returncode == 2, output
    assert f"Error: cannot run {missing}: No such file or directory" in output


def test_without_upstream_ca_the_console_says_what_to_pass_once_and_show_marks_the_hop(https_provider, private_ca,
                                                                                        db_path, confdir):
    provider = https_provider()
    host = provider.url.split("://", 1)[1]
    with recording(db_path, confdir=confdir) as record:
        opener = proxy_opener(record.proxy_url, str(Path(confdir) / "mitmproxy-ca-cert.pem"))
        for _ in range(2):
            status, body = fetch(opener, f"{provider.url}/.well-known/oauth-authorization-server")
            assert status == 502 and b"Certificate verify failed" in body
        assert wait_until(lambda: len([1 for _ in _all_hops(db_path)]) == 2)
        output = record.stop()
    hints = [line for line in output.splitlines() if UPSTREAM_HINT in line]
    assert len(hints) == 1, output
    assert hints[0].startswith(f"Warning: the proxy does not trust {host}'s certificate (Certificate verify failed:")

    shown = subprocess.run([sys.executable, "-m", "oauthtrace", "show", "--db", db_path], capture_output=True,
                           text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    # the table wraps long cells: compare the words
    assert "error: Upstream TLS handshake failed: Certificate verify failed" in " ".join(shown.stdout.split()), \
        shown.stdout


def test_a_client_that_refuses_the_proxys_certificate_is_told_once_how_to_trust_it(https_provider, db_path, confdir):
    provider = https_provider()
    with recording(db_path, confdir=confdir) as record:
        distrustful = proxy_opener(record.proxy_url)  # the usual roots only, as an unconfigured app has
        for _ in range(2):
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
                fetch(distrustful, f"{provider.url}/.well-known/oauth-authorization-server")
        ca_cert = Path(confdir) / "mitmproxy-ca-cert.pem"
        told = f"Warning: a client at 127.0.0.1 refused the proxy's certificate"
        assert wait_until(lambda: any(line.startswith(told) for line in record.lines)), "\n".join(record.lines)
        output = record.stop()
    [hint] = [line for line in output.splitlines() if line.startswith(told)]
    assert f"Make it trust {ca_cert}: sudo cp {ca_cert} /usr/local/share/ca-certificates/" in hint


def test_ssl_insecure_records_the_provider_and_warns_at_start(https_provider, db_path, confdir):
    provider = https_provider()
    with recording(db_path, "--ssl-insecure", confdir=confdir) as record:
        opener = proxy_opener(record.proxy_url, str(Path(confdir) / "mitmproxy-ca-cert.pem"))
        assert fetch(opener, f"{provider.url}/.well-known/oauth-authorization-server")[0] == 200
        output = record.stop()
    assert output.splitlines()[0].startswith("Warning: --ssl-insecure: upstream certificates are not checked")
    [hop] = _all_hops(db_path)
    assert hop.status == 200 and hop.url.startswith("https://")


def test_set_passes_any_mitmproxy_option_as_mitmdump_takes_it(https_provider, private_ca, db_path, confdir):
    """mitmdump's own way to trust a CA (it replaces the usual roots) works through --set too."""
    provider = https_provider()
    with recording(db_path, "--set", f"ssl_verify_upstream_trusted_ca={private_ca.ca_cert}",
                   confdir=confdir) as record:
        opener = proxy_opener(record.proxy_url, str(Path(confdir) / "mitmproxy-ca-cert.pem"))
        assert fetch(opener, f"{provider.url}/.well-known/oauth-authorization-server")[0] == 200
        record.stop()
    assert [h.status for h in _all_hops(db_path)] == [200]


def test_reverse_listener_in_front_of_an_https_provider(https_provider, private_ca, db_path, confdir):
    """The client's token URL points at `--reverse https://…`; the listener speaks TLS to the private-CA provider."""
    provider = https_provider()
    code = login_code(provider, private_ca.ca_cert)
    with recording(db_path, "--reverse", f"{provider.url}@0", "--upstream-ca", str(private_ca.ca_cert),
                   confdir=confdir) as record:
        listener = record.reverse[provider.url]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                "client_id": DEMO_CLIENT_ID, "client_secret": "demo-secret-Zr81kq0"}
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        status, body = fetch(direct, f"{listener}/token", data=urlencode(form).encode())
        assert status == 200 and b"access_token" in body
        record.stop()
    [token] = token_hops(db_path)
    assert token.url == f"{listener}/token"
    assert token.upstream_url == f"{provider.url}/token"
    assert token.status == 200


@pytest.mark.parametrize("args, message", [
    (["--set", "no_such_option=1"], "Error: bad --set 'no_such_option=1': Unknown option(s): no_such_option"),
    (["--set", "ssl_insecure=maybe"], "Error: bad --set 'ssl_insecure=maybe': Boolean must be"),
    (["--set", "=1"], "Error: bad --set '=1': expected NAME=VALUE"),
    (["--set", "mode=transparent"], "Error: bad --set 'mode=transparent': oauthtrace sets mode itself; "
                                    "use --port/--reverse"),
    (["--upstream-ca", "/no/such/ca.pem"], "Error: bad --upstream-ca '/no/such/ca.pem': No such file or directory"),
])
def test_bad_proxy_options_are_one_line_and_exit_2(args, message, db_path, confdir):
    result = CliRunner().invoke(cli, ["record", "--db", db_path, "--port", "0", "--confdir", confdir, *args])
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(message), result.output
    assert not _all_hops(db_path)


def test_an_upstream_ca_file_without_a_certificate_is_refused(tmp_path, db_path, confdir):
    not_a_ca = tmp_path / "key.pem"
    not_a_ca.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    result = CliRunner().invoke(cli, ["record", "--db", db_path, "--confdir", confdir, "--upstream-ca",
                                      str(not_a_ca)])
    assert result.exit_code == 2
    assert result.output.strip() == (f"Error: bad --upstream-ca {str(not_a_ca)!r}: no PEM certificate in it "
                                     "(expected -----BEGIN CERTIFICATE-----)")


def _all_hops(db_path: str):
    if not Path(db_path).exists():
        return []
    with Store.open(db_path) as store:
        return [h for t in store.traces() for h in store.hops(t.id)]
