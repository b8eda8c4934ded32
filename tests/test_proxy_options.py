"""The pieces behind `--upstream-ca`, `--ssl-insecure`, `--set`, `record -- COMMAND` and the TLS hints, one at a
time, and the same options on `oauthtrace demo` reaching the proxy its scenario starts."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest

from oauthtrace.capture.browser import failure_reason
from oauthtrace.capture.ca_bundle import read_ca_file, remove_bundle, write_bundle
from oauthtrace.capture.child import child_environment, describe_exit, exit_status
from oauthtrace.capture.proxy_settings import ProxySettings
from oauthtrace.capture.tls_hints import client_hint, client_refused, upstream_hint
from oauthtrace.errors import UserError
from oauthtrace.model import Hop
from oauthtrace.store import Store
from oauthtrace.timeline import status_word
from oauthtrace.tui import lanes
from tests.interchange_support import run_cli
from tests.support.tls import make_private_ca


def test_the_upstream_bundle_holds_the_usual_roots_and_the_private_ca(tmp_path):
    ca = make_private_ca(tmp_path)
    mkcert_style = tmp_path / "with-key.pem"  # a CA file with its key beside it must not leak into the bundle
    mkcert_style.write_bytes(ca.ca_cert.read_bytes() + ca.server_key.read_bytes())
    bundle = write_bundle(read_ca_file(str(mkcert_style), "--upstream-ca"), "test-")
    try:
        assert bundle.stat().st_mode & 0o077 == 0
        text = bundle.read_bytes()
        assert b"PRIVATE KEY" not in text
        context = ssl.create_default_context(cafile=str(bundle))
        subjects = [dict(item[0] for item in c["subject"]).get("commonName") for c in context.get_ca_certs()]
        assert "oauthtrace test CA" in subjects
        public = ssl.create_default_context(cafile=certifi.where()).get_ca_certs()
        assert len(context.get_ca_certs()) == len(public) + 1
    finally:
        remove_bundle(bundle)
    assert not bundle.exists()


def test_settings_refuse_what_oauthtrace_sets_itself_and_a_nameless_set():
    with pytest.raises(UserError, match="oauthtrace sets listen_port itself; use --port"):
        ProxySettings.from_command_line(None, False, ("listen_port=9",))
    with pytest.raises(UserError, match="expected NAME=VALUE"):
        ProxySettings.from_command_line(None, False, ("not an option",))
    assert ProxySettings.from_command_line(None, True, ("anticache", "ignore_hosts=a")).mitm_sets == (
        "anticache", "ignore_hosts=a")


def test_the_child_environment_points_every_runtime_at_the_proxy_and_the_bundle(tmp_path):
    base = {"PATH": "/usr/bin", "NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost",
            "NODE_OPTIONS": "--max-old-space-size=512", "HTTPS_PROXY": "http://corporate:3128"}
    bundle = tmp_path / "bundle.pem"
    env = child_environment(base, "http://127.0.0.1:8080", bundle)
    assert "NO_PROXY" not in env and "no_proxy" not in env
    assert {env[k] for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")} == {"http://127.0.0.1:8080"}
    assert {env[k] for k in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")} == {
        str(bundle)}
    assert env["NODE_USE_ENV_PROXY"] == "1"
    assert env["NODE_OPTIONS"].startswith("--max-old-space-size=512 --require ")
    preload = env["NODE_OPTIONS"].split("--require ", 1)[1].strip('"')
    assert Path(preload).is_file() and preload.endswith("node_fetch_proxy.cjs")
    assert env["PATH"] == "/usr/bin"


def test_exit_status_follows_the_shell_for_a_signalled_child():
    assert exit_status(3) == 3 and exit_status(-15) == 143
    assert describe_exit(["npm", "run", "dev"], 1) == "npm run dev exited with code 1"
    assert describe_exit(["npm", "run", "dev"], -2) == "npm run dev was stopped by SIGINT"


def test_hints_say_what_happened_and_what_to_pass(tmp_path):
    said = upstream_hint("127.0.0.1:9443", "Certificate verify failed: self-signed certificate")
    assert said == ("the proxy does not trust 127.0.0.1:9443's certificate (Certificate verify failed: self-signed "
                    "certificate). If it comes from a private CA (mkcert, a company CA, self-signed), pass "
                    "--upstream-ca FILE with that CA's certificate (PEM); --ssl-insecure skips the check.")
    # not a certificate problem: the options would not help, so none is offered
    assert upstream_hint("127.0.0.1:80", "The remote server does not speak TLS.") == (
        "the TLS handshake with 127.0.0.1:80 failed: The remote server does not speak TLS.")
    ca = tmp_path / "mitmproxy-ca-cert.pem"
    assert "sudo cp" in client_hint("127.0.0.1", "x", ca) and str(ca) in client_hint("127.0.0.1", "x", ca)
    assert client_refused("The client does not trust the proxy's certificate for a:443 (tlsv1 alert unknown ca)")
    assert not client_refused("The client disconnected during the handshake. If this happens consistently for "
                              "a:443, this may indicate that the client does not trust the proxy's certificate.")


def test_lists_mark_an_upstream_tls_failure_apart_from_other_errors():
    failed = Hop(trace_id=1, seq=1, started=0.0, listener="browser", method="GET", url="https://127.0.0.1:9443/",
                 error="Upstream TLS handshake failed: Certificate verify failed: self-signed certificate")
    assert lanes.status_text(failed) == "TLS"  # the UI's swimlanes and hop list use the same word
    assert status_word(None, "Upstream TLS handshake failed: Certificate verify failed: x") == "TLS"
    assert status_word(None, "Certificate verify failed: x") == "error"  # a client-side message is not ours
    assert status_word(302, None) == "302" and status_word(None, None) == "—"


def test_the_browsers_reason_is_its_display_error_not_the_bus_noise():
    log = ("[1:1:1207/091155.76:ERROR:dbus/bus.cc:405] Failed to connect to the bus: no socket\n"
           "[1:1:1207/091155.76:ERROR:ui/ozone/platform/x11/ozone_platform_x11.cc:257] Missing X server or $DISPLAY\n"
           "[1:1:1207/091155.76:ERROR:ui/aura/env.cc:253] The platform failed to initialize.  Exiting.\n")
    assert failure_reason(log) == "Missing X server or $DISPLAY"
    assert failure_reason("chromium: error while loading shared libraries: libnss3.so\n") == (
        "chromium: error while loading shared libraries: libnss3.so")
    assert failure_reason("") == "it printed nothing"


def test_demo_takes_the_proxy_options_too(capsys, db_path):
    code, out, err = run_cli(capsys, "demo", "--db", db_path, "--no-browser", "--no-ui",
                             "--set", "oauthtrace_body_cap=16")
    assert code == 0, err
    with Store.open(db_path) as store:
        [trace] = store.traces()
        hops = store.hops(trace.id)
    assert hops and all(len(h.resp_body or b"") <= 16 for h in hops)
    assert any(h.resp_truncated for h in hops)


def test_demo_refuses_a_bad_set_in_one_line(capsys, db_path):
    code, out, err = run_cli(capsys, "demo", "--db", db_path, "--no-browser", "--no-ui", "--set", "nope=1")
    assert code == 2
    assert err.strip() == "Error: bad --set 'nope=1': Unknown option(s): nope"
