"""The Params view: one exchange's parameters side by side across its stages, and the checks a person makes.

authorize request → provider's authorization response (its Location, or form_post) → the client's callback →
the token request. A value the provider dropped reads `state  sent 6ca9HZ… / returned ∅`; an altered value is
shown as a character diff with the kind of difference (truncated, double-encoded, …).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from rich.console import Group
from rich.table import Table
from rich.text import Text

from oauthtrace.analysis.oauth import authz_response_params, body_params, callback_params, request_params
from oauthtrace.analysis.value_difference import describe_difference
from oauthtrace.model import Exchange, Hop, Pairs, first
from oauthtrace.tui.text import one_line, plain, short

KEY_PARAMS = ("state", "code", "error", "redirect_uri", "client_id", "response_type", "scope", "nonce",
              "code_challenge", "code_challenge_method", "code_verifier", "grant_type", "iss", "response_mode")
CELL_WIDTH = 24


@dataclass
class Stage:
    name: str
    hop: Hop
    pairs: Pairs
    how: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} #{self.hop.seq}" + (f" ({self.how})" if self.how else "")


@dataclass
class Check:
    param: str
    verdict: str  # "ok", "bad", "warn"
    text: Text = field(default_factory=Text)


def stages(exchange: Exchange) -> list[Stage]:
    out = []
    if exchange.authorize is not None:
        out.append(Stage("authorize", exchange.authorize, request_params(exchange.authorize)))
    if exchange.authz_response is not None:
        pairs, mode = authz_response_params(exchange.authz_response)
        out.append(Stage("response", exchange.authz_response, pairs, mode if mode != "none" else ""))
    if exchange.callback is not None:
        out.append(Stage("callback", exchange.callback, callback_params(exchange.callback)))
    if exchange.tokens:
        out.append(Stage("token", exchange.tokens[0], body_params(exchange.tokens[0])))
    return out


def hop_stage(hop: Hop) -> list[Stage]:
    """For a hop outside any exchange: its own query/form parameters and, if it redirects, the Location's."""
    out = [Stage("request", hop, request_params(hop))]
    if hop.location:
        pairs, mode = authz_response_params(hop)
        out.append(Stage("Location", hop, pairs, mode if mode not in ("none", "query") else ""))
    return out


def value(stage: Stage | None, name: str) -> str | None:
    if stage is None:
        return None
    found = first(stage.pairs, name)
    return found if found else None  # an empty parameter counts as omitted (RFC 6749 §3.1)


def checks(exchange: Exchange) -> list[Check]:
    by_name = {stage.name: stage for stage in stages(exchange)}
    found = [_state_check(by_name), _code_check(by_name), _redirect_uri_check(by_name), _pkce_check(by_name)]
    return [check for check in found if check is not None]


def _state_check(by_name: dict[str, Stage]) -> Check | None:
    authorize = by_name.get("authorize")
    sent = value(authorize, "state")
    answer = by_name.get("response") or by_name.get("callback")
    if authorize is None or answer is None:
        return None
    if sent is None:
        return _line("state", "warn", f"not sent at authorize #{authorize.hop.seq}: the client has no CSRF check")
    returned = value(answer, "state")
    if returned is None:
        who = "by the provider" if answer.name == "response" else "before the callback"
        return _line("state", "bad", f"sent {short(sent)} / returned ∅ — dropped {who} at #{answer.hop.seq}")
    if returned != sent:
        return _altered("state", sent, returned, f"altered at #{answer.hop.seq}")
    callback = by_name.get("callback")
    if answer.name == "response" and callback is not None and value(callback, "state") != sent:
        got = value(callback, "state")
        return _line("state", "bad", f"returned {short(returned)} / callback #{callback.hop.seq} got {short(got)}")
    return _line("state", "ok", f"sent {short(sent)} / returned {short(returned)} ✓")


