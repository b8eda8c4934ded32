"""The `/` filter of the hop lists: `host:auth.example`, `role:token`, `status:4xx` or `status:302`, and free text
(searched in URLs, Locations and bodies through the full-text index). Terms combine with AND."""

from __future__ import annotations

from dataclasses import dataclass, field

from oauthtrace.errors import UserError

ROLES = ("authorize", "login", "consent", "callback", "token", "refresh", "registration", "metadata", "resource",
         "other")


@dataclass
class HopFilter:
    hosts: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    status: tuple[int, int] | None = None
    text: str = ""
    findings_only: bool = False

    @property
    def empty(self) -> bool:
        return not (self.hosts or self.roles or self.status or self.text or self.findings_only)

    def describe(self) -> str:
        parts = [f"host:{h}" for h in self.hosts] + [f"role:{r}" for r in self.roles]
        if self.status:
            low, high = self.status
            parts.append(f"status:{low}" if low == high else f"status:{low // 100}xx")
        if self.text:
            parts.append(repr(self.text))
        if self.findings_only:
            parts.append("findings only")
        return " ".join(parts)


def parse_filter(query: str) -> HopFilter:
    """A HopFilter from what the user typed; UserError with a one-line reason for a bad term."""
    found = HopFilter()
    words = []
    for term in query.split():
        key, sep, rest = term.partition(":")
        key = key.lower()
        if sep and key == "host" and rest:
            found.hosts.append(rest.lower())
        elif sep and key == "role" and rest:
            if rest.lower() not in ROLES:
                raise UserError(f"unknown role {rest!r} (one of {', '.join(ROLES)})")
            found.roles.append(rest.lower())
        elif sep and key == "status" and rest:
            found.status = _status_range(rest)
        else:
            words.append(term)
    found.text = " ".join(words)
    return found


def _status_range(text: str) -> tuple[int, int]:
    lowered = text.lower()
    if len(lowered) == 3 and lowered[0].isdigit() and lowered[1:] == "xx":
        low = int(lowered[0]) * 100
        return low, low + 99
    if lowered.isdigit() and len(lowered) == 3:
        return int(lowered), int(lowered)
    raise UserError(f"bad status {text!r}: use a code like 302 or a class like 4xx")
