"""The Markdown report of one trace, to paste into a forum post or an issue (GitHub renders the Mermaid diagram).

What failed in one sentence; per exchange a Mermaid sequence diagram with the failing hop marked and the OAuth
parameters side by side (authorization request, authorization response, callback, token request and response);
the findings with their spec quotes and fixes; the hops.

Redacted by default: the hops are redacted first (the shared Redactor) and the analysis runs on the redacted hops,
so the findings' messages and evidence can only quote fingerprints. The redaction keeps every finding (the
export's contract), and `state` stays readable, so "state came back altered" stays visible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from oauthtrace.interchange.mermaid import Message, Note, Participant, sequence_diagram
from oauthtrace.interchange.redact import Redactor
from oauthtrace.model import BLAME_WORDS, SEVERITY_RANK, Exchange, Finding, Hop, Pairs, Trace
from oauthtrace.params import origin, path

if TYPE_CHECKING:
    from oauthtrace.analysis.engine import Report

MAX_EXCHANGES = 3  # exchanges drawn and tabulated; the findings of every exchange are listed
MAX_DIAGRAM_HOPS = 40
MAX_FINDINGS = 60
MAX_HOP_ROWS = 100
MAX_VALUE = 120

ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}

BROWSER, CLIENT, PROVIDER, RESOURCE = "Browser", "Client", "Provider", "RS"
PARTICIPANT_LABELS = {BROWSER: "Browser", CLIENT: "Client", PROVIDER: "Provider", RESOURCE: "Resource server"}
_FRONT_ROLES = ("authorize", "login", "consent", "callback")
_PROVIDER_ROLES = ("authorize", "login", "consent", "token", "refresh", "registration")
_PRM_PATH = "/.well-known/oauth-protected-resource"

# The cause of a failure, said the way a person would say it; other rules fall back to their title.
# Also the order in which causes at the same hop are preferred for the summary sentence.
CAUSES = {
    "state-dropped": "The provider dropped `state` from its redirect to the callback",
    "state-altered": "The provider sent back another `state` than the one the client sent",
    "callback-target-mismatch": "The provider redirected somewhere else than the requested `redirect_uri`",
    "authz-error": "The provider answered the authorization request with an error",
    "redirect-uri-mismatch": "The client sent another `redirect_uri` to the token endpoint than to `/authorize`",
    "token-response-not-json": "The provider answered the token request with a body that is not JSON",
    "token-fields-missing": "The provider's token response lacks `access_token` or a usable `token_type`",
    "expires-in-not-number": "The provider sent `expires_in` as a string instead of a number",
    "pkce-verifier-mismatch": "The client's `code_verifier` does not match its `code_challenge`",
    "dcr-rejected": "The provider refused the client's dynamic registration",
    "redirect-uri-rejected": "The provider refused the client's callback URL",
    "mcp-401-no-resource-metadata": "The MCP server's 401 named no `resource_metadata`, and no resource metadata "
                                    "was found",
    "prm-resource-mismatch": "The MCP server's resource metadata names another resource than its own URL",
    "resource-missing": "The client left `resource` out of its authorization or token request",
    "flow-stalled-after-callback": "The client received the code at its callback and never asked for a token",
    "token-not-used": "The client got a token, but no call with it succeeded",
}


def markdown_report(
    trace: Trace, hops: list[Hop], *, redact: bool = True, extra: Iterable[str] = (), key: bytes | None = None,
    profile: str | None = None,
) -> str:
    """The report of `trace`; `extra` names more parameters or headers to redact, `key` fixes fingerprints."""
    from oauthtrace.analysis.engine import analyze

    shown = Redactor(hops, key=key, extra=extra).hops(hops) if redact else list(hops)
    report = analyze(shown, trace_id=trace.id, profile=profile, source=trace.source)
    return render_markdown(trace, shown, report, redacted=redact)


def render_markdown(trace: Trace, hops: list[Hop], report: "Report", *, redacted: bool) -> str:
    """Pure rendering of an analysed trace (hops already redacted, or not, as `redacted` says)."""
    hops = sorted(hops, key=lambda hop: hop.seq)
    by_seq = {hop.seq: hop for hop in hops}
    parties = Parties.of(hops, report.roles)
    lines = [f"# OAuth trace: {plain(trace.name)}", "", f"**What failed:** {summary_sentence(report, by_seq)}", ""]
    lines += [_about(trace, hops, report, redacted), ""]
    for exchange in chosen_exchanges(report):
        lines += _exchange_section(exchange, hops, report, parties)
    lines += _findings_section(report)
    lines += _not_evaluated_section(report)
    lines += _hops_section(hops, report, parties)
    secrets = ("Secrets are replaced by fingerprints `‹redacted:…›`: equal values have equal fingerprints."
               if redacted else "**Not redacted: this report holds secrets.**")
    lines += ["---", f"_Made with `oauthtrace export --format markdown`. {secrets}_"]
    return "\n".join(lines).rstrip() + "\n"


# -- the one sentence -------------------------------------------------------------------------------


def headline(report: "Report") -> Finding | None:
    """The finding the summary names: the earliest error (else warning), a known cause first at the same hop."""
    for severity in ("error", "warning"):
        found = [f for f in report.findings if f.severity == severity]
        if found:
            order = list(CAUSES)
            return min(found, key=lambda f: (f.exchange or 0, f.hop if f.hop is not None else 1 << 30,
                                             order.index(f.rule) if f.rule in order else len(order), f.rule))
    return None


def summary_sentence(report: "Report", by_seq: dict[int, Hop]) -> str:
    if not report.exchanges:
        return f"No OAuth exchange was found in {len(by_seq)} hop{'s' if len(by_seq) != 1 else ''}."
    finding = headline(report)
    if finding is None:
        count = len(report.exchanges)
        return (f"Nothing: no errors or warnings in {count} exchange{'s' if count != 1 else ''} "
                f"({exchange_path(report.exchanges[0])}).")
    where = f" (#{finding.hop})" if finding.hop is not None else ""
    cause = CAUSES.get(finding.rule) or _title_cause(finding)
    exchange = next((ex for ex in report.exchanges if ex.index == finding.exchange), None)
    consequence = outcome(exchange) if exchange is not None else ""
    sentence = f"{cause}{where}{', so ' + consequence if consequence else ''}."
    others = [f for f in report.findings if f is not finding and f.severity in ("error", "warning")]
    if others:
        sentence += f" Also {_count(others)} below."
    return sentence


def _title_cause(finding: Finding) -> str:
    from oauthtrace.analysis.registry import RULES

    rule = RULES.get(finding.rule)
    title = rule.title if rule else ""
    if not title.endswith("."):  # no title, or one cut at the end of its docstring's first line
        return f"`{finding.rule}` ({blame_word(finding.blame)}): {code(finding.message)}"
    return f"{title.rstrip('.')} (`{finding.rule}`, {blame_word(finding.blame)})"


def outcome(exchange: Exchange) -> str:
    """What the failure led to, read from the traffic: the client refused the callback, the token request failed …"""
    failed = [hop for hop in exchange.tokens if hop.status and hop.status >= 400]
    if failed:
        said = _said(failed[-1])
        return "the token request failed" + (f" ({code(said)})" if said else "")
    callback = exchange.callback
    if callback is not None and callback.status and callback.status >= 400:
        said = _said(callback)
        return "the client refused the login" + (f" ({code(said)})" if said else "")
    refused = [hop for hop in exchange.resources if hop.status in (401, 403) and hop.req_header("authorization")]
    if refused:
        return f"the resource server refused the token (#{refused[-1].seq})"
    if exchange.authorize is not None and callback is None:
        return "the flow never reached the client's callback"
    return ""


def _said(hop: Hop) -> str | None:
    """A short message from an error response's JSON body (`message`, `error_description` or `error`)."""
    data = hop.resp_json()
    if not isinstance(data, dict):
        return None
    for name in ("message", "error_description", "error"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_VALUE]
    return None


