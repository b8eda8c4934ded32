"""Redaction: no raw secret (nor its base64 or URL-encoded form) leaves in an export; state and names stay visible;
each secret is the same fingerprint everywhere within one export."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import quote, quote_plus

import pytest

from tests.interchange_support import run_cli
from oauthtrace.interchange.har_import import hops_from_har
from oauthtrace.interchange.redact import Redactor
from oauthtrace.model import Hop
from oauthtrace.params import parse_pairs, query_pairs
from oauthtrace.store import Store

AS = "https://auth.example.com"
CB = "https://client.example.net/oauth/callback"
CLIENT_ID = "client-7f3a"
STATE = "st8+Qx/9 aZ"  # not a secret; its `+`, `/` and space must survive exactly
NONCE = "n-0S6_WzA2Mj"


def _jwt(claims: dict, signature: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.{signature}"


SECRETS = {
    "client_secret": "cs-Xq81mZp0RtY7wVb3",
    "password": "correct-horse-battery",
    "code": "SplxlOBeZQQYbYS6WxSbIA9z",
    "access_token": "at-2YotnFZFEjr1zCsicMWpAA77",
    "refresh_token": "rt-tGzv3JOkF0XG5Qx2TlKWIA55",
    "id_token": _jwt({"iss": AS, "sub": "alice", "aud": CLIENT_ID, "nonce": NONCE},
                     "c2lnbmF0dXJlLW9mLXRoZS1pZC10b2tlbi14eXo"),
    "cookie": "sess-8d7f6e5c4b3a2918",
    "set_cookie": "as-session-0ff1ce0ff1ce",
    "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "implicit_token": "at-implicit-9c8b7a6f5e4d",
    "userinfo": "url-pass-w0rd-55",
    "custom_header": "tenant-s3cr3t-header-1",
    "custom_param": "tenant-param-value-42",
}
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(SECRETS["code_verifier"].encode()).digest()).decode().rstrip("=")
BASIC = base64.b64encode(f"{CLIENT_ID}:{SECRETS['client_secret']}".encode()).decode()


def form(pairs) -> bytes:
    from urllib.parse import urlencode

    return urlencode(pairs).encode()


def hop(seq, method, url, **fields) -> Hop:
    body = fields.get("req_body")
    headers = fields.setdefault("req_headers", [])
    if body is not None and any(k == "Content-Type" and "form" in v for k, v in headers):
        fields["form"] = parse_pairs(body.decode())
    return Hop(trace_id=1, seq=seq, method=method, url=url, started=1000.0 + seq, ended=1000.5 + seq,
               query=query_pairs(url), **fields)


def secret_trace() -> list[Hop]:
    s = SECRETS
    code_q = f"code={s['code']}&state={quote(STATE, safe='')}"
    authorize = (f"{AS}/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={quote(CB, safe='')}"
                 f"&state={quote(STATE, safe='')}&nonce={NONCE}&code_challenge={CHALLENGE}&code_challenge_method=S256")
    form_type = ("Content-Type", "application/x-www-form-urlencoded")
    json_type = ("Content-Type", "application/json")
    return [
        hop(1, "GET", authorize, req_headers=[("Cookie", f"theme=dark; as_sid={s['cookie']}")], status=302,
            resp_headers=[("Location", "/login")], location="/login"),
        hop(2, "POST", f"{AS}/login", req_headers=[form_type, ("Cookie", f"as_sid={s['cookie']}")],
            req_body=form([("username", "alice"), ("password", s["password"])]), status=302,
            resp_headers=[("Location", f"{CB}?{code_q}"),
                          ("Set-Cookie", f"as_session={s['set_cookie']}; Path=/; HttpOnly; Secure")],
            location=f"{CB}?{code_q}"),
        hop(3, "GET", f"{CB}?{code_q}", req_headers=[("Referer", f"{AS}/login?code={s['code']}")], status=200,
            resp_headers=[("Content-Type", "text/html")],
            resp_body=f"<p>Signed in. Debug: code {s['code']}</p>".encode()),
        hop(4, "POST", f"{AS}/token", listener="reverse:https://auth.example.com@8081",
            req_headers=[form_type, ("Authorization", f"Basic {BASIC}")],
            req_body=form([("grant_type", "authorization_code"), ("code", s["code"]), ("redirect_uri", CB),
                           ("code_verifier", s["code_verifier"]), ("client_secret", s["client_secret"])]),
            status=200, resp_headers=[json_type, ("Cache-Control", "no-store")],
            resp_body=json.dumps({"access_token": s["access_token"], "token_type": "Bearer", "expires_in": 3600,
                                  "refresh_token": s["refresh_token"], "id_token": s["id_token"]},
                                 indent=1).encode()),
        hop(5, "GET", f"https://api.example.com/me?access_token={s['access_token']}",
            req_headers=[("Authorization", f"Bearer {s['access_token']}"), ("X-Tenant-Secret", s["custom_header"])],
            status=200, resp_headers=[json_type], resp_body=json.dumps({"you": {"token": s["access_token"]}}).encode()),
        hop(6, "POST", f"{AS}/token", req_headers=[json_type],
            req_body=json.dumps({"grant_type": "refresh_token", "refresh_token": s["refresh_token"],
                                 "tenant_key": s["custom_param"]}).encode(),
            status=200, resp_headers=[("Content-Type", "application/octet-stream")],
            resp_body=b"\xff\xfe\x00binary" + s["access_token"].encode() + b"\x00"),
        hop(7, "GET", f"{AS}/authorize?response_type=token", status=302,
            location=f"{CB}#access_token={s['implicit_token']}&state={quote(STATE, safe='')}&id_token={s['id_token']}",
            resp_headers=[("Location", f"{CB}#access_token={s['implicit_token']}&id_token={s['id_token']}")]),
        hop(8, "GET", f"{AS}/authorize?response_mode=form_post", status=200,
            resp_headers=[("Content-Type", "text/html")],
            resp_body=(f'<form method="post" action="{CB}"><input type="hidden" name="code" value="{s["code"]}">'
                       f'<input type="hidden" name="state" value="{STATE}"></form>').encode()),
        hop(9, "GET", f"https://admin:{s['userinfo']}@internal.example/", status=None,
            error=f"connection reset while sending code={s['code']}"),
    ]


def encoded_forms(value: str) -> set[str]:
    raw = value.encode()
    return {value, quote(value, safe=""), quote_plus(value), base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("=")}


@pytest.fixture
def secret_db(db_path):
    with Store.open(db_path) as store:
        store.import_trace("secrets", "test", secret_trace())
    return db_path


@pytest.mark.parametrize("fmt", ["har", "json"])
def test_no_raw_secret_in_any_form_leaves_in_an_export(capsys, secret_db, fmt):
    code, out, err = run_cli(capsys, "export", "--db", secret_db, "--format", fmt,
                             "--redact", "X-Tenant-Secret", "--redact", "tenant_key")
    assert code == 0, err
    data = out.encode("utf-8")
    for name, value in SECRETS.items():
        for form_of_value in encoded_forms(value):
            assert form_of_value.encode() not in data, f"{name} leaked as {form_of_value!r}"
    assert BASIC.encode() not in data
    signature = SECRETS["id_token"].rsplit(".", 1)[1]
    assert signature.encode() not in data


@pytest.mark.parametrize("fmt", ["har", "json"])
def test_state_names_and_jwt_claims_stay_visible(capsys, secret_db, fmt):
    code, out, _ = run_cli(capsys, "export", "--db", secret_db, "--format", fmt)
    assert code == 0
    assert quote(STATE, safe="") in out  # exactly as encoded on the wire
    assert json.dumps(STATE)[1:-1] in out  # and decoded in the parameter lists
    for name in ("code_verifier", "client_secret", "access_token", "refresh_token", "id_token", "password",
                 "as_sid", "as_session", "nonce", "code_challenge", CLIENT_ID, NONCE):
        assert name in out
    header_and_claims = SECRETS["id_token"].rsplit(".", 1)[0]
    assert header_and_claims in out
    assert re.search(r"‹redacted:[0-9a-f]{6}›", out)


def test_equal_secrets_have_equal_fingerprints_everywhere(capsys, secret_db):
    code, out, _ = run_cli(capsys, "export", "--db", secret_db, "--format", "har")
    hops = hops_from_har(json.loads(out))
    location_code = dict(query_pairs(hops[1].location))["code"]
    assert location_code.startswith("‹redacted:")
    assert dict(hops[2].query)["code"] == location_code  # callback query
    assert dict(hops[3].form)["code"] == location_code  # token body
    assert location_code in hops[7].resp_text  # form_post hidden input
    assert location_code in hops[2].resp_text  # echoed in a page
    assert dict(hops[2].query)["state"] == STATE
    token_json = json.loads(hops[3].resp_body)
    assert hops[4].req_header("authorization") == f"Bearer {token_json['access_token']}"
    assert json.loads(hops[5].req_body)["refresh_token"] == token_json["refresh_token"]
    # The client_secret in the body and in Basic are one secret, so one fingerprint.
    user, _, password = base64.b64decode(hops[3].req_header("authorization")[6:]).decode().partition(":")
    from urllib.parse import unquote_plus

    assert user == CLIENT_ID
    assert unquote_plus(password) == dict(hops[3].form)["client_secret"]


def test_fingerprints_differ_between_exports(capsys, secret_db):
    _, first, _ = run_cli(capsys, "export", "--db", secret_db, "--format", "json")
    _, second, _ = run_cli(capsys, "export", "--db", secret_db, "--format", "json")
    assert set(re.findall(r"‹redacted:[0-9a-f]{6}›", first)).isdisjoint(re.findall(r"‹redacted:[0-9a-f]{6}›", second))


def test_no_redact_keeps_secrets_and_warns(capsys, secret_db):
    code, out, err = run_cli(capsys, "export", "--db", secret_db, "--format", "json", "--no-redact")
    assert code == 0
    assert SECRETS["password"] in out and "NOT redacted" in err
    code, _, err = run_cli(capsys, "export", "--db", secret_db, "--no-redact", "--redact", "x")
    assert code == 2 and "contradict" in err


# -- the pure module ------------------------------------------------------------------------------

KEY = b"fixed test key"


def test_pkce_relation_survives_redaction():
    hops = secret_trace()
    redactor = Redactor(hops, key=KEY)
    out = redactor.hops(hops)
    verifier = dict(out[3].form)["code_verifier"]
    challenge = dict(out[0].query)["code_challenge"]
    assert verifier.startswith("‹redacted:") and challenge != CHALLENGE
    assert base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=") == challenge


def test_form_body_keeps_every_other_byte():
    body = b"grant_type=authorization_code&state=a+b%2Fc&code=xyz123abc789&redirect_uri=https%3A%2F%2Fc.example%2Fcb"
    original = Hop(trace_id=1, seq=1, method="POST", url="https://as/token", req_body=body,
                   req_headers=[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                   form=parse_pairs(body.decode()))
    out = Redactor([original], key=KEY).hop(original)
    assert out.req_body.startswith(b"grant_type=authorization_code&state=a+b%2Fc&code=%E2%80%B9redacted%3A")
    assert out.req_body.endswith(b"&redirect_uri=https%3A%2F%2Fc.example%2Fcb")
    assert parse_pairs(out.req_body.decode()) == out.form


def test_json_body_keeps_its_formatting_and_stays_valid():
    body = b'{\n  "access_token": "tok-abcdefghijklmnop",\n  "expires_in": 3600,\n  "pin": 1234\n}'
    original = Hop(trace_id=1, seq=1, method="POST", url="https://as/token", status=200,
                   resp_headers=[("Content-Type", "application/json")], resp_body=body)
    out = Redactor([original], key=KEY).hop(original)
    assert out.resp_body.startswith(b'{\n  "access_token": "\xe2\x80\xb9redacted:')
    assert json.loads(out.resp_body)["expires_in"] == 3600


def test_numeric_and_short_secrets_in_json_are_redacted_and_json_stays_valid():
    body = b'{"password": "pw", "code": 123456, "expires_in": 1234567, "nested": [{"client_secret": "s"}]}'
    original = Hop(trace_id=1, seq=1, method="POST", url="https://as/x",
                   req_headers=[("Content-Type", "application/json")], req_body=body)
    data = json.loads(Redactor([original], key=KEY).hop(original).req_body)
    assert data["password"].startswith("‹redacted:") and data["code"].startswith("‹redacted:")
    assert data["nested"][0]["client_secret"].startswith("‹redacted:")
    assert data["expires_in"] == 1234567  # not mistaken for the code


def test_short_values_are_not_swept_out_of_unrelated_words():
    login = Hop(trace_id=1, seq=1, method="POST", url="https://as/login",
                req_headers=[("Content-Type", "application/x-www-form-urlencoded")], req_body=b"password=test",
                form=[("password", "test")], status=200, resp_body=b"<p>latest contest: test</p>",
                resp_headers=[("Content-Type", "text/html")])
    out = Redactor([login], key=KEY).hop(login)
    assert out.resp_body.startswith(b"<p>latest contest: \xe2\x80\xb9redacted:")


def test_empty_secret_stays_empty_so_omitted_stays_omitted():
    callback = Hop(trace_id=1, seq=1, method="GET", url="https://c/cb?code=&state=abc",
                   query=[("code", ""), ("state", "abc")])
    out = Redactor([callback], key=KEY).hop(callback)
    assert out.url == "https://c/cb?code=&state=abc" and out.query == [("code", ""), ("state", "abc")]


def test_the_same_key_gives_the_same_fingerprint():
    assert Redactor(key=KEY).value("abc") == Redactor(key=KEY).value("abc") != Redactor(key=b"other").value("abc")
    assert re.fullmatch(r"‹redacted:[0-9a-f]{6}›", Redactor(key=KEY).value("abc"))


def test_code_inside_a_url_encoded_once_more_is_found():
    long_code, short_code = "SplxlOBeZQQYbYS6WxSbIA9z", "k3Xq9Z"
    hops = [
        Hop(trace_id=1, seq=1, method="GET", url=f"https://c/cb?code={long_code}", query=[("code", long_code)]),
        Hop(trace_id=1, seq=2, method="GET", url=f"https://c/cb?code={short_code}", query=[("code", short_code)]),
        Hop(trace_id=1, seq=3, method="GET", url="https://as/logout?return_to=https%3A%2F%2Fc%2Fcb%3Fcode%3D"
            f"{long_code}%26x%3D1&next=https%3A%2F%2Fc%2Fcb%3Fcode%3D{short_code}"),
    ]
    out = Redactor(hops, key=KEY).hops(hops)
    assert long_code not in out[2].url and short_code not in out[2].url
    assert out[2].url.startswith("https://as/logout?return_to=https%3A%2F%2Fc%2Fcb%3Fcode%3D%E2%80%B9redacted")


def test_many_secrets_each_replaced_everywhere():
    codes = [f"code-{i:06d}-{i * 7919 % 100003:06d}" for i in range(5000)]
    hops = [Hop(trace_id=1, seq=i + 1, method="GET", url=f"https://c/cb?code={code}", query=[("code", code)],
                status=200, resp_headers=[("Content-Type", "text/html")], resp_body=f"<b>{code}</b>".encode())
            for i, code in enumerate(codes)]
    out = Redactor(hops, key=KEY).hops(hops)
    for hop, code in zip(out, codes):
        assert code not in hop.url and code.encode() not in hop.resp_body
        assert dict(hop.query)["code"].encode() in hop.resp_body


def test_deeply_nested_json_body_is_still_redacted():
    depth = 5000
    body = ('{"password": "hunter2-but-longer", "a": ' + "[" * depth + "]" * depth + "}").encode()
    original = Hop(trace_id=1, seq=1, method="POST", url="https://as/x",
                   req_headers=[("Content-Type", "application/json")], req_body=body)
    out = Redactor([original], key=KEY).hop(original)
    assert out.req_body.endswith(b"]}") and b"hunter2" not in out.req_body


def test_json_cut_at_the_body_cap_still_loses_its_secrets():
    body = b'{"access_token": "at-cut-short-0123456789", "token_type": "Bearer", "big": "xxxxxxxx'
    original = Hop(trace_id=1, seq=1, method="POST", url="https://as/token", status=200, resp_truncated=True,
                   resp_headers=[("Content-Type", "application/json")], resp_body=body)
    out = Redactor([original], key=KEY).hop(original)
    assert b"at-cut-short" not in out.resp_body and b'"token_type": "Bearer"' in out.resp_body


def test_redacting_an_export_again_keeps_its_fingerprints():
    hops = secret_trace()
    once = Redactor(hops, key=KEY).hops(hops)
    twice = Redactor(once, key=b"another export").hops(once)
    assert [(h.url, h.query, h.form, h.req_headers, h.resp_headers, h.req_body, h.resp_body) for h in twice] == [
        (h.url, h.query, h.form, h.req_headers, h.resp_headers, h.req_body, h.resp_body) for h in once]


def test_an_error_code_in_a_response_stays_readable():
    error = Hop(trace_id=1, seq=1, method="POST", url="https://as/token", status=400,
                resp_headers=[("Content-Type", "application/json")],
                resp_body=b'{"error": "invalid_grant", "code": "invalid_grant_expired", "status": 400}')
    callback = Hop(trace_id=1, seq=2, method="GET", url="https://c/cb?error=invalid_grant_expired",
                   query=[("error", "invalid_grant_expired")])
    out = Redactor([error, callback], key=KEY).hops([error, callback])
    assert json.loads(out[0].resp_body)["code"] == "invalid_grant_expired"
    assert out[1].url == "https://c/cb?error=invalid_grant_expired"


def test_finding_evidence_can_be_redacted_with_the_same_fingerprints():
    hops = secret_trace()
    redactor = Redactor(hops, key=KEY)
    evidence = {"param": "code", "sent": SECRETS["code"], "returned": None, "state": STATE,
                "tokens": [{"access_token": SECRETS["access_token"]}], "note": f"Bearer {SECRETS['access_token']}"}
    shown = redactor.data(evidence)
    assert shown["sent"] == dict(redactor.hop(hops[3]).form)["code"]
    assert shown["state"] == STATE and shown["returned"] is None
    assert SECRETS["access_token"] not in json.dumps(shown)