def _code_check(by_name: dict[str, Stage]) -> Check | None:
    issued_at = by_name.get("response") or by_name.get("callback")
    issued = value(issued_at, "code")
    token = by_name.get("token")
    if issued is None or token is None:
        return None
    redeemed = value(token, "code")
    if redeemed is None:
        return _line("code", "bad", f"issued {short(issued)} / token #{token.hop.seq} sent ∅")
    if redeemed != issued:
        return _altered("code", issued, redeemed, f"changed before token #{token.hop.seq}")
    return _line("code", "ok", f"issued {short(issued)} / redeemed {short(redeemed)} ✓")


def _redirect_uri_check(by_name: dict[str, Stage]) -> Check | None:
    sent = value(by_name.get("authorize"), "redirect_uri")
    token = by_name.get("token")
    if sent is None or token is None:
        return None
    again = value(token, "redirect_uri")
    if again is None:
        return _line("redirect_uri", "bad", f"sent at authorize / ∅ at token #{token.hop.seq} (RFC 6749 §4.1.3)")
    if again != sent:
        return _altered("redirect_uri", sent, again, f"differs at token #{token.hop.seq}")
    return _line("redirect_uri", "ok", "same at authorize and token ✓")


def _pkce_check(by_name: dict[str, Stage]) -> Check | None:
    from oauthtrace.digests import s256

    challenge = value(by_name.get("authorize"), "code_challenge")
    token = by_name.get("token")
    verifier = value(token, "code_verifier")
    if challenge is None and verifier is None:
        return None
    if challenge is None:
        return _line("code_verifier", "warn", "sent at token without a code_challenge at authorize")
    if token is None:
        return None
    if verifier is None:
        return _line("code_verifier", "bad", f"challenge {short(challenge)} sent / ∅ verifier at token #{token.hop.seq}")
    method = value(by_name.get("authorize"), "code_challenge_method") or "plain"
    expected = s256(verifier) if method == "S256" else verifier
    if expected != challenge:
        return _line("code_verifier", "bad", f"{method}(verifier) = {short(expected)} ≠ challenge {short(challenge)}")
    return _line("code_verifier", "ok", f"{method}(verifier) matches the challenge ✓")


_VERDICT_STYLE = {"ok": "green", "bad": "bold red", "warn": "yellow"}


def _line(name: str, verdict: str, message: str) -> Check:
    text = Text()
    text.append(f"{name:<14}", style="bold")
    text.append_text(plain(message, _VERDICT_STYLE[verdict]))
    return Check(name, verdict, text)


def _altered(name: str, sent: str, got: str, where: str) -> Check:
    check = _line(name, "bad", f"{where}: {describe_difference(sent, got)}")
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
        table.add_column(plain(stage.label), overflow="ellipsis", max_width=CELL_WIDTH + 2)
    names = _names(stage_list)
    for name in names:
        cells = [plain(name, "bold" if name in KEY_PARAMS else "")]
        for stage in stage_list:
            got = value(stage, name)
            cells.append(Text("—", style="dim") if got is None else plain(one_line(got, CELL_WIDTH)))
        table.add_row(*cells)
    return table


def _names(stage_list: list[Stage]) -> list[str]:
    seen = dict.fromkeys(name for stage in stage_list for name, _ in stage.pairs)
    key = [name for name in KEY_PARAMS if name in seen]
    return key + [name for name in seen if name not in KEY_PARAMS]


def render_exchange(exchange: Exchange) -> Group:
    stage_list = stages(exchange)
    title = Text(f"Exchange {exchange.index}: " + " → ".join(stage.label for stage in stage_list), style="bold")
    parts = [title, Text("")]
    found = checks(exchange)
    for check in found:
        parts.append(check.text)
    if found:
        parts.append(Text(""))
    parts.append(params_table(stage_list))
    return Group(*parts)


def render_hop(hop: Hop) -> Group:
    stage_list = hop_stage(hop)
    if not any(stage.pairs for stage in stage_list):
        return Group(Text(f"#{hop.seq} is not part of an exchange and carries no parameters.", style="dim"))
    return Group(Text(f"#{hop.seq} (not part of an exchange)", style="bold"), Text(""), params_table(stage_list))
