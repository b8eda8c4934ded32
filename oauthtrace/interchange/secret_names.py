"""Which names mark a secret in a hop: parameters, JSON members, headers. The first question of every redaction.

The parameter names are model.SECRET_PARAMS, the list the analysis also treats as secrets, plus whatever the user
adds (`export --redact NAME`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Iterable

from oauthtrace.model import SECRET_PARAMS

# Headers whose whole value (or, for these, its credential part) is a secret.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})
SECRET_HEADERS = frozenset({"x-api-key", "api-key", "x-auth-token", "dpop"})
# JSON fields that are secrets in requests only: in responses `code` is far more often an error code
# (`{"code": "invalid_request"}`), and hiding it would hide what went wrong.
REQUEST_ONLY_FIELDS = frozenset({"code"})
FORM_TYPE = "application/x-www-form-urlencoded"


class SecretNames:
    """The secret names of one export: the fixed lists and the user's own (compared lower-cased)."""

    def __init__(self, extra: Iterable[str] = ()):
        self._extra = frozenset(name.lower() for name in extra)

    def is_secret_param(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in SECRET_PARAMS or lowered in self._extra

    def is_secret_field(self, name: str, *, response: bool) -> bool:
        """A JSON member name (see REQUEST_ONLY_FIELDS)."""
        return self.is_secret_param(name) and not (response and name.lower() in REQUEST_ONLY_FIELDS)

    def is_secret_header(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in SECRET_HEADERS or lowered in self._extra


def scalar(value) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def basic_parts(credentials: str) -> tuple[str, str | None]:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        return "", None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else (user, None)
