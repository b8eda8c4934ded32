"""Family J (OpenID Connect): nonce sent, echoed and fresh; id_token claims a client must check."""

from __future__ import annotations

import base64
import hashlib
import json

from hops import CLIENT_ID, CODE, PROVIDER, exchange_of, flow, hits_by_exchange, rule_hits
from oauthtrace.analysis.registry import RULES
from oauthtrace.analysis.rules import oidc
from oauthtrace.model import Exchange

NONCE = "n-0S6_WzA2Mj"
ACCESS_TOKEN = "at-1f2e3d4c5b6a79880"
NOW = 1_780_000_000.0  # when the hand-made token response arrives


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict, header: dict | None = None) -> str:
    header = header or {"alg": "RS256", "kid": "k1"}
    signature = "" if header.get("alg") == "none" else b64(b"signature")
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{signature}"


def half_hash(value: str) -> str:
    return b64(hashlib.sha256(value.encode()).digest()[:16])


def good_claims(**changes) -> dict:
    claims = {"iss": PROVIDER, "sub": "alice", "aud": CLIENT_ID, "exp": NOW + 3600, "iat": NOW, "nonce": NONCE,
              "at_hash": half_hash(ACCESS_TOKEN)}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def oidc_flow(*, claims=None, id_token=None, nonce=NONCE, **kwargs):
    token = id_token if id_token is not None else jwt(claims if claims is not None else good_claims())
    body = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600, "id_token": token}
    kwargs.setdefault("scope", "openid profile")
    f = flow(nonce=nonce, token_json=body, **kwargs)
    if f.token is not None:
        f.token.started, f.token.ended = NOW - 0.2, NOW
    return f


def test_rules_are_registered_with_catalogue_metadata():
    for rule_id, severity, blame, needs in [
        ("nonce-missing", "error", "C", "F"), ("nonce-mismatch", "error", "AS", "B"),
        ("nonce-reused", "warning", "C", "F"), ("id-token-invalid", "error", "AS", "B"),
    ]:
        registered = RULES[rule_id]
        assert (registered.family, registered.severity, registered.blame, registered.needs) == (
            "J", severity, blame, needs)
        assert "OIDC" in registered.spec and registered.quote and registered.fix


# nonce-missing

def test_implicit_id_token_without_nonce_is_an_error_at_authorize():
    f = oidc_flow(nonce=None, response_type="id_token", login=False)
    [hit] = rule_hits("nonce-missing", exchange_of(f))
    assert hit.hop is f.authorize
    assert hit.severity is None  # error, the default
    assert hit.evidence["response_type"] == "id_token"


def test_code_flow_without_nonce_or_pkce_is_a_warning():
    f = oidc_flow(nonce=None)
    [hit] = rule_hits("nonce-missing", exchange_of(f))
    assert hit.severity == "warning"
    assert hit.evidence["pkce"] is False


def test_nonce_missing_quiet_with_nonce_with_pkce_or_without_openid():
    assert rule_hits("nonce-missing", exchange_of(oidc_flow())) == []
    assert rule_hits("nonce-missing", exchange_of(oidc_flow(nonce=None, pkce=True))) == []
    assert rule_hits("nonce-missing", exchange_of(flow(scope="read write"))) == []


def test_nonce_inside_a_request_object_counts():
    request_object = jwt({"nonce": NONCE, "scope": "openid"}, {"alg": "none"})
    f = oidc_flow(nonce=None, response_type="code id_token", extra_authorize=[("request", request_object)])
    assert rule_hits("nonce-missing", exchange_of(f)) == []


# nonce-mismatch

