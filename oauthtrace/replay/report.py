"""A replay's outcome as text, JSON or JUnit XML: what was fixed, what is still there, what is new."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from oauthtrace.model import Finding, blame_word, finding_dict
from oauthtrace.replay.job import ReplayResult
from oauthtrace.replay.runner import TOKEN_NOTE

VERDICT_PASS = "PASS: the replay ran to the end, no error-level finding remains and no new warning or error appeared."
# a pass that did not cover a token request: the user must not read it as "the whole login works now"
VERDICT_PASS_NO_TOKEN = ("PASS: the replay ran to the end of what was recorded (no token request: see the note), no "
                         "error-level finding remains and no new warning or error appeared.")


def render(fmt: str, result: ReplayResult) -> str:
    if fmt == "json":
        return json.dumps(as_dict(result), indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return junit(result)
    return text(result)


def verdict(result: ReplayResult) -> str:
    if result.passed:
        return VERDICT_PASS_NO_TOKEN if result.run.token_left_out else VERDICT_PASS
    reasons = []
    if not result.run.completed:
        reasons.append("the replay did not run to the end")
    errors = result.diff.remaining_errors(result.replayed.findings)
    if errors:
        reasons.append(f"{len(errors)} error-level finding{'s' if len(errors) != 1 else ''} remain"
                       f"{'s' if len(errors) == 1 else ''}")
    new_problems = result.diff.new_problems()
    if new_problems:
        # "at warning or error level": the "new" rows above list info findings too, which do not fail a replay
        plural = "s" if len(new_problems) != 1 else ""
        reasons.append(f"{len(new_problems)} new finding{plural} at warning or error level")
    return "FAIL: " + "; ".join(reasons) + "."


def text(result: ReplayResult) -> str:
    diff = result.diff
    lines = [f"Replayed {_safe(result.source.label)} → trace {result.trace_id} ({len(result.run.hops)} requests)"]
    rows = ([("fixed", f) for f in diff.fixed] + [("still present", new) for _, new in diff.still]
            + [("new", f) for f in diff.new])
    for label, finding in rows:
        lines.append(f"  {label:<15}{_line(finding)}")
    for finding, why in diff.not_checked:
        lines.append(f"  {'not checked':<15}{finding.rule} ({why})")
    if not rows and not diff.not_checked:
        lines.append("  no findings in the recording or the replay")
    lines += [f"  note: {_safe(note)}" for note in result.run.notes]
    lines += [f"  stopped: {_safe(problem)}" for problem in result.run.problems]
    lines.append(verdict(result))
    return "\n".join(lines) + "\n"


def as_dict(result: ReplayResult) -> dict:
    diff = result.diff
    return {
        "source": {"label": result.source.label, "trace": result.source.trace_id, "file": result.source.path},
        "replay": {"trace": result.trace_id, "name": result.trace_name, "requests": len(result.run.hops)},
        "passed": result.passed,
        "completed": result.run.completed,
        "problems": result.run.problems,
        "notes": result.run.notes,
        "token_request_left_out": result.run.token_left_out,
        "fixed": [finding_dict(f) for f in diff.fixed],
        "still_present": [finding_dict(f) for _, f in diff.still],
        "new": [finding_dict(f) for f in diff.new],
        "not_checked": [{**finding_dict(f), "why": why} for f, why in diff.not_checked],
    }


def junit(result: ReplayResult) -> str:
    """One test case for the flow itself, one per recorded finding (passes when fixed or below error), one per new."""
    name = _safe(result.source.label)
    root = ET.Element("testsuites", name="oauthtrace replay")
    suite = ET.SubElement(root, "testsuite", name=f"replay of {name}")
    cases = 0
    failures = 0

    def case(title: str, failure: str | None, detail: str = "") -> None:
        nonlocal cases, failures
        cases += 1
        element = ET.SubElement(suite, "testcase", classname="oauthtrace.replay", name=f"{name}: {title}")
        if failure is not None:
            failures += 1
            ET.SubElement(element, "failure", message=failure).text = detail or failure

    case("flow runs to the end", None if result.run.completed else "; ".join(result.run.problems))
    if result.run.token_left_out:  # a skipped case, so a CI dashboard shows what this pass did not cover
        note = next((n for n in result.run.notes if n.startswith(TOKEN_NOTE)), TOKEN_NOTE)
        skipped = ET.SubElement(suite, "testcase", classname="oauthtrace.replay", name=f"{name}: token request")
        ET.SubElement(skipped, "skipped", message=_safe(note))
        cases += 1
        suite.set("skipped", "1")
    for finding in result.diff.fixed:
        case(f"{finding.rule} fixed", None)
    for _, finding in result.diff.still:
        failing = finding.severity == "error"
        case(f"{finding.rule} still present", _line(finding) if failing else None)
    for finding in result.diff.new:
        case(f"new {finding.rule}", _line(finding))
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    return ET.tostring(root, encoding="unicode") + "\n"


def _line(finding: Finding) -> str:
    hop = f"#{finding.hop}" if finding.hop is not None else "-"
    return (f"{finding.rule} ({finding.severity}, {blame_word(finding.blame)}, hop {hop}): "
            f"{_safe(finding.message)} — {finding.spec}")


def _safe(text: str | None) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text or "")
