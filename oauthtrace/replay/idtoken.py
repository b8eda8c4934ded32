"""Fresh ID tokens for the stub provider: the recorded claims, issued again now, signed with a key of its own.

A recorded id_token cannot be served twice: it has expired, it names the recorded provider and client, it carries
the recorded nonce, and its signature is the provider's, which the stub cannot make. An OpenID client checks each
of these (OpenID Connect Core §3.1.3.7) and would refuse the login. So the stub keeps the recorded claims (the
user, the profile) and sets what a provider sets per login: iss, aud, nonce, iat, exp, at_hash, and in an
authorization response c_hash and s_hash; it signs with an RSA key made at start and publishes that key at its
jwks_uri.
"""

from __future__ import annotations

import json
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from oauthtrace.analysis.jwt import claims as jwt_claims
from oauthtrace.digests import b64url, half_hash

DEFAULT_LIFETIME = 3600  # seconds, where the recorded token does not say (exp - iat)
_PER_LOGIN = ("iss", "aud", "azp", "nonce", "iat", "exp", "auth_time", "at_hash", "c_hash", "s_hash")


class IdTokenIssuer:
    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_urlsafe(8)

    def jwks(self) -> dict:
        """The JWK Set (RFC 7517) a client verifies the stub's id_tokens with."""
        numbers = self._key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                          "n": _b64_uint(numbers.n), "e": _b64_uint(numbers.e)}]}

    def reissue(self, recorded: str, *, issuer: str, client_id: str | None, nonce: str | None,
                access_token: str | None, now: float | None = None, code: str | None = None,
                state: str | None = None) -> str:
        """The recorded id_token's claims for this login, signed RS256 with the stub's key."""
        claims = per_login_claims(jwt_claims(recorded) or {}, issuer=issuer, client_id=client_id, nonce=nonce,
                                  access_token=access_token, now=now, code=code, state=state)
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{_b64_json(header)}.{_b64_json(claims)}".encode("ascii")
        signature = self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode('ascii')}.{b64url(signature)}"


def per_login_claims(recorded: dict, *, issuer: str, client_id: str | None, nonce: str | None,
                     access_token: str | None, now: float | None = None, code: str | None = None,
                     state: str | None = None) -> dict:
    """The recorded claims with what a provider sets for each login set for this one."""
    issued = int(now if now is not None else time.time())
    lifetime = _lifetime(recorded)
    claims = {name: value for name, value in recorded.items() if name not in _PER_LOGIN}
    claims.update(iss=issuer, iat=issued, exp=issued + lifetime)
    if client_id:
        claims["aud"] = client_id
    if nonce:  # echoed only when this login sent one (OIDC Core §3.1.2.1)
        claims["nonce"] = nonce
    if "auth_time" in recorded:
        claims["auth_time"] = issued
    if access_token and "at_hash" in recorded:  # for this access token, as the recorded one was (§3.1.3.8)
        claims["at_hash"] = half_hash(access_token)
    if code and "c_hash" in recorded:  # a hybrid response's id_token binds its code (§3.3.2.11)
        claims["c_hash"] = half_hash(code)
    if state and "s_hash" in recorded:
        claims["s_hash"] = half_hash(state)
    return claims


def _lifetime(recorded: dict) -> int:
    exp, iat = recorded.get("exp"), recorded.get("iat")
    if isinstance(exp, (int, float)) and isinstance(iat, (int, float)) and exp > iat:
        return int(exp - iat)
    return DEFAULT_LIFETIME


def _b64_json(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _b64_uint(number: int) -> str:
    return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))
