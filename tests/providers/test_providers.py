"""Each big provider's documented good login, imported as a user would (`oauthtrace import login.har`), is
recognised and raises no error or warning — both as captured and as Chrome's default (sanitized) HAR export.

The fixtures are written by build_fixtures.py from each provider's public documentation (the URL of each shape is
next to it there). A finding at error or warning on such a login is a false alarm unless it is a true statement
about a documented deviation, listed in EXPECTED with the provider's own words.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from oauthtrace.cli import cli
from tests.providers.build_fixtures import FLOWS
from tests.providers.har_shape import SANITIZED_HEADERS, chrome_sanitized

HERE = Path(__file__).resolve().parent
EXPORTS = ("as-captured", "chrome-sanitized")

# (provider, rule) -> why that finding is a true statement, in the provider's words. Any severity is accepted
# for these; every other error or warning fails the test.
EXPECTED = {
    ("github", "token-response-not-json"): (
        "GitHub answers the token request form-encoded unless the client asks for JSON: \"By default, the response "
        "takes the following form: access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&"
        "token_type=bearer\" (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps)."
        " The client in the fixture sent no Accept: application/json; RFC 6749 §5.1 asks for application/json."),
    ("entra-v1-sharepoint", "expires-in-not-number"): (
        "The v1.0 endpoint answers expires_in as a JSON string: its documented successful response reads "
        "\"expires_in\": \"3600\" (https://learn.microsoft.com/en-us/previous-versions/azure/active-directory/"
        "azuread-dev/v1-protocols-oauth-code); RFC 6749 §5.1 makes it a number."),
    ("entra-v2", "pkce-not-advertised"): (
        "Entra's v2.0 discovery document has no code_challenge_methods_supported (RFC 8414 §2: \"If omitted, the "
        "authorization server does not support PKCE\"), yet Microsoft documents code_challenge: \"Used to secure "
        "authorization code grants via Proof Key for Code Exchange (PKCE) ... recommended for all application "
        "types - native apps, SPAs, and confidential clients like web apps\" (https://learn.microsoft.com/en-us/"
        "entra/identity-platform/v2-oauth2-auth-code-flow). Strict clients skip PKCE or refuse the server."),
    ("cognito", "pkce-not-advertised"): (
        "Cognito's discovery document has no code_challenge_methods_supported, yet \"Amazon Cognito supports Proof "
        "Key for Code Exchange (PKCE) authentication in authorization code grants\" (https://docs.aws.amazon.com/"
        "cognito/latest/developerguide/using-pkce-in-authorization-code.html); MCP clients that read the metadata "
        "refuse it (anthropics/claude-code#13275)."),
}


def _fixture(provider: str, export: str, tmp_path: Path) -> Path:
    document = json.loads((HERE / f"{provider}.har").read_text(encoding="utf-8"))
    if export == "chrome-sanitized":
        document = chrome_sanitized(document)
    path = tmp_path / f"{provider}.har"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.output


def _imported(provider: str, export: str, tmp_path: Path) -> str:
    db = str(tmp_path / "oauthtrace.db")
    out = _cli("import", str(_fixture(provider, export, tmp_path)), "--db", db)
    assert "Imported" in out
    return db


def _base(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0]


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("provider", sorted(FLOWS))
def test_documented_login_is_recognised(provider, export, tmp_path):
    """The authorization request, the callback and the token request are each found, at the provider's
    documented endpoints and the client's redirect URI."""
    db = _imported(provider, export, tmp_path)
    shown = json.loads(_cli("show", "--db", db, "--format", "json"))
    by_role: dict[str, list[str]] = {}
    for hop in shown["hops"]:
        by_role.setdefault(hop["role"], []).append(f"{hop['method']} {_base(hop['url'])}")
    flow = FLOWS[provider]
    assert f"GET {flow.authorize}" in by_role.get("authorize", []), by_role
    assert any(hop.endswith(" " + flow.redirect_uri) for hop in by_role.get("callback", [])), by_role
    assert by_role.get("token") == [f"POST {flow.token}"], by_role


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("provider", sorted(FLOWS))
def test_documented_login_raises_no_error_or_warning(provider, export, tmp_path):
    db = _imported(provider, export, tmp_path)
    report = json.loads(_cli("check", "--db", db, "--format", "json", "--fail-on", "never"))
    loud = [f"{f['severity']} {f['rule']} at hop {f['hop']}: {f['message']}" for f in report["findings"]
            if f["severity"] in ("error", "warning") and (provider, f["rule"]) not in EXPECTED]
    assert loud == []


