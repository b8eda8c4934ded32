"""The hashes OAuth puts in parameters and claims, base64url-encoded without padding as JOSE and PKCE write them.

Inputs are captured text, so they are encoded as UTF-8 with lone surrogates passed through: a value that is not
valid UTF-8 hashes to something (that will not match) instead of raising.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Callable


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """The PKCE code_challenge of a code_verifier: BASE64URL(SHA256(verifier)), RFC 7636 §4.2."""
    return b64url(hashlib.sha256(_bytes(verifier)).digest())


def half_hash(value: str, hasher: Callable = hashlib.sha256) -> str:
    """at_hash / c_hash: the left half of the value's hash, base64url (OpenID Connect Core §3.1.3.6, §3.3.2.11)."""
    digest = hasher(_bytes(value)).digest()
    return b64url(digest[: len(digest) // 2])


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")
