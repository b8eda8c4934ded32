"""Reading a JWT's header and claims without verifying it and without the network.

The rules only need to look at claims (iss, aud, nonce, exp ...) the provider put in a token; whether the
signature is good is the client's job. Anything that is not a readable JWS compact serialization gives None.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

MAX_TOKEN = 64 * 1024  # a larger "token" is junk, not worth decoding


@dataclass
class Jwt:
    header: dict
    claims: dict
    signature: str  # still base64url; empty for alg "none"

    @property
    def alg(self) -> str | None:
        value = self.header.get("alg")
        return value if isinstance(value, str) else None


def decode(token) -> Jwt | None:
    """The header and claims of a JWS `header.claims.signature`, or None for anything else (never raises)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        return None
    header_part, claims_part, signature = token.strip().split(".")
    header = _json_part(header_part)
    claims = _json_part(claims_part)
    if header is None or claims is None:
        return None
    return Jwt(header=header, claims=claims, signature=signature)


def claims(token) -> dict | None:
    """Just the claims, or None."""
    decoded = decode(token)
    return decoded.claims if decoded else None


def looks_like_jwt(value) -> bool:
    return decode(value) is not None


def b64url_decode(text: str) -> bytes | None:
    """base64url without padding, as JOSE writes it; None when it is not."""
    if not isinstance(text, str):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_part(part: str) -> dict | None:
    raw = b64url_decode(part)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