def _jwts(document: dict):
    """Every compact JWS in the capture's bodies and form fields (header.payload.signature, RS256 ones)."""
    text = json.dumps(document)
    for match in re.finditer(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", text):
        yield match.group(0)


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# the captures whose client fetches a JWKS (GitHub and Discord issue no JWT)
SIGNING = [name for name in sorted(FLOWS) if '\\"keys\\"' in (HERE / f"{name}.har").read_text(encoding="utf-8")]


@pytest.mark.parametrize("provider", SIGNING)
def test_every_rs256_token_verifies_against_the_jwks_the_capture_serves(provider):
    document = json.loads((HERE / f"{provider}.har").read_text(encoding="utf-8"))
    keys = {}
    for entry in document["log"]["entries"]:
        body = entry["response"]["content"].get("text") or ""
        if body.startswith("{") and '"keys"' in body:
            for key in json.loads(body)["keys"]:
                numbers = rsa.RSAPublicNumbers(int.from_bytes(_b64(key["e"]), "big"),
                                               int.from_bytes(_b64(key["n"]), "big"))
                keys[key["kid"]] = numbers.public_key()
    checked = 0
    for compact in set(_jwts(document)):
        header_segment, claims_segment, signature = compact.split(".")
        header = json.loads(_b64(header_segment))
        if header["alg"] != "RS256" or header.get("kid") not in keys:
            continue  # a client's own assertion, Keycloak's HMAC refresh token, Apple's ES256 client secret
        keys[header["kid"]].verify(_b64(signature), f"{header_segment}.{claims_segment}".encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        checked += 1
    assert checked >= 1, "the capture serves a JWKS but no token it signs"


@pytest.mark.parametrize("provider", sorted(FLOWS))
def test_chrome_sanitized_export_holds_no_cookie_or_authorization(provider):
    document = chrome_sanitized(json.loads((HERE / f"{provider}.har").read_text(encoding="utf-8")))
    for entry in document["log"]["entries"]:
        for side in ("request", "response"):
            names = {h["name"].lower() for h in entry[side]["headers"]}
            assert not names & set(SANITIZED_HEADERS)
            assert entry[side]["cookies"] == []


@pytest.mark.parametrize("export", EXPORTS)
def test_github_error_answered_with_200_is_named_at_the_token_hop(export, tmp_path):
    """GitHub answers a code it no longer accepts with HTTP 200 and {"error": "bad_verification_code", ...}
    (https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors#bad-verification-code):
    a client that trusts the status reads no token and no error. The login is recognised and that answer named."""
    from tests.providers.build_fixtures import DEVIATIONS

    flow, _ = DEVIATIONS["github-bad-code"]
    db = _imported("github-bad-code", export, tmp_path)
    hops = json.loads(_cli("show", "--db", db, "--format", "json"))["hops"]
    token_hops = [hop["seq"] for hop in hops if hop["role"] == "token"]
    assert [_base(hop["url"]) for hop in hops if hop["role"] == "token"] == [flow.token]
    assert any(hop["role"] == "authorize" and _base(hop["url"]) == flow.authorize for hop in hops)
    report = json.loads(_cli("check", "--db", db, "--format", "json", "--fail-on", "never"))
    named = [f for f in report["findings"] if f["hop"] in token_hops and f["severity"] in ("error", "warning")
             and "bad_verification_code" in f["message"] + json.dumps(f["evidence"])
             and "200" in f["message"] + json.dumps(f["evidence"])]
    assert named, [f"{f['rule']}: {f['message']}" for f in report["findings"]]
    assert any(f["evidence"].get("provider") == "GitHub (OAuth apps)" for f in named)  # named, with its fix


def test_committed_fixtures_are_what_the_generator_writes(tmp_path):
    """The .har files are build_fixtures.py's output: a shape changed there is changed in the fixture too."""
    from tests.providers.build_fixtures import write_all

    written = write_all(tmp_path)
    assert sorted(path.name for path in written) == sorted(path.name for path in HERE.glob("*.har"))
    for path in written:
        assert path.read_bytes() == (HERE / path.name).read_bytes(), f"{path.name}: run build_fixtures.py"
