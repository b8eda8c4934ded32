"""Family E: response type, response mode and leakage of codes, states and tokens through URLs and Referer."""

from __future__ import annotations

import re
from itertools import chain
from html.parser import HTMLParser
from typing import Iterable, Iterator

from oauthtrace.analysis.oauth import (
    authz_response_params, callback_params, has_response_key, param, request_param, request_params, shown, token_fields,
)
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.analysis.rules._shared import facts
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import base_url, fragment_pairs, host, origin, query_pairs

PROFILE_SEVERITIES = {
    "oauth21": {"implicit-grant": "error"},  # OAuth 2.1 removed the implicit grant
}

TOKEN_PARAMS = ("access_token", "refresh_token", "id_token")
# What a Referer must not carry to a third party: the authorization response and the CSRF token.
REFERER_SECRETS = ("code", "state") + TOKEN_PARAMS
# Referrer policies that never send a URL's path or query to another origin.
SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "origin", "strict-origin", "strict-origin-when-cross-origin"}


def _requested_param(exchange: Exchange, ctx: Context, name: str) -> str | None:
    """A parameter of what the authorization request asked for: of its sent parameters (from the shared facts'
    index), or of its URL/form when those are not known. With PAR (RFC 9126) or a request object the URL carries
    only part of it: a client may repeat response_type there (OpenID Connect Core §6.2 asks for it) while
    response_mode stays in the pushed request, which oidc-provider honours."""
    if exchange.authorize is None:
        return None
    known = facts(exchange, ctx)
    if known.sent:
        return known.sent_param(name)
    return request_param(exchange.authorize, name)


def _response_types(exchange: Exchange, ctx: Context) -> list[str]:
    return (_requested_param(exchange, ctx, "response_type") or "").split()


