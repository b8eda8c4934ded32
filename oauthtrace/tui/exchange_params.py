"""The Params view: one exchange's parameters side by side across its stages, with the verdict of the rules on
each parameter that travels through it (state, code, redirect_uri, code_verifier).

authorize request → provider's authorization response (its Location, or form_post) → the client's callback →
the token request. A value the provider dropped reads `state  sent 6ca9HZ… / returned ∅`; an altered value is
shown as a character diff with the kind of difference the finding names (truncated, double-encoded, …). Stages
and verdicts come from the report layer: this module only draws them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from rich.console import Group
from rich.table import Table
from rich.text import Text

from oauthtrace.model import Hop
from oauthtrace.report.exchange import ExchangeView
from oauthtrace.report.stages import Stage, lone_hop_stages
from oauthtrace.report.verdicts import Verdict
from oauthtrace.tui.text import one_line, plain, short

KEY_PARAMS = ("state", "code", "error", "redirect_uri", "client_id", "response_type", "scope", "nonce",
              "code_challenge", "code_challenge_method", "code_verifier", "grant_type", "iss", "response_mode")
CELL_WIDTH = 24
TUI_STAGES = ("authorize", "response", "callback", "token", "request", "Location")  # the token response: Body tab


@dataclass
class Check:
    param: str
    verdict: str  # "ok", "bad", "warn", or "none" (not judged by any rule)
    text: Text = field(default_factory=Text)


def label(stage: Stage) -> str:
    """`authorize #2 (pushed #1)`, `response #4 (fragment)`."""
    hidden = ("none", "query") if stage.kind == "Location" else ("none",)  # a lone hop's Location: query is usual
    how = stage.mode if stage.mode not in hidden else ""
    if stage.pushed is not None:
        how = f"pushed #{stage.pushed.seq}"
    elif stage.unread:
        how = "pushed request not recorded"
    return f"{stage.kind} #{stage.hop.seq}" + (f" ({how})" if how else "")


def checks(view: ExchangeView) -> list[Check]:
    return [_check(verdict) for verdict in view.verdicts]


def _check(verdict: Verdict) -> Check:
    finding = verdict.finding
    style = "ok" if verdict.outcome == "ok" else "none" if finding is None else \
        "bad" if finding.severity == "error" else "warn"
    sent, got, end = verdict.sent, verdict.got, verdict.end
    difference = (finding.evidence or {}).get("difference") if finding is not None else None
    if difference and difference != "identical" and sent is not None and got is not None:
        if verdict.param == "state" and finding.hop != end.hop.seq:
            return _line("state", style, f"returned {short(got)} / callback #{finding.hop} got "
                                         f"{short(finding.evidence.get('returned'))}")
        where = f"altered at #{end.hop.seq}" if verdict.param == "state" else f"differs at token #{end.hop.seq}"
        return _altered(verdict.param, sent, got, f"{where}: {difference}")
    return _line(verdict.param, style, _WORDS[verdict.param](verdict))


def _state_words(verdict: Verdict) -> str:
    sent, got, start, end = verdict.sent, verdict.got, verdict.start, verdict.end
    if verdict.outcome == "state-missing":
        why = "the client has no CSRF check" if verdict.severity == "error" else f"{verdict.severity}: see findings"
        return f"not sent at authorize #{start.hop.seq}: {why}"
    if verdict.outcome == "state-unsolicited":
        return f"not sent at authorize #{start.hop.seq}, yet returned {short(got)}"
    if verdict.outcome == "state-dropped":
        who = "by the provider" if end.kind == "response" else "before the callback"
        return f"sent {short(sent)} / returned ∅ — dropped {who} at #{end.hop.seq}"
    return f"sent {short(sent)} / returned {short(got)}" + _mark(verdict)


def _code_words(verdict: Verdict) -> str:
    if verdict.outcome == "ok":
        return f"issued {short(verdict.sent)} / redeemed {short(verdict.got)} ✓"
    return f"issued {short(verdict.sent)} / token #{verdict.end.hop.seq} sent {short(verdict.got)}" + _mark(verdict)


def _redirect_uri_words(verdict: Verdict) -> str:
    if verdict.outcome == "ok":
        return "same at authorize and token ✓"
    if verdict.got is None:
        return f"sent at authorize / ∅ at token #{verdict.end.hop.seq} (RFC 6749 §4.1.3)"
    return f"same at authorize and token #{verdict.end.hop.seq}" + _mark(verdict)


def _pkce_words(verdict: Verdict) -> str:
    evidence = verdict.finding.evidence if verdict.finding is not None else {}
    method = (verdict.start.value("code_challenge_method") if verdict.start else None) or "plain"
    if verdict.outcome == "ok":
        return f"{method}(verifier) matches the challenge ✓"
    if verdict.outcome == "pkce-verifier-mismatch":
        return (f"{evidence.get('method', method)}(verifier) = {short(evidence.get('computed'))} ≠ challenge "
                f"{short(evidence.get('code_challenge'))}")
    if verdict.sent is None:
        return "sent at token without a code_challenge at authorize" + _mark(verdict)
    return f"challenge {short(verdict.sent)} sent / ∅ verifier at token #{verdict.end.hop.seq}"


def _mark(verdict: Verdict) -> str:
    """What follows a verdict's values: the rule that judged them, or nothing said."""
    if verdict.finding is not None:
        return f" — {verdict.outcome} at #{verdict.finding.hop}"
    return " ✓" if verdict.outcome == "ok" else " (not judged by a rule)"


