"""Findings of the recording against findings of its replay: fixed, still present, new, not checked.

Findings are matched by rule (a rule that fired twice must fire twice again to be "still present" twice); their
messages hold volatile values (state, code) and cannot be compared. A source finding about the client's side (its
callback page, its own pages) is "not checked": the replay never contacts the client. When the replay stopped
early, what it did not see is "not reached", never "fixed". When it left out a token request the recording never
held, a rule that needs that request is "not checked" on either side: its absence is not a fix, and what it finds
about a request the recording never made is not a new problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from oauthtrace.model import Finding

FAILING = ("error", "warning")  # new findings of these severities fail a replay
CLIENT_SIDE = "about the client's side, which a replay does not contact"
NOT_REACHED = "the replay stopped before it could show this fixed"
TOKEN_LEFT_OUT = "needs the token request, which the recording does not hold and the replay did not send"


@dataclass
class Diff:
    fixed: list[Finding] = field(default_factory=list)
    still: list[tuple[Finding, Finding]] = field(default_factory=list)  # (recorded, replayed)
    new: list[Finding] = field(default_factory=list)
    not_checked: list[tuple[Finding, str]] = field(default_factory=list)  # (recorded, why)

    def remaining_errors(self, replayed: list[Finding]) -> list[Finding]:
        return [f for f in replayed if f.severity == "error"]

    def new_problems(self) -> list[Finding]:
        """New findings that fail a replay: an info finding (the fixed server now sends `iss`, say) is listed, and
        does not."""
        return [f for f in self.new if f.severity in FAILING]


def diff_findings(recorded: list[Finding], replayed: list[Finding], *, client_side: Callable[[Finding], bool],
            completed: bool, needs_left_out: Callable[[Finding], bool] = lambda finding: False) -> Diff:
    """`client_side(finding)` tells a recorded finding the replay cannot reproduce; `completed` whether it ran to
    the end (otherwise a finding that did not come back is not counted as fixed); `needs_left_out(finding)` whether
    its rule needs a request the replay left out (TOKEN_LEFT_OUT)."""
    diff = Diff()
    pending: dict[str, list[Finding]] = {}
    for finding in replayed:
        pending.setdefault(finding.rule, []).append(finding)
    unchecked: list[Finding] = []
    for finding in recorded:
        if client_side(finding):
            unchecked.append(finding)
            continue
        again = pending.get(finding.rule)
        if again:
            diff.still.append((finding, again.pop(0)))
        elif needs_left_out(finding):
            diff.not_checked.append((finding, TOKEN_LEFT_OUT))
        elif completed:
            diff.fixed.append(finding)
        else:
            diff.not_checked.append((finding, NOT_REACHED))
    for finding in unchecked:
        again = pending.get(finding.rule)
        if again:  # the same problem, now seen on the provider's side of the replay
            diff.still.append((finding, again.pop(0)))
        else:
            diff.not_checked.append((finding, CLIENT_SIDE))
    left = {id(finding) for findings in pending.values() for finding in findings}
    for finding in replayed:
        if id(finding) not in left:
            continue
        if needs_left_out(finding):
            diff.not_checked.append((finding, TOKEN_LEFT_OUT))
        else:
            diff.new.append(finding)
    return diff


def passed(diff: Diff, replayed: list[Finding], completed: bool) -> bool:
    """Exit 0: the replay ran to the end, no error-level finding remains and no new warning or error appeared."""
    return completed and not diff.remaining_errors(replayed) and not diff.new_problems()