@rule(
    "implicit-grant",
    family="E",
    severity="warning",
    blame="C",
    needs="F",
    when=("authorize",),
    spec="RFC 9700 §2.1.2; OAuth 2.1 §10.1",
    quote="Clients SHOULD NOT use the implicit grant (response type \"token\") or other response types issuing "
    "access tokens in the authorization response",
    fix="Client: use response_type=code with PKCE and fetch the tokens from the token endpoint.",
)
def implicit_grant(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The authorization request asks for an access token in the front channel (response_type contains token)."""
    response_types = _response_types(exchange, ctx)
    if "token" in response_types:
        value = " ".join(response_types)
        return [Hit(hop=exchange.authorize, message=f"authorize.response_type = {value} (access token in the "
                    "browser's URL) ≠ code", evidence={"param": "response_type", "sent": value})]
    return ()


@rule(
    "token-in-url",
    family="E",
    severity="error",
    blame="AS",
    needs="F",
    spec="RFC 6750 §2.3, §5.3; RFC 9700 §4.3.2; Multiple Response Types §2.1; MCP authorization",
    quote="Bearer tokens SHOULD NOT be passed in page URLs (RFC 6750 §5.3); clients MUST NOT pass access tokens "
    "in a URI query parameter (RFC 9700 §4.3.2)",
    fix="Provider: never put tokens in a redirect's query (response_mode=query MUST NOT be used with token "
    "response types); use the code flow. Client: send access tokens in the Authorization header.",
)
def token_in_url(exchange: Exchange, ctx: Context) -> list[Hit]:
    """An access, refresh or ID token travels in a URL (redirect Location or request query)."""
    hits: list[Hit] = []
    carriers: dict[int, Hop] = {}  # seq -> a hop that may carry a token, each hop once
    for hop in chain(exchange.hops, exchange.tokens, exchange.refreshes, exchange.resources):
        if _may_carry_token(hop):
            carriers.setdefault(hop.seq, hop)
    if not carriers:
        return hits  # nowhere a token could be: most exchanges
    reported = memo(ctx, "leakage.token-in-url-seen", set)
    for seq in sorted(carriers):
        if seq in reported:
            continue
        hop = carriers[seq]
        found = list(_tokens_in_url(hop, exchange))
        if found:
            reported.add(hop.seq)
        hits += found
    return hits


def _may_carry_token(hop: Hop) -> bool:
    """Whether _tokens_in_url can find anything in the hop: "token" in its Location (every name in TOKEN_PARAMS
    ends in it), or a token parameter in its query."""
    if hop.location and "token" in hop.location:
        return True
    for name, value in hop.query:
        if name in TOKEN_PARAMS and value:
            return True
    return False


def _tokens_in_url(hop: Hop, exchange: Exchange) -> Iterator[Hit]:
    if hop.location and "token" in hop.location:  # every name in TOKEN_PARAMS ends in "token"
        where = "the provider's redirect" if hop is exchange.authz_response else "a redirect"
        blame = "AS" if hop is exchange.authz_response else "C"
        for part, pairs in (("query", query_pairs(hop.location)), ("fragment", fragment_pairs(hop.location))):
            for name, value in pairs:
                if name in TOKEN_PARAMS and value:
                    yield Hit(hop=hop, message=f"Location {part}: {name} = {shown(value, secret=True)} in {where}",
                              evidence={"param": name, "in": f"location-{part}", "url": base_url(hop.location)},
                              severity="warning" if part == "fragment" else None, blame=blame)
    if hop is exchange.callback and exchange.authz_response is not None and exchange.authz_response.location:
        return  # the callback's query is the provider's redirect, already reported there
    for name, value in hop.query:
        if name in TOKEN_PARAMS and value:
            blame = "AS" if hop is exchange.callback else "C"
            yield Hit(hop=hop, message=f"{hop.method} {base_url(hop.url)} query: {name} = "
                      f"{shown(value, secret=True)}", evidence={"param": name, "in": "request-query",
                                                                 "url": base_url(hop.url)}, blame=blame)


@rule(
    "response-mode-mismatch",
    family="E",
    severity="error",
    blame="AS",
    needs="F",
    when=("authorize",),
    spec="OAuth 2.0 Multiple Response Type Encoding Practices §2.1, §5; OAuth 2.0 Form Post Response Mode §2",
    quote="the default Response Mode for the code Response Type is the query encoding; for the token Response "
    "Type it is the fragment encoding; response_mode informs the AS of the mechanism to use",
    fix="Provider: deliver the authorization response the way the request asked (response_mode), else the "
    "response type's default: query for code, fragment for token and id_token.",
)
def response_mode_mismatch(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The provider answered in another response mode than the one requested (or the default)."""
    response_types = _response_types(exchange, ctx)
    if not response_types:
        return ()
    requested = _requested_param(exchange, ctx, "response_mode")
    if requested not in (None, "query", "fragment", "form_post"):
        return ()  # JARM (query.jwt, …) and other extensions: not judged here
    expected = requested or _default_mode(response_types)
    hop, used = _delivered_mode(exchange, ctx)
    if hop is None or used == expected:
        return ()
    asked = (f"authorize.response_mode = {requested}" if requested
             else f"authorize.response_type = {' '.join(response_types)} (no response_mode ⇒ {expected})")
    return [Hit(hop=hop, message=f"{asked} ≠ response delivered by {used}",
                evidence={"requested": requested, "expected": expected, "used": used},
                severity=None if requested else "warning")]


def _default_mode(response_types: list[str]) -> str:
    return "fragment" if "token" in response_types or "id_token" in response_types else "query"


def _delivered_mode(exchange: Exchange, ctx: Context) -> tuple[Hop | None, str]:
    """The hop that delivered the authorization response and how (query, fragment, form_post)."""
    if exchange.authz_response is not None:
        seen = facts(exchange, ctx).response  # authz_response_params of the provider's redirect, read once
        if seen.mode != "none" and has_response_key(seen.pairs):
            return exchange.authz_response, seen.mode
    callback = exchange.callback
    if callback is not None:
        if callback.method == "POST" and has_response_key(callback.form):
            return callback, "form_post"
        if has_response_key(callback.query):
            return callback, "query"
    return None, "none"


@rule(
    "referer-leak",
    family="E",
    severity="error",
    blame="C",
    needs="F",
    when=("authorize", "authz_response", "callback", "tokens", "refreshes"),
    spec="RFC 9700 §4.2, §4.2.4; RFC 6749 §3.1.2.5",
    quote="The contents of the authorization request URI or the authorization response URI can unintentionally "
    "be disclosed to attackers through the Referer HTTP header (RFC 9700 §4.2)",
    fix="Whoever serves the page: send Referrer-Policy: no-referrer on authorization and callback pages, and "
    "redirect once more after the callback to strip code and state from the address bar.",
)
def referer_leak(exchange: Exchange, ctx: Context) -> list[Hit]:
    """A request to another party carries this flow's code, state or a token in its Referer."""
    hits: list[Hit] = []
    leaks = memo(ctx, "leakage.referer-index", lambda: _referer_index(ctx.hops))
    if not leaks:
        return hits
    parties = _parties(exchange)
    client = origin(_redirect_uri(exchange) or "")
    leaked: dict[int, tuple[Hop, str, list[str]]] = {}
    for value, name in _flow_secrets(exchange):
        for hop, referer in leaks.get(value, ()):
            if origin(hop.url) not in parties and origin(hop.url) != origin(referer):
                names = leaked.setdefault(hop.seq, (hop, referer, []))[2]
                if name not in names:
                    names.append(name)
    for hop, referer, names in sorted(leaked.values(), key=lambda item: item[0].seq):
        page = "callback" if origin(referer) == client else "authorization"
        hits.append(Hit(hop=hop, message=f"Referer {base_url(referer)}?{'&'.join(f'{n}=…' for n in names)} sent to "
                        f"{origin(hop.url)} (the {page} page's URL)",
                        evidence={"params": names, "referer": base_url(referer), "to": origin(hop.url), "page": page},
                        blame="C" if page == "callback" else "AS"))
    return hits


def _referer_index(hops: list[Hop]) -> dict[str, list[tuple[Hop, str]]]:
    """Secret-looking value -> the hops whose Referer query carries it."""
    index: dict[str, list[tuple[Hop, str]]] = {}
    for hop in hops:
        referer = hop.req_header("referer")
        if not referer or "?" not in referer or not _may_name_secret(referer):
            continue
        for name, value in query_pairs(referer):
            if name in REFERER_SECRETS and value:
                index.setdefault(value, []).append((hop, referer))
    return index


def _may_name_secret(url: str) -> bool:
    """Whether query_pairs(url) could hold a REFERER_SECRETS name: it is spelled out in the URL (each one contains
    code, state or token) unless percent-encoded or split by a tab or newline, which urlsplit deletes. Parsing
    the query is the slow step, and a login page's Referer rarely carries a secret."""
    return _SECRET_NAME_HINT.search(url) is not None


_SECRET_NAME_HINT = re.compile(r"code|state|token|[%\t\r\n]")
assert all(_SECRET_NAME_HINT.search(name) for name in REFERER_SECRETS)


def _redirect_uri(exchange: Exchange) -> str | None:
    if exchange.authorize is not None:
        redirect_uri = param(request_params(exchange.authorize), "redirect_uri")
        if redirect_uri:
            return redirect_uri
    return exchange.callback.url if exchange.callback is not None else None


def _parties(exchange: Exchange) -> set[str]:
    """Origins that hold the flow's secrets anyway: the provider's endpoints and the client's callback."""
    urls = [hop.url for hop in (exchange.authorize, exchange.callback) if hop is not None]
    urls += [hop.url for hop in exchange.tokens + exchange.refreshes]
    urls.append(_redirect_uri(exchange) or "")
    return {origin(url) for url in urls if url}


def _flow_secrets(exchange: Exchange) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if exchange.authorize is not None:
        state = param(request_params(exchange.authorize), "state")
        if state:
            found.append((state, "state"))
    if exchange.callback is not None:
        code = param(callback_params(exchange.callback), "code")
        if code:
            found.append((code, "code"))
    if exchange.authz_response is not None:
        pairs, _ = authz_response_params(exchange.authz_response)
        found += [(value, name) for name, value in pairs if name in ("code",) + TOKEN_PARAMS and value]
    for hop in exchange.tokens + exchange.refreshes:
        fields = token_fields(hop) or {}
        found += [(fields[name], name) for name in TOKEN_PARAMS if isinstance(fields.get(name), str)
                  and fields[name]]
    return list(dict.fromkeys(found))


@rule(
    "callback-page-leaky",
    family="E",
    severity="warning",
    blame="C",
    needs="F",
    when=("authorize", "callback"),
    spec="RFC 6749 §3.1.2.5; RFC 9700 §4.2.4",
    quote="The client SHOULD NOT include any third-party scripts (e.g., third-party analytics, social plug-ins, "
    "ad networks) in the redirection endpoint response",
    fix="Whoever serves the page: answer the callback with a redirect that drops code and state (or a page "
    "without third-party resources), and send Referrer-Policy: no-referrer.",
)
def callback_page_leaky(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The callback (or authorization) page loads third-party resources while the URL still holds code or state."""
    hits: list[Hit] = []
    for hop, secret, blame in ((exchange.callback, "code", "C"), (exchange.authorize, "state", "AS")):
        if hop is None or not hop.resp_body or b"//" not in hop.resp_body or not param(hop.query, secret) or (
                not _is_html_page(hop)):
            continue  # without an absolute URL ("https://", "//host") the page loads nothing from elsewhere
        scan = _PageScan.of(hop)
        policy = _referrer_policy(hop, scan)
        if policy in SAFE_REFERRER_POLICIES:
            continue
        third = _third_party_resources(hop, scan)
        if third:
            page = "callback" if secret == "code" else "authorization"
            hits.append(Hit(hop=hop, message=f"{page} page with {secret} in its URL loads {', '.join(third[:3])}"
                            f"{' …' if len(third) > 3 else ''}; Referrer-Policy = {shown(policy)}",
                            evidence={"page": base_url(hop.url), "third_party": third[:20], "referrer_policy": policy},
                            blame=blame))
    return hits


def _is_html_page(hop: Hop) -> bool:
    return hop.status == 200 and hop.resp_content_type in ("text/html", "application/xhtml+xml") and bool(
        hop.resp_body)


def _referrer_policy(hop: Hop, scan: "_PageScan") -> str | None:
    """The effective policy: the last token of the header (or of a <meta name=referrer>)."""
    values = hop.resp_header("referrer-policy") or scan.meta_referrer
    tokens = [t.strip().lower() for t in (values or "").split(",") if t.strip()]
    return tokens[-1] if tokens else None


def _third_party_resources(hop: Hop, scan: "_PageScan") -> list[str]:
    page_site = _site(host(hop.url))
    hosts = [host(url) for url in scan.resources]
    return list(dict.fromkeys(name for name in hosts if name and _site(name) != page_site))


def _site(name: str) -> str:
    # Last two labels: static.example.com and login.example.com are one party. (No public-suffix list here, so
    # a.co.uk and b.co.uk would count as one party too; that only ever hides a finding, never invents one.)
    return ".".join(name.split(".")[-2:])


class _PageScan(HTMLParser):
    """Sub-resources a browser loads on its own (scripts, images, frames, stylesheets) and <meta name=referrer>."""

    LOADED = {"script": "src", "img": "src", "iframe": "src", "link": "href", "source": "src", "embed": "src"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.resources: list[str] = []
        self.meta_referrer: str | None = None

    @classmethod
    def of(cls, hop: Hop) -> "_PageScan":
        scan = cls()
        try:
            scan.feed(hop.resp_text)
            scan.close()
        except Exception:  # noqa: BLE001 — a hostile page must not stop the analysis
            pass
        return scan

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "meta" and attributes.get("name", "").lower() == "referrer":
            self.meta_referrer = attributes.get("content")
        attribute = self.LOADED.get(tag)
        if attribute is None:
            return
        if tag == "link" and attributes.get("rel", "").lower() in ("canonical", "alternate", "author", "help"):
            return  # link relations the browser does not fetch
        url = attributes.get(attribute, "").strip()
        if url.startswith("//"):
            url = "https:" + url
        if url.lower().startswith(("http://", "https://")):
            self.resources.append(url)