_WORDS = {"state": _state_words, "code": _code_words, "redirect_uri": _redirect_uri_words,
          "code_verifier": _pkce_words}
_VERDICT_STYLE = {"ok": "green", "bad": "bold red", "warn": "yellow", "none": "dim"}


def _line(name: str, verdict: str, message: str) -> Check:
    text = Text()
    text.append(f"{name:<14}", style="bold")
    text.append_text(plain(message, _VERDICT_STYLE[verdict]))
    return Check(name, verdict, text)


def _altered(name: str, sent: str, got: str, message: str) -> Check:
    check = _line(name, "bad", message)
    check.text.append("\n" + " " * 14)
    check.text.append_text(diff_text(sent, got))
    return check


def diff_text(sent: str, got: str) -> Text:
    """`sent` turned into `got`: removed characters struck through in red, added ones underlined in green."""
    text = Text()
    matcher = difflib.SequenceMatcher(a=sent, b=got, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            text.append(one_line(sent[a1:a2]))
            continue
        if a2 > a1:
            text.append(one_line(sent[a1:a2]), style="red strike")
        if b2 > b1:
            text.append(one_line(got[b1:b2]), style="green underline")
    return text


def params_table(stage_list: list[Stage]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("parameter", no_wrap=True, min_width=13)
    for stage in stage_list:
        table.add_column(plain(label(stage)), overflow="ellipsis", max_width=CELL_WIDTH + 2)
    for name in _names(stage_list):
        cells = [plain(name, "bold" if name in KEY_PARAMS else "")]
        for stage in stage_list:
            got = stage.value(name)
            cells.append(Text("—", style="dim") if got is None else plain(one_line(got, CELL_WIDTH)))
        table.add_row(*cells)
    return table


def _names(stage_list: list[Stage]) -> list[str]:
    seen = dict.fromkeys(name for stage in stage_list for name, _ in stage.pairs)
    key = [name for name in KEY_PARAMS if name in seen]
    return key + [name for name in seen if name not in KEY_PARAMS]


def render_exchange(view: ExchangeView) -> Group:
    """`view`: the report layer's view of the exchange (reader.Analysis.exchange gives it)."""
    stage_list = [stage for stage in view.stages if stage.kind in TUI_STAGES]
    title = Text(f"Exchange {view.index}: " + " → ".join(label(stage) for stage in stage_list), style="bold")
    parts = [title, Text("")]
    found = checks(view)
    for check in found:
        parts.append(check.text)
    if found:
        parts.append(Text(""))
    parts.append(params_table(stage_list))
    return Group(*parts)


def render_hop(hop: Hop) -> Group:
    stage_list = lone_hop_stages(hop)
    if not any(stage.pairs for stage in stage_list):
        return Group(Text(f"#{hop.seq} is not part of an exchange and carries no parameters.", style="dim"))
    return Group(Text(f"#{hop.seq} (not part of an exchange)", style="bold"), Text(""), params_table(stage_list))
