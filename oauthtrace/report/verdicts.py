"""The verdict on each parameter that travels through an exchange (state, code, redirect_uri, code_verifier),
taken from the findings of the rules that judge it, never decided again here: what `check` says, every view
shows.

A parameter with no finding of its rules is `ok` when both ends of its journey were recorded; `unchecked` when
what was recorded does not let a reader see that (the rules did not judge it, e.g. a value a sanitized capture
hides, or no rule judges that step).
"""

from __future__ import annotations

from dataclasses import dataclass

from oauthtrace.model import SEVERITY_RANK, Exchange, Finding, Hop
from oauthtrace.report.stages import Stage

# parameter -> the rules that judge its journey, the likelier root cause first
PARAM_RULES = {
    "state": ("state-dropped", "state-altered", "state-missing", "state-unsolicited"),
    "code": ("code-reuse", "code-late-exchange"),
    "redirect_uri": ("redirect-uri-omitted-at-token", "redirect-uri-mismatch"),
    "code_verifier": ("pkce-verifier-missing", "pkce-verifier-mismatch", "pkce-downgrade"),
}


@dataclass
class Verdict:
    param: str
    outcome: str  # ok, unchecked, or the rule id of the finding that judged it
    sent: str | None = None  # the value at the start of the journey (authorize; the code as issued)
    got: str | None = None  # the value at the end (returned, redeemed, sent at the token endpoint)
    start: Stage | None = None
    end: Stage | None = None  # the stage `got` was read from
    finding: Finding | None = None

    @property
    def severity(self) -> str | None:
        return self.finding.severity if self.finding is not None else None


def verdicts(exchange: Exchange, stages: list[Stage], findings: list[Finding]) -> list[Verdict]:
    by_kind = {stage.kind: stage for stage in stages}
    mine = [f for f in findings if f.exchange == exchange.index]
    found = [_state(by_kind, mine), _code(by_kind, mine), _redirect_uri(by_kind, mine), _pkce(by_kind, mine)]
    return [verdict for verdict in found if verdict is not None]


def judged(param: str, findings: list[Finding], at: Hop | None = None) -> Finding | None:
    """The finding of `param`'s rules (at hop `at` when given): the most severe, the likelier cause first."""
    rules = PARAM_RULES[param]
    found = [f for f in findings if f.rule in rules and (at is None or f.hop == at.seq)]
    if not found:
        return None
    return min(found, key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), rules.index(f.rule)))


def _verdict(param: str, findings: list[Finding], sent, got, start, end, *, readable: bool) -> Verdict:
    finding = judged(param, findings)
    if finding is not None:
        return Verdict(param, finding.rule, sent, got, start, end, finding)
    return Verdict(param, "ok" if readable else "unchecked", sent, got, start, end)


def _state(by_kind: dict[str, Stage], findings: list[Finding]) -> Verdict | None:
    authorize = by_kind.get("authorize")
    answer = by_kind.get("response") or by_kind.get("callback")
    if authorize is None or answer is None:
        return None
    sent, returned = authorize.value("state"), answer.value("state")
    return _verdict("state", findings, sent, returned, authorize, answer,
                    readable=sent is not None and sent == returned and not authorize.unread)


def _code(by_kind: dict[str, Stage], findings: list[Finding]) -> Verdict | None:
    issued_at = by_kind.get("response") or by_kind.get("callback")
    token = by_kind.get("token")
    issued = issued_at.value("code") if issued_at is not None else None
    if issued is None or token is None:
        return None
    redeemed = token.value("code")
    # no rule judges the code's journey (the correlator joins the token request to its flow by the code): a ✓
    # only when the values shown are the same
    return _verdict("code", findings, issued, redeemed, issued_at, token, readable=redeemed == issued)


def _redirect_uri(by_kind: dict[str, Stage], findings: list[Finding]) -> Verdict | None:
    authorize, token = by_kind.get("authorize"), by_kind.get("token")
    sent = authorize.value("redirect_uri") if authorize is not None else None
    if sent is None or token is None:
        return None
    again = token.value("redirect_uri")
    return _verdict("redirect_uri", findings, sent, again, authorize, token, readable=again is not None)


def _pkce(by_kind: dict[str, Stage], findings: list[Finding]) -> Verdict | None:
    authorize, token = by_kind.get("authorize"), by_kind.get("token")
    challenge = authorize.value("code_challenge") if authorize is not None else None
    verifier = token.value("code_verifier") if token is not None else None
    if challenge is None and verifier is None or challenge is not None and token is None:
        return None
    return _verdict("code_verifier", findings, challenge, verifier, authorize, token,
                    readable=challenge is not None and verifier is not None)
