"""Hand-made hops for tests: a realistic ChatGPT-plugin-like authorization code flow, with knobs to break it.

    flow()                               # the good flow, 5 hops
    flow(returned_state=None)            # provider drops state (the motivating bug)
    flow(returned_state="6ca9HZ")        # provider truncates it
    flow(error="access_denied")          # error response, no token request
    interleave(flow(...), flow(...))     # two flows at once, seq renumbered by start time

The hops are what the recorder would store: one browser listener for the front channel and a reverse listener
for the client's server calls (back_listener="browser" models HTTP_PROXY on the client's server instead).
Sequence numbers follow request start, like the recorder's `requestheaders` hook.
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import urlencode, urljoin

from oauthtrace.analysis.registry import RULES, Context
from oauthtrace.model import Exchange, Hop
from oauthtrace.params import parse_pairs, query_pairs

PROVIDER = "https://auth.example.com"
CHATGPT_CALLBACK = "https://chat.openai.com/aip/p-1/oauth/callback"
CLIENT_ID = "plugin-client"
CLIENT_SECRET = "s3cret-value-9f8e7d"
STATE = "6ca9HZ3vQ1kLmN8pR2sT5uW7xY0zA4bC"
CODE = "SplxlOBeZQQYbYS6WxSbIAq7Lm3Np"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
REVERSE = "reverse:https://auth.example.com@8081"

ECHO = object()  # knob default: the value the protocol says (echo the sent state, reuse the code, ...)


class Flow(list):
    """The hops of one flow, in seq order, with the interesting ones by name (None when absent)."""

    authorize: Hop | None = None
    login_page: Hop | None = None
    login_post: Hop | None = None
    authz_response: Hop | None = None
    callback: Hop | None = None
    token: Hop | None = None


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_hop(
    seq: int,
    method: str,
    url: str,
    *,
    trace_id: int = 1,
    started: float = 1000.0,
    ended: float | None = None,
    listener: str = "browser",
    form: list[tuple[str, str]] | None = None,
    json_body=None,
    body: bytes | None = None,
    req_headers: list[tuple[str, str]] | None = None,
    status: int | None = 200,
    resp_headers: list[tuple[str, str]] | None = None,
    resp_body: bytes | str | None = None,
    resp_json=None,
    location: str | None = None,
    content_type: str | None = None,
) -> Hop:
    """One recorded hop. form/json_body fill the request body; resp_json/resp_body the response body."""
    headers = list(req_headers or [])
    pairs: list[tuple[str, str]] = []
    if form is not None:
        body = urlencode(form).encode()
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        pairs = parse_pairs(body.decode())
    elif json_body is not None:
        body = json.dumps(json_body).encode()
        headers.append(("Content-Type", "application/json"))
    response_headers = list(resp_headers or [])
    if resp_json is not None:
        resp_body = json.dumps(resp_json)
        content_type = content_type or "application/json"
    if isinstance(resp_body, str):
        resp_body = resp_body.encode()
    if content_type:
        response_headers.append(("Content-Type", content_type))
    if location is not None:
        response_headers.append(("Location", location))
    return Hop(
        trace_id=trace_id, seq=seq, method=method, url=url, started=started,
        ended=started + 0.05 if ended is None else ended, listener=listener, query=query_pairs(url),
        req_headers=headers, req_body=body, form=pairs, status=status, resp_headers=response_headers,
        resp_body=resp_body, location=location,
    )


def with_params(url: str, params: list[tuple[str, str]], *, fragment: bool = False) -> str:
    if not params:
        return url
    if fragment:
        return f"{url}#{urlencode(params)}"
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _pick(knob, default):
    return default if knob is ECHO else knob


def flow(
    *,
    trace_id: int = 1,
    seq: int = 1,
    t0: float = 1000.0,
    provider: str = PROVIDER,
    client_id: str | None = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    redirect_uri: str | None = CHATGPT_CALLBACK,
    response_type: str = "code",
    scope: str | None = "read write",
    state: str | None = STATE,
    pkce: bool = False,
    verifier: str = VERIFIER,
    challenge=ECHO,
    challenge_method: str | None = "S256",
    nonce: str | None = None,
    extra_authorize: list[tuple[str, str]] = (),
    authorize_url: str | None = None,
    login: bool = True,
    login_status: int = 302,
    code: str = CODE,
    returned_state=ECHO,
    error: str | None = None,
    error_description: str | None = None,
    extra_response: list[tuple[str, str]] = (),
    redirect_to: str | None = None,
    response_mode: str | None = None,
    callback: bool = True,
    callback_status: int = 200,
    back_channel: bool = True,
    back_listener: str = REVERSE,
    token_url: str | None = None,
    token_format: str = "form",
    client_auth: str = "post",
    token_code=ECHO,
    token_redirect_uri=ECHO,
    token_verifier=ECHO,
    token_client_id=ECHO,
    extra_token: list[tuple[str, str]] = (),
    token_status: int = 200,
    token_json=ECHO,
    token_resp_body: bytes | None = None,
    token_content_type: str = "application/json",
    token_delay: float = 0.1,
    token_headers: list[tuple[str, str]] = (),
) -> Flow:
    """/authorize → login page → login POST → 302 to the callback → token POST from the client's server.

    The token request starts while the browser's callback request is still open (the client's server makes it
    before answering the browser), so it starts after the callback and ends before it.
    """
    hops = Flow()
    n = iter(range(seq, seq + 100))
    challenge = _pick(challenge, s256(verifier) if pkce else None)
    params = [("response_type", response_type)]
    for name, value in (
        ("client_id", client_id), ("redirect_uri", redirect_uri), ("scope", scope), ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", challenge_method if challenge else None), ("nonce", nonce),
        ("response_mode", response_mode if response_mode in ("form_post", "fragment", "query") else None),
    ):
        if value is not None:
            params.append((name, value))
    params += list(extra_authorize)
    authorize_url = authorize_url or with_params(f"{provider}/authorize", params)
    sent_state = state
    back_state = _pick(returned_state, sent_state)
    if error:
        response = [("error", error)]
        if error_description:
            response.append(("error_description", error_description))
    else:
        response = [("code", code)]
    if back_state is not None:
        response.append(("state", back_state))
    response += list(extra_response)
    target = redirect_to or redirect_uri or CHATGPT_CALLBACK
    fragment = response_mode == "fragment"
    form_post = response_mode == "form_post"
    callback_url = target if (form_post or fragment) else with_params(target, response)
    location = None if form_post else with_params(target, response, fragment=fragment)
    t = t0

    def hop(*args, **kwargs) -> Hop:
        return make_hop(next(n), *args, trace_id=trace_id, **kwargs)

    def authz_response_of(method, url, **kwargs) -> Hop:
        if form_post:
            return hop(method, url, status=200, content_type="text/html", resp_body=_form_post_page(target, response),
                       **kwargs)
        return hop(method, url, status=login_status, location=location, **kwargs)

    if login:
        ticket = "t-" + (sent_state or "none")[:6]
        hops.authorize = hop("GET", authorize_url, started=t, status=302, location=f"/login?ticket={ticket}")
        hops.login_page = hop("GET", f"{provider}/login?ticket={ticket}", started=t + 0.2, status=200,
                              content_type="text/html; charset=utf-8", resp_body=_LOGIN_PAGE.format(ticket=ticket))
        hops.login_post = hops.authz_response = authz_response_of(
            "POST", f"{provider}/login", started=t + 1.0,
            form=[("ticket", ticket), ("username", "alice"), ("password", "correct horse")],
            req_headers=[("Referer", f"{provider}/login?ticket={ticket}")])
        hops += [hops.authorize, hops.login_page, hops.login_post]
    else:
        hops.authorize = hops.authz_response = authz_response_of("GET", authorize_url, started=t)
        hops.append(hops.authorize)
    t += 1.5
    wants_token = back_channel and not error and "code" in response_type.split()
    if callback:
        callback_end = t + token_delay + 0.5
        if form_post:
            hops.callback = hop("POST", target, started=t, ended=callback_end, form=response, status=callback_status,
                                content_type="text/html", resp_body="<p>Signed in</p>")
        else:
            hops.callback = hop("GET", callback_url, started=t, ended=callback_end, status=callback_status,
                                content_type="text/html", resp_body="<p>Signed in</p>")
        hops.append(hops.callback)
    if wants_token:
        hops.token = _token_hop(
            hop, token_url or f"{provider}/token", t + token_delay, back_listener, token_format, client_auth,
            client_id=_pick(token_client_id, client_id), client_secret=client_secret,
            code=_pick(token_code, code), redirect_uri=_pick(token_redirect_uri, redirect_uri),
            verifier=_pick(token_verifier, verifier if pkce else None), extra=list(extra_token),
            status=token_status, json_body=_pick(token_json, _GOOD_TOKEN), raw_body=token_resp_body,
            content_type=token_content_type, resp_headers=token_headers,
        )
        hops.append(hops.token)
    return hops


NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]  # RFC 6749 §5.1, for token_headers=

_GOOD_TOKEN = {"access_token": "at-1f2e3d4c5b6a79880", "token_type": "Bearer", "expires_in": 3600,
               "refresh_token": "rt-0a9b8c7d6e5f4"}


def _token_hop(hop, url, started, listener, fmt, client_auth, *, client_id, client_secret, code, redirect_uri,
               verifier, extra, status, json_body, raw_body, content_type, resp_headers) -> Hop:
    fields = [("grant_type", "authorization_code"), ("code", code)]
    if redirect_uri is not None:
        fields.append(("redirect_uri", redirect_uri))
    if verifier is not None:
        fields.append(("code_verifier", verifier))
    headers = []
    if client_auth == "basic":
        raw = f"{client_id}:{client_secret}".encode()
        headers.append(("Authorization", "Basic " + base64.b64encode(raw).decode()))
    else:
        if client_id is not None:
            fields.append(("client_id", client_id))
        if client_auth == "post":
            fields.append(("client_secret", client_secret))
    fields += extra
    body_kwargs = {"form": fields} if fmt == "form" else {"json_body": dict(fields)}
    if raw_body is not None:
        resp = {"resp_body": raw_body, "content_type": content_type}
    elif json_body is None:
        resp = {"resp_body": b"", "content_type": content_type}
    else:
        resp = {"resp_body": json.dumps(json_body), "content_type": content_type}
    return hop("POST", url, started=started, ended=started + 0.2, listener=listener, req_headers=headers,
               status=status, resp_headers=list(resp_headers), **body_kwargs, **resp)


_LOGIN_PAGE = (
    "<html><body><form method=\"post\" action=\"/login\">"
    "<input type=\"hidden\" name=\"ticket\" value=\"{ticket}\">"
    "<input name=\"username\"><input type=\"password\" name=\"password\">"
    "<button>Sign in</button></form></body></html>"
)


def _form_post_page(target: str, params: list[tuple[str, str]]) -> str:
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in params)
    return (f'<html><body onload="document.forms[0].submit()"><form method="post" action="{target}">'
            f"{inputs}</form></body></html>")


def interleave(*flows: list[Hop], first_seq: int = 1) -> list[Hop]:
    """Several flows recorded at once: merged by start time and renumbered like the recorder would."""
    merged = sorted((hop for f in flows for hop in f), key=lambda hop: hop.started)
    for number, hop in enumerate(merged, start=first_seq):
        hop.seq = number
    return merged


def sequential(*flows: list[Hop], gap: float = 60.0) -> list[Hop]:
    """Flows one after another, `gap` seconds apart; seq renumbered."""
    out: list[Hop] = []
    next_start = None
    for f in flows:
        shift = 0.0 if next_start is None else next_start - min(h.started for h in f)
        for hop in f:
            hop.started += shift
            if hop.ended is not None:
                hop.ended += shift
        out += f
        next_start = max(h.ended or h.started for h in out) + gap
    return renumber(out)


def metadata_hop(seq: int, issuer: str = PROVIDER, *, started: float = 990.0, trace_id: int = 1, **overrides) -> Hop:
    """GET /.well-known/oauth-authorization-server answered with a plausible RFC 8414 document."""
    doc = {
        "issuer": issuer,
        "authorization_endpoint": urljoin(issuer + "/", "authorize"),
        "token_endpoint": urljoin(issuer + "/", "token"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }
    doc.update(overrides)
    doc = {k: v for k, v in doc.items() if v is not None}
    return make_hop(seq, "GET", f"{issuer}/.well-known/oauth-authorization-server", trace_id=trace_id,
                    started=started, resp_json=doc)


def renumber(hops: list[Hop], first_seq: int = 1) -> list[Hop]:
    for number, hop in enumerate(sorted(hops, key=lambda h: h.started), start=first_seq):
        hop.seq = number
    return sorted(hops, key=lambda h: h.seq)


def analyze(hops: list[Hop], **kwargs):
    """The engine's report for these hops (trace 1 unless the hops say otherwise)."""
    from oauthtrace.analysis.engine import analyze as run

    trace_id = hops[0].trace_id if hops else 1
    return run(hops, trace_id=trace_id, **kwargs)