def _count(findings: list[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    parts = [f"{errors} more error{'s' if errors != 1 else ''}" if errors else "",
             f"{warnings} {'more ' if not errors else ''}warning{'s' if warnings != 1 else ''}" if warnings else ""]
    return " and ".join(part for part in parts if part)


def exchange_path(exchange: Exchange) -> str:
    steps = [("authorize", exchange.authorize), ("callback", exchange.callback)]
    steps += [("token", hop) for hop in exchange.tokens]
    shown = [f"{name} #{hop.seq}" for name, hop in steps if hop is not None]
    return " → ".join(shown) if shown else f"{len(exchange.hops)} hops"


def _about(trace: Trace, hops: list[Hop], report: "Report", redacted: bool) -> str:
    sides = {"F": "front channel", "B": "back channel", "M": "metadata"}
    recorded = ", ".join(sides[s] for s in "FBM" if s in report.sides) or "nothing OAuth"
    profiles = sorted(set(report.profiles.values()))
    count = len(report.exchanges)
    return (f"Trace {trace.id} · {len(hops)} hops · {count} exchange{'s' if count != 1 else ''} · recorded: "
            f"{recorded} · profile: {', '.join(profiles) or '-'} · "
            f"{'redacted' if redacted else '**NOT redacted**'}")


# -- who talks to whom ------------------------------------------------------------------------------


@dataclass
class Parties:
    provider: set[str]
    client: set[str]
    resource: set[str]
    roles: dict[int, str]

    @classmethod
    def of(cls, hops: list[Hop], roles: dict[int, str]) -> "Parties":
        provider = {_origin(hop) for hop in hops if roles.get(hop.seq) in _PROVIDER_ROLES}
        provider |= {_origin(hop) for hop in hops if roles.get(hop.seq) == "metadata" and not _is_prm(hop)}
        client = {_origin(hop) for hop in hops if roles.get(hop.seq) == "callback"}
        resource = {_origin(hop) for hop in hops
                    if roles.get(hop.seq) == "resource" or (roles.get(hop.seq) == "metadata" and _is_prm(hop))}
        return cls(provider, client - provider, resource - provider - client, roles)

    def sender(self, hop: Hop) -> str:
        role = self.roles.get(hop.seq)
        if role in _FRONT_ROLES:
            return BROWSER
        if role in ("token", "refresh", "registration", "metadata", "resource") or hop.is_reverse:
            return CLIENT
        return BROWSER

    def receiver(self, hop: Hop) -> str | None:
        role = self.roles.get(hop.seq)
        where = _origin(hop)
        if role == "callback":
            return CLIENT
        if role == "metadata" and _is_prm(hop):
            return RESOURCE
        if role in _PROVIDER_ROLES or role == "metadata":
            return PROVIDER
        if where in self.provider:
            return PROVIDER
        if where in self.client:
            return CLIENT
        if where in self.resource or role == "resource":
            return RESOURCE
        return None  # a page, an image or an API of some other party: not part of the OAuth picture


def _origin(hop: Hop) -> str:
    return origin(hop.upstream_url or hop.url)


def _is_prm(hop: Hop) -> bool:
    return _PRM_PATH in path(hop.upstream_url or hop.url)


# -- per exchange: diagram and parameters -----------------------------------------------------------


def chosen_exchanges(report: "Report") -> list[Exchange]:
    """The exchanges drawn: those with errors or warnings first (in order), else the first ones."""
    flagged = {f.exchange for f in report.findings if f.severity in ("error", "warning")}
    picked = [ex for ex in report.exchanges if ex.index in flagged]
    picked += [ex for ex in report.exchanges if ex.index not in flagged]
    return sorted(picked[:MAX_EXCHANGES], key=lambda ex: ex.index)


def _exchange_section(exchange: Exchange, hops: list[Hop], report: "Report", parties: Parties) -> list[str]:
    lines = [f"## Exchange {exchange.index}: {exchange_path(exchange)}", ""]
    lines += ["```mermaid", diagram(exchange, hops, report, parties).rstrip("\n"), "```", ""]
    table = parameter_table(exchange)
    if table:
        lines += ["### Parameters side by side", ""] + table + [""]
    state = state_line(exchange)
    if state:
        lines += [state, ""]
    from oauthtrace.interchange.mcp_markdown import chain_section

    chain = chain_section(exchange, report.findings)
    if chain:
        lines += [chain.rstrip("\n"), ""]
    return lines


def diagram_hops(exchange: Exchange, hops: list[Hop], report: "Report", parties: Parties) -> list[Hop]:
    """The exchange's hops, and the hops no exchange claims that lead up to it (the client's start page)."""
    claimed = {hop.seq for ex in report.exchanges for hop in ex.hops}
    starts = sorted(min(hop.seq for hop in ex.hops) for ex in report.exchanges if ex.hops)
    own = {hop.seq for hop in exchange.hops}
    first = min(own) if own else 0
    earlier = [start for start in starts if start < first]
    after = earlier[-1] if earlier else 0
    last = starts[-1] if starts else 0
    picked = []
    for hop in hops:
        if hop.seq in own:
            picked.append(hop)
        elif hop.seq not in claimed and parties.receiver(hop) is not None:
            leads_up = after < hop.seq < first
            trailing = first == last and hop.seq > first  # after the last exchange: still part of its story
            if leads_up or trailing:
                picked.append(hop)
    return picked


def diagram(exchange: Exchange, hops: list[Hop], report: "Report", parties: Parties) -> str:
    flagged = _flags(report.findings)
    picked = [hop for hop in diagram_hops(exchange, hops, report, parties) if parties.receiver(hop) is not None]
    if len(picked) > MAX_DIAGRAM_HOPS:
        keep = {hop.seq for hop in picked[:MAX_DIAGRAM_HOPS]} | set(flagged)
        left_out = len(picked) - len([hop for hop in picked if hop.seq in keep])
        picked = [hop for hop in picked if hop.seq in keep]
    else:
        left_out = 0
    steps: list[Message | Note] = []
    used: set[str] = set()
    for hop in picked:
        sender, receiver = parties.sender(hop), parties.receiver(hop)
        used |= {sender, receiver}
        steps.append(Message(sender, receiver, request_label(hop)))
        findings = flagged.get(hop.seq, [])
        icon = ICONS[_worst(findings)] + " " if findings else ""
        if hop.status is None:
            steps.append(Message(receiver, sender, f"{icon}no response: {hop.error or 'none recorded'}", "failed"))
        else:
            steps.append(Message(receiver, sender, icon + response_label(hop), "response"))
        if findings:
            over = (sender, receiver) if sender != receiver else (sender,)
            names = ", ".join(dict.fromkeys(f"{f.rule} ({f.severity})" for f in findings))
            steps.append(Note(over, f"{icon}{names}"))
    if left_out:
        steps.append(Note((BROWSER,), f"… {left_out} more hops not drawn"))
        used.add(BROWSER)
    order = [BROWSER, CLIENT, PROVIDER, RESOURCE]
    participants = [Participant(pid, PARTICIPANT_LABELS[pid]) for pid in order
                    if pid in used or pid in (BROWSER, CLIENT, PROVIDER)]
    return sequence_diagram(participants, steps)


def _flags(findings: list[Finding]) -> dict[int, list[Finding]]:
    """hop seq -> its error and warning findings (info is not marked in the diagram)."""
    flagged: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.hop is not None and finding.severity in ("error", "warning"):
            for seq in finding.hops or (finding.hop,):  # every hop the finding was seen at
                flagged.setdefault(seq, []).append(finding)
    return flagged


def _worst(findings: list[Finding]) -> str:
    return max((f.severity for f in findings), key=lambda s: SEVERITY_RANK.get(s, 0))


def request_label(hop: Hop) -> str:
    """`#2 GET /authorize ?response_type,client_id,state`: parameter names only, values are in the table."""
    text = f"#{hop.seq} {hop.method} {path(hop.url) or '/'}"
    names = list(dict.fromkeys(name for name, _ in hop.query))
    if names:
        text += " ?" + ",".join(names)
    form = list(dict.fromkeys(name for name, _ in hop.form))
    if form:
        text += " form " + ",".join(form)
    data = hop.req_json()
    if isinstance(data, dict) and isinstance(data.get("method"), str):
        text += f" {data['method']}"  # a JSON-RPC call (MCP)
    return text


def response_label(hop: Hop) -> str:
    from oauthtrace.timeline import redirect_summary

    text = str(hop.status)
    if hop.location:
        text += " → " + redirect_summary(hop.location)
        return text
    data = hop.resp_json()
    if isinstance(data, dict):
        if isinstance(data.get("error"), str):
            return f"{text} error={data['error']}"
        keys = list(data)[:6]
        return f"{text} {{{','.join(keys)}{',…' if len(data) > 6 else ''}}}"
    content_type = hop.resp_content_type
    return f"{text} {content_type}" if content_type else text


# -- parameters side by side ------------------------------------------------------------------------


def parameter_columns(exchange: Exchange) -> list[tuple[str, Hop, Pairs]]:
    """(heading, hop, parameters) for each stage of the exchange that was recorded."""
    from oauthtrace.analysis.oauth import (authz_response_params, body_params, callback_params, client_auth_used,
                                           request_params, token_fields)

    columns: list[tuple[str, Hop, Pairs]] = []
    if exchange.authorize is not None:
        columns.append(("authorization request", exchange.authorize, request_params(exchange.authorize)))
    response = exchange.authz_response
    if response is not None and response is not exchange.authorize:
        pairs, mode = authz_response_params(response)
        columns.append((f"authorization response ({mode})", response, pairs))
    if exchange.callback is not None:
        columns.append(("callback", exchange.callback, callback_params(exchange.callback)))
    if exchange.tokens:
        token = exchange.tokens[0]
        sent = body_params(token) + [("(client authentication)", client_auth_used(token))]
        columns.append(("token request", token, sent))
        fields = token_fields(token)
        if fields is not None:
            columns.append(("token response", token, [(str(k), _json_value(v)) for k, v in fields.items()]))
    return columns


def parameter_table(exchange: Exchange) -> list[str]:
    columns = parameter_columns(exchange)
    if not columns:
        return []
    names: list[str] = []
    for _, _, pairs in columns:
        names += [name for name, _ in pairs if name not in names]
    if not names:
        return []
    header = "| parameter | " + " | ".join(f"{heading} #{hop.seq}" for heading, hop, _ in columns) + " |"
    rows = [header, "|---|" + "---|" * len(columns)]
    for name in names:
        cells = []
        for _, _, pairs in columns:
            values = [value for key, value in pairs if key == name]
            cells.append(", ".join(code(value, table=True) if value != "" else "(empty)" for value in values)
                         if values else "∅")
        rows.append(f"| {code(name, table=True)} | " + " | ".join(cells) + " |")
    return rows


def _json_value(value) -> str:
    """A token response member as JSON, so `"3600"` (a string) and `3600` (a number) look different."""
    return json.dumps(value, ensure_ascii=False, default=str)


def state_line(exchange: Exchange) -> str:
    """`state` sent → returned → at the callback, with a verdict."""
    from oauthtrace.analysis.oauth import authz_response_params, callback_params, param, request_params

    if exchange.authorize is None:
        return ""
    sent = param(request_params(exchange.authorize), "state")
    steps = [f"sent {_maybe(sent)} (#{exchange.authorize.seq})"]
    returned = None
    response = exchange.authz_response
    if response is not None and response is not exchange.authorize:
        returned = param(authz_response_params(response)[0], "state")
        steps.append(f"returned {_maybe(returned)} (#{response.seq})")
    if exchange.callback is not None:
        received = param(callback_params(exchange.callback), "state")
        steps.append(f"at the callback {_maybe(received)} (#{exchange.callback.seq})")
        returned = received if response is None or response is exchange.authorize else returned
    if len(steps) == 1:
        verdict = ""
    elif sent is None:
        verdict = " — no state was sent" if returned is None else " — ⚠️ a state came back that was never sent"
    elif returned is None:
        verdict = " — ❌ dropped"
    elif returned != sent:
        verdict = " — ❌ altered"
    else:
        verdict = " — ✅ came back unchanged"
    return "**`state`:** " + " → ".join(steps) + verdict


def _maybe(value: str | None) -> str:
    return code(value) if value is not None else "∅"


# -- findings, not evaluated, hops ------------------------------------------------------------------


def _findings_section(report: "Report") -> list[str]:
    from oauthtrace.analysis.registry import RULES

    lines = ["## Findings", ""]
    if not report.findings:
        return lines + ["None.", ""]
    ordered = sorted(report.findings, key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.exchange or 0,
                                                     f.hop if f.hop is not None else 0, f.rule))
    for finding in ordered[:MAX_FINDINGS]:
        where = f"hop #{finding.hop}" if finding.hop is not None else "no single hop"
        if finding.count > 1:
            where = f"{finding.count} hops: " + ", ".join(f"#{seq}" for seq in finding.hops)
        lines.append(f"### {ICONS.get(finding.severity, '')} `{finding.rule}` · {finding.severity} · "
                     f"{blame_word(finding.blame)} · {where} (exchange {finding.exchange})")
        lines += ["", code(finding.message), ""]
        rule = RULES.get(finding.rule)
        quote = rule.quote if rule else ""
        lines.append(f"> **{trusted(finding.spec)}**" + (f": “{trusted(quote)}”" if quote else ""))
        lines += ["", f"**Fix:** {trusted(finding.fix)}", ""]
        if finding.evidence:
            lines += ["<details><summary>evidence</summary>", ""] + fenced(
                json.dumps(finding.evidence, ensure_ascii=False, indent=2, default=str), "json") + ["", "</details>",
                                                                                                    ""]
    if len(ordered) > MAX_FINDINGS:
        lines += [f"… and {len(ordered) - MAX_FINDINGS} more (see `oauthtrace check`).", ""]
    return lines


def _not_evaluated_section(report: "Report") -> list[str]:
    if not report.not_evaluated:
        return []
    grouped: dict[str, list[str]] = {}
    for item in report.not_evaluated:
        grouped.setdefault(item.reason, []).append(item.rule)
    lines = ["## Not evaluated", ""]
    for reason, rules in grouped.items():
        lines.append(f"- {trusted(reason)}: " + ", ".join(f"`{rule}`" for rule in dict.fromkeys(rules)))
    return lines + [""]


def _hops_section(hops: list[Hop], report: "Report", parties: Parties) -> list[str]:
    flagged = _flags(report.findings)
    lines = ["## Hops", "", "| # | from → to | request | status | role |", "|---|---|---|---|---|"]
    for hop in hops[:MAX_HOP_ROWS]:
        receiver = parties.receiver(hop)
        route = f"{PARTICIPANT_LABELS[parties.sender(hop)]} → {PARTICIPANT_LABELS[receiver] if receiver else '?'}"
        status = str(hop.status) if hop.status is not None else f"no response ({hop.error or '-'})"
        if hop.seq in flagged:
            status = f"{ICONS[_worst(flagged[hop.seq])]} {status}"
        lines.append(f"| {hop.seq} | {route} | {code(_cut(f'{hop.method} {hop.url}'), table=True)} | "
                     f"{plain(status, table=True)} | {report.roles.get(hop.seq, '')} |")
    if len(hops) > MAX_HOP_ROWS:
        lines.append(f"\n… and {len(hops) - MAX_HOP_ROWS} more hops.")
    return lines + [""]


# -- Markdown text helpers --------------------------------------------------------------------------


def blame_word(code_: str | None) -> str:
    if not code_:
        return ""
    return " / ".join(BLAME_WORDS.get(part.strip(), part.strip()) for part in code_.split("/"))


def _flat(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


def _cut(text: str, limit: int = MAX_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(text: str, *, table: bool = False) -> str:
    """`text` as an inline code span that shows it literally (a table cell also needs `|` escaped)."""
    text = _cut(_flat(text))
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") or not text.strip() else text
    if table:
        padded = padded.replace("|", "\\|")
    return f"{fence}{padded}{fence}"


_MARKDOWN_SPECIAL = set("\\`*_{}[]<>()#+!|~")


def plain(text: str | None, *, table: bool = False) -> str:
    """Captured or user text as literal Markdown prose: every character that could format, link or open HTML
    is backslash-escaped; control characters are shown as escapes."""
    return "".join(f"\\{ch}" if ch in _MARKDOWN_SPECIAL else ch for ch in _flat(text or ""))


def trusted(text: str | None) -> str:
    """The project's own text (rule quotes, fixes): its Markdown (`code`) kept, on one line, no raw HTML."""
    return " ".join(_flat(text or "").split()).replace("<", "&lt;")


def fenced(text: str, language: str = "") -> list[str]:
    """A fenced code block whose fence no line of `text` can close."""
    longest = max((len(line) - len(line.lstrip("`")) for line in text.splitlines()), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, text, fence]

