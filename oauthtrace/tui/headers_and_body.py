"""What the Headers and Body tabs show for one hop, as Rich renderables built from captured data as plain text.

Bodies: JSON pretty-printed, forms as tables, other text as is (cut at MAX_BODY characters), binary as a size.
Every JWT found (JSON values, form fields, query parameters, Bearer headers, the Location) is decoded with
exp/iat/nbf/auth_time shown as UTC dates.
"""

from __future__ import annotations

import datetime as dt
import json

from rich.console import Group, RenderableType
from rich.highlighter import JSONHighlighter
from rich.table import Table
from rich.text import Text

from oauthtrace.analysis import jwt
from oauthtrace.model import Hop, Pairs
from oauthtrace.params import parse_pairs, query_pairs, fragment_pairs
from oauthtrace.timeline import listener_label, when
from oauthtrace.tui.text import plain

MAX_BODY = 20_000
DATE_CLAIMS = ("exp", "iat", "nbf", "auth_time", "updated_at")


def pairs_table(pairs: Pairs, *, name_header: str = "name") -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column(name_header, style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in pairs:
        table.add_row(plain(name), plain(value))
    return table


def headers_view(hop: Hop) -> Group:
    request = Text(f"{hop.method} ", style="bold")
    request.append_text(plain(hop.url))
    request.append(f"  {hop.http_version}", style="dim")
    parts: list[RenderableType] = [request, Text(f"via {listener_label(hop.listener)}  started {when(hop.started)}",
                                                  style="dim")]
    if hop.upstream_url:
        parts.append(Text("upstream ", style="dim") + plain(hop.upstream_url, "dim"))
    parts += [Text(""), pairs_table(hop.req_headers, name_header="request header"), Text("")]
    if hop.error is not None:
        parts.append(Text("error: ", style="bold red") + plain(hop.error, "red"))
    if hop.status is not None:
        parts.append(Text(f"{hop.status}", style="bold"))
        parts.append(pairs_table(hop.resp_headers, name_header="response header"))
    return Group(*parts)


def body_view(hop: Hop) -> Group:
    parts: list[RenderableType] = [Text("Request body", style="bold underline")]
    parts.append(_body(hop.req_body, hop.req_content_type, hop.req_truncated, hop.form))
    parts += [Text(""), Text("Response body", style="bold underline")]
    parts.append(_body(hop.resp_body, hop.resp_content_type, hop.resp_truncated, []))
    tokens = found_jwts(hop)
    if tokens:
        parts += [Text(""), Text("JWTs", style="bold underline")]
        for where, token in tokens:
            parts.append(jwt_view(where, token))
    return Group(*parts)


def _body(body: bytes | None, content_type: str, truncated: bool, form: Pairs) -> RenderableType:
    if not body:
        return Text("(empty)", style="dim")
    note = Text(f"  (cut at capture: {len(body)} bytes kept)", style="yellow") if truncated else Text("")
    if form:
        return Group(pairs_table(form, name_header="form field"), note)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Text(f"{len(body)} bytes of binary data ({content_type or 'no content type'})", style="dim")
    data = _json(text) if "json" in content_type or text.lstrip()[:1] in ("{", "[") else None
    if data is not None:
        return Group(pretty_json(data), note)
    shown = plain(text[:MAX_BODY])
    if len(text) > MAX_BODY:
        shown.append(f"\n… {len(text) - MAX_BODY} more characters", style="dim")
    return Group(shown, note)


def _json(text: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def pretty_json(data) -> Text:
    """Indented JSON, coloured by a regex highlighter (no markup is parsed, so `[bold]` in a value stays text)."""
    text = plain(json.dumps(data, indent=2, ensure_ascii=False)[:MAX_BODY])
    JSONHighlighter().highlight(text)
    return text


def found_jwts(hop: Hop) -> list[tuple[str, str]]:
    """(where, token) for every decodable JWT in the hop, each token once."""
    found: dict[str, str] = {}

    def look(where: str, candidate) -> None:
        if isinstance(candidate, str) and candidate not in found and jwt.decode(candidate) is not None:
            found[candidate] = where

    for name, value in hop.query:
        look(f"query {name}", value)
    for name, value in hop.form:
        look(f"form {name}", value)
    for name, value in hop.req_headers:
        if name.lower() == "authorization":
            look("Authorization header", value.partition(" ")[2].strip())
    if hop.location:
        for name, value in query_pairs(hop.location) + fragment_pairs(hop.location):
            look(f"Location {name}", value)
    for label, data in (("request", hop.req_json()), ("response", hop.resp_json())):
        if isinstance(data, dict):
            for name, value in data.items():
                look(f"{label} {name}", value)
    if hop.resp_content_type == "application/x-www-form-urlencoded":
        for name, value in parse_pairs(hop.resp_text):
            look(f"response {name}", value)
    return [(where, token) for token, where in found.items()]


def jwt_view(where: str, token: str) -> Group:
    decoded = jwt.decode(token)
    title = Text(f"{where}", style="bold cyan")
    if decoded is None:
        return Group(title, Text("not a readable JWT", style="dim"))
    signature = "unsigned (alg none)" if not decoded.signature else "signature not verified"
    title.append(f"  alg {decoded.alg or '?'}, {signature}", style="dim")
    dates = [claim_date(name, decoded.claims.get(name)) for name in DATE_CLAIMS if name in decoded.claims]
    return Group(title, Text("header", style="dim"), pretty_json(decoded.header), Text("claims", style="dim"),
                 pretty_json(decoded.claims), *dates)


def claim_date(name: str, value) -> Text:
    """`exp  2023-11-14 22:13:20 UTC` (UTC, so what is shown does not depend on the machine's time zone)."""
    text = Text(f"{name:<10}", style="bold")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            moment = dt.datetime.fromtimestamp(value, dt.timezone.utc)
            text.append(moment.strftime("%Y-%m-%d %H:%M:%S UTC"))
            return text
        except (OverflowError, OSError, ValueError):
            pass
    text.append_text(plain(f"{value!r} (not a NumericDate)", "yellow"))
    return text
