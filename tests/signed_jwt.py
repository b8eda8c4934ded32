"""Real RS256 JWTs for provider tests: signed with a fresh RSA key (cryptography), as a provider signs its tokens,
so a rule reads exactly what a captured token holds."""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@lru_cache(maxsize=1)
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _part(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def rs256(claims: dict, *, kid: str = "test-key-1", typ: str = "JWT") -> str:
    """A compact JWS of `claims` signed RS256 (RFC 7518 §3.3)."""
    signing_input = f"{_part({'alg': 'RS256', 'kid': kid, 'typ': typ})}.{_part(claims)}"
    signature = _key().sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def verifies(token: str) -> bool:
    """Whether `token`'s signature checks out with the key rs256 signs with (the tests' own sanity check)."""
    head, claims, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    try:
        _key().public_key().verify(raw, f"{head}.{claims}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # noqa: BLE001 — cryptography's InvalidSignature
        return False
    return True
