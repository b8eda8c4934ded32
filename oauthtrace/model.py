"""Plain data the other layers pass around: hops, traces, exchanges, rules, findings.

Parameters and headers are ordered lists of (name, value) pairs so that duplicates and order survive
(RFC 6749 §3.1 forbids duplicates; the linter has to be able to see them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

Pairs = list[tuple[str, str]]

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}
# "user": the resource owner, who may deny an authorization request (authz-error on access_denied)
BLAME_WORDS = {"AS": "provider", "C": "client", "RS": "resource server", "either": "either side", "user": "user"}


def blame_word(blame: str | None) -> str:
    """A finding's blame code in words; a shared blame (`AS/C`) word by word: `provider / client`."""
    if not blame:
        return ""
    return " / ".join(BLAME_WORDS.get(part.strip(), part.strip()) for part in blame.split("/"))


def finding_dict(finding: "Finding") -> dict:
    """A finding as JSON reports show it: its fields, with the blame in words."""
    data = finding.as_dict()
    data["blame"] = blame_word(finding.blame)
    return data

BROWSER_LISTENER = "browser"


def reverse_listener(listener: str) -> tuple[str, str | None] | None:
    """(upstream, listening port or None) of a reverse listener's name `reverse:URL[@PORT]`; None for others."""
    if not listener.startswith("reverse:"):
        return None
    spec = listener.removeprefix("reverse:")
    upstream, at, port = spec.rpartition("@")
    return (upstream, port) if at and port.isdigit() else (spec, None)

# Exports replace secrets by `‹redacted:3f9a1c›` (oauthtrace.interchange.redact); a JWT keeps header and claims and
# carries the mark where its signature was. Rules that check a value's format treat such values as opaque.
REDACTED_MARK = "‹redacted:"


def is_redacted(value: str | None) -> bool:
    """True when `value` is, or contains, an export's fingerprint of a secret."""
    return bool(value) and REDACTED_MARK in value


# Parameters (query, form, JSON member, hidden input) whose values are credentials, lower-case: every export
# redacts them, and findings show only a prefix of them. One list, so that what the analysis treats as a secret is
# exactly what an export hides. Sources: RFC 6749 (code, client_secret, access_token, refresh_token, password),
# RFC 7636 (code_verifier), OIDC Core (id_token) and Back-Channel Logout (logout_token), RFC 7521/7523
# (client_assertion, assertion), RFC 7009/7662 (token), RFC 8693 (subject_token, actor_token), RFC 8628
# (device_code), RFC 7592 (registration_access_token); passwd, pwd, api_key, apikey: what login forms and API
# clients commonly call a password or a key.
SECRET_PARAMS = frozenset({
    "password", "passwd", "pwd", "client_secret", "code", "code_verifier", "access_token", "refresh_token",
    "id_token", "token", "client_assertion", "assertion", "subject_token", "actor_token", "device_code",
    "registration_access_token", "logout_token", "api_key", "apikey",
})


# The prefix a hop's error gets when the proxy's handshake with the upstream server failed (flows.error_text):
# mitmproxy's message alone ("Certificate verify failed: …") does not say whose certificate it was.
UPSTREAM_TLS_FAILED = "Upstream TLS handshake failed: "


def upstream_tls_failed(error: str | None) -> bool:
    """Whether a hop ended because the upstream handshake failed: such hops are marked in `show` and the UI."""
    return error is not None and error.startswith(UPSTREAM_TLS_FAILED)


def first(pairs: Pairs, name: str, *, case: bool = True) -> str | None:
    """The first value of `name` in `pairs`, or None."""
    # the analysis asks this millions of times on a large trace: one tight loop per case
    if case:
        for key, value in pairs:
            if key == name:
                return value
        return None
    wanted = name.lower()
    for key, value in pairs:
        if key == name or key.lower() == wanted:
            return value
    return None


def every(pairs: Pairs, name: str, *, case: bool = True) -> list[str]:
    return [v for k, v in pairs if k == name or (not case and k.lower() == name.lower())]


@dataclass
class Hop:
    """One HTTP request and its response (or the error that ended it)."""

    trace_id: int
    seq: int
    method: str
    url: str
    id: int | None = None
    started: float = 0.0
    ended: float | None = None
    listener: str = BROWSER_LISTENER
    client_addr: str = ""
    upstream_url: str | None = None
    http_version: str = "HTTP/1.1"
    query: Pairs = field(default_factory=list)
    req_headers: Pairs = field(default_factory=list)
    req_body: bytes | None = None
    req_truncated: bool = False
    form: Pairs = field(default_factory=list)
    status: int | None = None
    resp_headers: Pairs = field(default_factory=list)
    resp_body: bytes | None = None
    resp_truncated: bool = False
    location: str | None = None
    error: str | None = None
    # Values the analysis derived from this hop (parsed bodies, its authorization response ...), filled lazily.
    # A declared field, because adding an attribute to an instance makes CPython unshare its __dict__: every hop
    # would then carry a full dict of its own.
    derived: dict | None = field(default=None, repr=False, compare=False)

    def req_header(self, name: str) -> str | None:
        return _header(self.req_headers, name)

    def resp_header(self, name: str) -> str | None:
        return _header(self.resp_headers, name)

    @property
    def req_text(self) -> str:
        return _text(self.req_body)

    @property
    def resp_text(self) -> str:
        return _text(self.resp_body)

    @property
    def req_content_type(self) -> str:
        return _media_type(self.req_header("content-type"))

    @property
    def resp_content_type(self) -> str:
        return _media_type(self.resp_header("content-type"))

    def req_json(self):
        return _parsed_once(self, "_req_json", self.req_body)

    def resp_json(self):
        return _parsed_once(self, "_resp_json", self.resp_body)

    @property
    def is_reverse(self) -> bool:
        return self.listener != BROWSER_LISTENER