def findings(hops: list[Hop], rule: str | None = None, **kwargs):
    """Findings of one rule (all rules when None) for these hops."""
    report = analyze(hops, **kwargs)
    return [f for f in report.findings if rule is None or f.rule == rule]


# -- one rule over hand-made exchanges (the rule families' unit tests) ----------------------------------------

def exchange_of(f, index: int = 0, **fields) -> Exchange:
    """The exchange a flow() makes (its authorize, callback and token hops); `fields` replace any part of it."""
    base = dict(hops=list(f), authorize=f.authorize, authz_response=f.authz_response, callback=f.callback,
                tokens=[f.token] if f.token else [])
    base.update(fields)
    return Exchange(index=index, **base)


def hits_by_exchange(rule_id: str, *exchanges: Exchange, extra_hops=(), roles=None, **context):
    """(exchange index, hit) for every hit of one rule; `context` sets the other Context fields (profile, metadata)."""
    hops = [hop for ex in exchanges for hop in ex.hops] + list(extra_hops)
    ctx = Context(trace_id=1, hops=hops, exchanges=list(exchanges), roles=roles or {}, sides={"F", "B", "M"},
                  **context)
    return [(ex.index, hit) for ex in exchanges for hit in RULES[rule_id].check(ex, ctx)]


def rule_hits(rule_id: str, *exchanges: Exchange, **kwargs):
    """The hits of one rule over these exchanges, in exchange order (see hits_by_exchange for the keywords)."""
    return [hit for _, hit in hits_by_exchange(rule_id, *exchanges, **kwargs)]


def assert_registered(family: str, expected: dict[str, tuple[str, str, str]], *, spec_starts: str = "") -> None:
    """Each rule of `expected` (rule id -> severity, blame, needs) is registered in `family` as the catalogue says,
    with its specification, the specification's sentence and a fix."""
    for rule_id, (severity, blame, needs) in expected.items():
        registered = RULES[rule_id]
        assert (registered.family, registered.severity, registered.blame, registered.needs) == (
            family, severity, blame, needs), rule_id
        assert registered.spec.startswith(spec_starts) and registered.spec and registered.quote and registered.fix
