"""The stub's fresh id_tokens: what stays from the recording and what is set for each login."""

from __future__ import annotations

import base64
import hashlib

from oauthtrace.analysis.jwt import decode
from oauthtrace.replay.idtoken import IdTokenIssuer, per_login_claims

RECORDED = {"iss": "https://as.example", "sub": "u1", "aud": ["old-client", "other"], "azp": "old-client",
            "iat": 1000, "exp": 1300, "nonce": "old-nonce", "at_hash": "old", "auth_time": 990, "name": "Ada"}


def test_the_user_stays_and_every_per_login_claim_is_set_for_this_login():
    claims = per_login_claims(RECORDED, issuer="http://127.0.0.1:5000", client_id="live", nonce="n-1",
                              access_token="fresh-token", now=50_000)
    at_hash = base64.urlsafe_b64encode(hashlib.sha256(b"fresh-token").digest()[:16]).rstrip(b"=").decode()
    assert claims == {"sub": "u1", "name": "Ada", "iss": "http://127.0.0.1:5000", "aud": "live", "nonce": "n-1",
                      "iat": 50_000, "exp": 50_300, "auth_time": 50_000, "at_hash": at_hash}


def test_a_login_without_nonce_gets_none_and_an_unknown_lifetime_is_an_hour():
    claims = per_login_claims({"sub": "u1", "nonce": "old"}, issuer="http://stub", client_id="c", nonce=None,
                              access_token=None, now=10)
    assert "nonce" not in claims and "at_hash" not in claims and claims["exp"] == 10 + 3600


def test_the_token_is_rs256_under_the_published_key_id():
    issuer = IdTokenIssuer()
    token = decode(issuer.reissue("not-a-jwt", issuer="http://stub", client_id="c", nonce=None, access_token=None))
    [key] = issuer.jwks()["keys"]
    assert token.header == {"alg": "RS256", "typ": "JWT", "kid": key["kid"]} and key["kty"] == "RSA"
    assert token.claims["iss"] == "http://stub" and token.claims["aud"] == "c"