def _header(pairs: Pairs, name: str) -> str | None:
    """first(pairs, name, case=False), one call less: headers are looked up millions of times on a large trace."""
    wanted = name.lower()
    for key, value in pairs:
        if key == name or key.lower() == wanted:
            return value
    return None


def _text(body: bytes | None) -> str:
    if not body:
        return ""
    return body.decode("utf-8", errors="replace")


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _parsed_once(hop: "Hop", slot: str, body: bytes | None):
    """The body's JSON, parsed once per body object (the analysis asks for it dozens of times); read-only."""
    if not _may_be_json(body):
        return None  # no body, or a page, a form: known at a glance, nothing worth a cache entry
    if hop.derived is None:
        hop.derived = {}
    found = hop.derived.get(slot)
    if found is not None and found[0] is body:
        return found[1]
    value = _json(body)
    hop.derived[slot] = (body, value)
    return value


_JSON_SPACE = b" \t\r\n"
# How a JSON text can begin, as json.loads reads it (NaN and Infinity included); a NUL or a byte above 0x7f may be
# UTF-16/32 or a BOM, which json.loads detects itself.
_JSON_STARTS = frozenset(bytes([c]) for c in b'{["-0123456789tfnNI\x00')
# A text that begins with a letter is JSON only as one of these words: a form such as `ticket=…` or `name=…` is not.
_JSON_WORDS = {b"t": b"true", b"f": b"false", b"n": b"null", b"N": b"NaN", b"I": b"Infinity"}


def _may_be_json(body: bytes | None) -> bool:
    """False for no body, and for a body whose first character cannot begin JSON (an HTML page, a form, a
    script): json.loads would refuse it, and learning that from its exception costs far more."""
    if not body:
        return False
    if isinstance(body, bytes):
        text = body if body[:1] not in _JSON_SPACE else body.lstrip(_JSON_SPACE)
        start = text[:1]
        if start and start < b"\x80":
            if start not in _JSON_STARTS:
                return False
            word = _JSON_WORDS.get(start)
            if word is not None and not text.startswith(word):
                return False
    return True


def _json(body: bytes | None):
    """The parsed JSON body, or None when there is none or it does not parse."""
    if not _may_be_json(body):
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class Trace:
    id: int
    name: str
    created: float
    source: str = "record"
    parent_id: int | None = None
    hop_count: int = 0


@dataclass
class Rule:
    """A check's metadata; `check` yields Hits for one exchange."""

    id: str
    family: str
    severity: str
    blame: str
    needs: str  # "F", "B", "M", "F+B", "F/B" ... as in RULES.md
    spec: str
    quote: str
    fix: str
    title: str = ""
    check: Callable[..., Iterable["Hit"]] | None = None
    # The captured values the rule decides on (oauthtrace.analysis.sanitized.VALUES: "authorization", "state",
    # "code" …): where a capture cannot hold one of them, the rule is reported as not evaluated there.
    reads: tuple[str, ...] = ()
    # The failure said the way a person would say it, for a report's one-sentence summary ("The provider dropped
    # `state` from its redirect to the callback"); rules without one are summarised by their title.
    cause: str = ""


@dataclass
class Hit:
    """What a rule function reports; the engine turns it into a Finding."""

    hop: Hop | None
    message: str
    evidence: dict = field(default_factory=dict)
    severity: str | None = None  # overrides the rule's default when a rule has two severities
    blame: str | None = None
    # What makes two hits of one rule on one exchange the same finding (with the same endpoint, severity and
    # blame). None: the same message and evidence, i.e. the rule said the very same thing about another hop.
    cause: str | None = None


@dataclass
class Finding:
    rule: str
    severity: str
    blame: str
    trace: int
    exchange: int | None
    hop: int | None  # the hop's sequence number within its trace
    message: str
    spec: str
    fix: str
    evidence: dict = field(default_factory=dict)
    # One finding per cause: the hops (seq) where the rule found the same thing on the same endpoint, `hop` first
    # among them in the rule's order; count = len(hops), or 1 for a finding about a whole exchange.
    count: int = 1
    hops: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "blame": self.blame,
            "trace": self.trace,
            "exchange": self.exchange,
            "hop": self.hop,
            "message": self.message,
            "spec": self.spec,
            "fix": self.fix,
            "evidence": self.evidence,
            "count": self.count,
            "hops": list(self.hops),
        }


@dataclass
class Exchange:
    """One OAuth flow joined across hops and channels."""

    index: int
    hops: list[Hop] = field(default_factory=list)
    authorize: Hop | None = None
    authz_response: Hop | None = None  # the provider response that redirected to the callback
    callback: Hop | None = None
    tokens: list[Hop] = field(default_factory=list)
    refreshes: list[Hop] = field(default_factory=list)
    registrations: list[Hop] = field(default_factory=list)
    metadata: list[Hop] = field(default_factory=list)
    resources: list[Hop] = field(default_factory=list)
    roles: dict[int, str] = field(default_factory=dict)  # hop seq -> role
    pushed: list[Hop] = field(default_factory=list)  # pushed authorization requests (RFC 9126) of this flow

    def __iter__(self) -> Iterator[Hop]:
        return iter(self.hops)