def test_id_token_without_the_sent_nonce_fires_at_the_token_response():
    f = oidc_flow(claims=good_claims(nonce=None))
    [hit] = rule_hits("nonce-mismatch", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence == {"param": "nonce", "sent": NONCE, "returned": None, "difference": "absent"}
    assert hit.message == f"authorize.nonce = {NONCE} → id_token.nonce = ∅"


def test_id_token_with_another_nonce_says_how_it_differs():
    f = oidc_flow(claims=good_claims(nonce=NONCE[:6]))
    [hit] = rule_hits("nonce-mismatch", exchange_of(f))
    assert hit.evidence["difference"] == "truncated"


def test_echoed_nonce_is_quiet_and_refresh_id_tokens_are_not_asked_for_one():
    assert rule_hits("nonce-mismatch", exchange_of(oidc_flow())) == []
    f = oidc_flow()
    refresh = flow(token_json={"access_token": "at-2", "token_type": "Bearer",
                               "id_token": jwt(good_claims(nonce=None))}).token
    assert rule_hits("nonce-mismatch", exchange_of(f, refreshes=[refresh])) == []


# nonce-reused

def test_same_nonce_in_a_later_flow_warns_at_the_later_authorize():
    first = oidc_flow(state="state-one-aaaaaaaaaaaaaaaa")
    second = oidc_flow(state="state-two-bbbbbbbbbbbbbbbb", seq=20, t0=3000.0)
    found = hits_by_exchange("nonce-reused", exchange_of(first, 0), exchange_of(second, 1))
    assert len(found) == 1
    index, hit = found[0]
    assert index == 1 and hit.hop is second.authorize
    assert hit.evidence["earlier_exchange"] == 0 and hit.evidence["earlier_hop"] == first.authorize.seq


def test_fresh_nonces_and_a_reload_of_the_same_request_are_quiet():
    first = oidc_flow(nonce="nonce-aaaaaaaaaaaa")
    second = oidc_flow(nonce="nonce-bbbbbbbbbbbb", seq=20, t0=3000.0)
    assert hits_by_exchange("nonce-reused", exchange_of(first, 0), exchange_of(second, 1)) == []
    reload = oidc_flow(seq=20, t0=3000.0)  # the identical URL again: left to the state rules
    assert hits_by_exchange("nonce-reused", exchange_of(oidc_flow(), 0), exchange_of(reload, 1)) == []


# id-token-invalid

def problems_of(f, **fields):
    return {hit.evidence["problem"]: hit for hit in rule_hits("id-token-invalid", exchange_of(f, **fields))}


def test_a_good_id_token_is_quiet():
    assert problems_of(oidc_flow()) == {}


def test_wrong_audience_fires_at_the_token_response_with_both_values():
    f = oidc_flow(claims=good_claims(aud=["someone-else"]))
    hit = problems_of(f)["aud"]
    assert hit.hop is f.token
    assert hit.evidence["expected"] == CLIENT_ID
    assert f"∌ client_id = {CLIENT_ID}" in hit.message


def test_expired_on_arrival_unsigned_and_missing_claims_each_fire():
    f = oidc_flow(id_token=jwt(good_claims(exp=NOW - 600, sub=None, iat=None), {"alg": "none"}))
    found = problems_of(f)
    assert set(found) == {"alg-none", "missing-claims", "expired"}
    assert found["missing-claims"].evidence["missing"] == ["sub", "iat"]
    assert found["expired"].evidence["exp"] == NOW - 600


def test_a_little_clock_skew_is_tolerated():
    assert problems_of(oidc_flow(claims=good_claims(exp=NOW - 5))) == {}


def test_string_exp_is_reported():
    assert "exp-type" in problems_of(oidc_flow(claims=good_claims(exp=str(int(NOW + 3600)))))


def test_bad_at_hash_fires_and_right_one_is_quiet():
    assert problems_of(oidc_flow(claims=good_claims(at_hash=half_hash("another-token"))))["at_hash"].evidence[
        "expected"] == half_hash(ACCESS_TOKEN)
    assert oidc.token_hash(ACCESS_TOKEN, "RS256") == half_hash(ACCESS_TOKEN)


def test_front_channel_id_token_c_hash_is_checked_against_the_code():
    wrong = jwt(good_claims(c_hash=half_hash("another-code"), at_hash=None))
    f = oidc_flow(response_type="code id_token", extra_response=[("id_token", wrong)])
    hit = problems_of(f)["c_hash"]
    assert hit.hop is f.authz_response
    right = jwt(good_claims(c_hash=half_hash(CODE), at_hash=None))
    f = oidc_flow(response_type="code id_token", extra_response=[("id_token", right)])
    assert "c_hash" not in problems_of(f)


def test_undecodable_id_token_is_reported_not_raised():
    for junk in ("not-a-jwt", "a.b.c", "\xff\xfe.\x00.x", "e30." + b64(b"[1,2]") + ".sig"):
        found = problems_of(oidc_flow(id_token=junk))
        assert set(found) == {"undecodable"}
    encrypted = "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"  # JWE: not readable, not wrong
    assert problems_of(oidc_flow(id_token=encrypted)) == {}
    for rule_id in ("nonce-mismatch", "nonce-missing", "nonce-reused"):
        list(rule_hits(rule_id, exchange_of(oidc_flow(id_token="a.b.c"))))


def test_a_redacted_export_lints_like_the_original():
    from oauthtrace.interchange.redact import Redactor

    for f in (oidc_flow(), oidc_flow(claims=good_claims(aud="someone-else", nonce="other"))):
        redacted = Redactor(f).hops(f)
        ex = Exchange(index=0, hops=redacted, authorize=redacted[0], authz_response=redacted[2],
                      callback=redacted[3], tokens=[redacted[4]])
        for rule_id in ("id-token-invalid", "nonce-mismatch", "nonce-missing"):
            original = [(hit.hop.seq, hit.evidence.get("problem")) for hit in rule_hits(rule_id, exchange_of(f))]
            assert [(hit.hop.seq, hit.evidence.get("problem")) for hit in rule_hits(rule_id, ex)] == original
