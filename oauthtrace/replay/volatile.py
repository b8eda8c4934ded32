"""Fresh values for what a client makes new on every login: state, nonce and the PKCE pair.

A fresh value keeps the recorded value's length, alphabet and punctuation (a `+`, `/` or `=` of a base64 state stays
where it was), so findings about the client's own choices (a short state, a malformed verifier) stay what they were
and a server that mangles `+` still shows it: the replay tests the server, not a better client.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from oauthtrace.digests import s256
from oauthtrace.model import Pairs

URLSAFE = string.ascii_letters + string.digits + "-_"
UNRESERVED = URLSAFE + ".~"  # RFC 7636 §4.1 code-verifier characters
DEFAULT_LENGTH = 32
DEFAULT_VERIFIER_LENGTH = 64
_MARK = "‹redacted:"  # a fingerprint from a redacted export: its length says nothing about the original


@dataclass
class Fresh:
    """The volatile values one replayed authorization request was sent with."""

    state: str | None = None
    nonce: str | None = None
    verifier: str | None = None
    challenge: str | None = None
    method: str | None = None


def like(recorded: str | None, *, default_length: int = DEFAULT_LENGTH) -> str:
    """A random value shaped like the recorded one: letters and digits drawn anew, every other character kept."""
    if not recorded or _MARK in recorded:
        return _random(URLSAFE, default_length)
    pool = _alphabet("".join(ch for ch in recorded if ch.isascii() and ch.isalnum()) or "a")
    fresh = "".join(secrets.choice(pool) if ch.isascii() and ch.isalnum() else ch for ch in recorded)
    return fresh if fresh != recorded else _random(URLSAFE, len(recorded))


def pkce_pair(method: str | None, *, verifier_like: str | None = None) -> tuple[str, str]:
    """(code_verifier, code_challenge) for the recorded method; absent method means plain (RFC 7636 §4.3)."""
    verifier = like(verifier_like, default_length=DEFAULT_VERIFIER_LENGTH)
    return verifier, (s256(verifier) if method == "S256" else verifier)


def fresh_authorize_params(pairs: Pairs, *, verifier_like: str | None = None) -> tuple[Pairs, Fresh]:
    """The recorded authorization request's parameters with new state, nonce and PKCE challenge.

    Order, duplicates and blank values are kept: a parameter the client sent empty stays empty.
    """
    fresh = Fresh(method=_value(pairs, "code_challenge_method"))
    if _value(pairs, "code_challenge"):
        fresh.verifier, fresh.challenge = pkce_pair(fresh.method, verifier_like=verifier_like)
    out: Pairs = []
    for name, value in pairs:
        if name == "state" and value:
            fresh.state = fresh.state or like(value)
            value = fresh.state
        elif name == "nonce" and value:
            fresh.nonce = fresh.nonce or like(value)
            value = fresh.nonce
        elif name == "code_challenge" and value:
            value = fresh.challenge
        out.append((name, value))
    return out, fresh


def _value(pairs: Pairs, name: str) -> str | None:
    return next((value for key, value in pairs if key == name and value), None)


def _alphabet(alphanumerics: str) -> str:
    for alphabet in (string.digits, string.digits + "abcdef", string.ascii_letters):
        if set(alphanumerics) <= set(alphabet):
            return alphabet
    return string.ascii_letters + string.digits


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(max(length, 1)))
