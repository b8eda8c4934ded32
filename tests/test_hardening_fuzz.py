"""Hypothesis fuzzing: URL/parameter parsing, JWT decoding, flow -> hop conversion, and the analysis over random
hops. The bar is 0 tracebacks, plus the properties a user relies on (one decode, order and duplicates kept, a hop
that the store accepts and gives back, no rule that crashes).
"""

from __future__ import annotations

import base64
import json
import string
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmproxy import connection, http
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import tflow

from oauthtrace.analysis import jwt
from oauthtrace.analysis.engine import analyze
from oauthtrace.flows import hop_from_flow
from oauthtrace.model import Hop
from oauthtrace.params import (
    base_url, fragment_pairs, host, is_loopback, origin, parse_pairs, path, query_pairs, raw_query_value,
)
from oauthtrace.store import Store

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- URL and parameter parsing ------------------------------------------------------------------------------------

url_text = st.one_of(
    st.text(max_size=200),
    st.builds(lambda scheme, authority, rest: f"{scheme}://{authority}{rest}",
              st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
              st.text(alphabet=string.printable + "[]:@é\u0000", max_size=40),
              st.text(max_size=80)),
)


@FUZZ
@given(url_text)
def test_url_helpers_never_raise_and_give_strings(url):
    for pairs in (query_pairs(url), fragment_pairs(url), parse_pairs(url)):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in pairs)
    for text in (base_url(url), origin(url), host(url), path(url)):
        assert isinstance(text, str)
    assert isinstance(is_loopback(url), bool)
    assert raw_query_value(url, "state") is None or isinstance(raw_query_value(url, "state"), str)


pair = st.tuples(st.text(min_size=1, max_size=15), st.text(max_size=30))


@FUZZ
@given(st.lists(pair, max_size=8))
def test_form_pairs_come_back_in_order_with_duplicates_after_one_decode(pairs):
    assert parse_pairs(urlencode(pairs)) == pairs


@FUZZ
@given(st.lists(pair, max_size=8), st.lists(pair, max_size=4))
def test_query_and_fragment_are_read_apart(query, fragment):
    url = f"https://c.example/cb?{urlencode(query)}#{urlencode(fragment)}"
    assert query_pairs(url) == query
    assert fragment_pairs(url) == fragment


@FUZZ
@given(st.text(min_size=1, max_size=30))
def test_a_value_is_decoded_exactly_once(value):
    once = quote(value, safe="")
    assert query_pairs(f"https://a.example/?state={quote(once, safe='')}") == [("state", once)]


# -- JWT decoding --------------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=6)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@FUZZ
@given(st.one_of(st.text(max_size=300), st.binary(max_size=50), st.integers(), st.none(), json_values,
                 st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.text(max_size=40), st.text(max_size=40),
                           st.text(max_size=10))))
def test_jwt_decode_never_raises(token):
    decoded = jwt.decode(token)
    assert decoded is None or (isinstance(decoded.header, dict) and isinstance(decoded.claims, dict))
    assert jwt.looks_like_jwt(token) == (decoded is not None)
    if isinstance(token, str):
        assert jwt.b64url_decode(token) is None or isinstance(jwt.b64url_decode(token), bytes)


@FUZZ
@given(json_objects, json_objects, st.text(alphabet=string.ascii_letters + "-_", max_size=40))
def test_jwt_header_and_claims_come_back(header, claims, signature):
    token = ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), signature])
    decoded = jwt.decode(token)
    assert decoded is not None
    assert (decoded.header, decoded.claims, decoded.signature) == (header, claims, signature)


@FUZZ
@given(st.binary(max_size=60), st.binary(max_size=60))
def test_jwt_with_parts_that_are_not_json_objects_is_none(header, claims):
    token = f"{_b64(header)}.{_b64(claims)}.sig"
    decoded = jwt.decode(token)
    if decoded is not None:
        assert json.loads(header) == decoded.header and json.loads(claims) == decoded.claims


# -- mitmproxy flow -> hop ----------------------------------------------------------------------------------------

header_bytes = st.binary(min_size=1, max_size=20).filter(lambda b: b"\r" not in b and b"\n" not in b and b":" not in b)
encodings = st.sampled_from([b"gzip", b"br", b"zstd", b"deflate", b"identity", b"x-unknown", b"gzip, br"])
content_types = st.sampled_from([b"application/x-www-form-urlencoded", b"application/json", b"text/html",
                                 b"text/event-stream", b"application/octet-stream", b"\xff\xfe"])


@st.composite
def flows(draw):
    flow = tflow.tflow(resp=draw(st.booleans()), err=draw(st.booleans()))
    request = flow.request
    request.method = draw(st.sampled_from(["GET", "POST", "PUT", "OPTIONS", "CONNECT", "WEIRD"]))
    request.host = draw(st.sampled_from(["as.example", "127.0.0.1", "::1", "xn--caf-dma.example", "a" * 70]))
    request.port = draw(st.integers(1, 65535))
    request.scheme = draw(st.sampled_from(["http", "https"]))
    request.path = draw(st.text(max_size=80)).encode("utf-8", "surrogateescape").decode("latin-1") or "/"
    request.http_version = draw(st.sampled_from(["HTTP/1.1", "HTTP/2.0", "HTTP/1.0"]))
    request.headers.clear()
    for name, value in draw(st.lists(st.tuples(header_bytes, st.binary(max_size=30)), max_size=5)):
        request.headers.add(name, value)
    if draw(st.booleans()):
        request.headers[b"content-type"] = draw(content_types)
    if draw(st.booleans()):
        request.headers[b"content-encoding"] = draw(encodings)
    request.raw_content = draw(st.one_of(st.none(), st.binary(max_size=300)))
    if flow.response is not None:
        response = flow.response
        response.status_code = draw(st.integers(100, 599))
        response.headers.clear()
        for name, value in draw(st.lists(st.tuples(header_bytes, st.binary(max_size=30)), max_size=5)):
            response.headers.add(name, value)
        if draw(st.booleans()):
            response.headers[b"location"] = draw(st.binary(max_size=60))
        if draw(st.booleans()):
            response.headers[b"content-encoding"] = draw(encodings)
        response.raw_content = draw(st.one_of(st.none(), st.binary(max_size=300)))
    if draw(st.booleans()):
        flow.client_conn.proxy_mode = ProxyMode.parse("reverse:https://as.example@8081")
        flow.client_conn.sockname = draw(st.sampled_from([("127.0.0.1", 8081), ("::1", 443), None]))
    if draw(st.booleans()):
        flow.client_conn.peername = None
    return flow


@FUZZ
@given(flows(), st.integers(1, 400))
def test_any_flow_becomes_a_hop_that_the_store_keeps(flow, cap):
    hop = hop_from_flow(flow, trace_id=1, seq=1, body_cap=cap)
    for body, cut in ((hop.req_body, hop.req_truncated), (hop.resp_body, hop.resp_truncated)):
        assert body is None or len(body) <= cap
        if cut:
            assert len(body) == cap, "a body flagged as cut holds exactly the cap"
    with Store.open(":memory:") as store:
        trace_id = store.create_trace("fuzz")
        hop.trace_id = trace_id
        store.insert_hops([hop])
        [back] = store.hops(trace_id)
    assert (back.url, back.query, back.req_headers, back.resp_headers, back.form, back.error) == (
        hop.url, hop.query, hop.req_headers, hop.resp_headers, hop.form, hop.error)
    assert (back.req_body, back.resp_body) == (hop.req_body, hop.resp_body)


# -- the analysis over random hops --------------------------------------------------------------------------------

OAUTH_KEYS = ["state", "code", "client_id", "redirect_uri", "response_type", "scope", "code_challenge",
              "code_challenge_method", "code_verifier", "grant_type", "error", "error_description", "nonce",
              "id_token", "access_token", "token_type", "expires_in", "refresh_token", "iss", "resource",
              "request_uri", "response_mode", "client_secret", "prompt"]
ORIGINS = ["https://as.example", "https://chat.openai.com", "http://127.0.0.1:8080", "https://rs.example",
           "https://claude.ai"]
PATHS = ["/authorize", "/oauth2/authorize", "/token", "/oauth/token", "/aip/p-1/oauth/callback", "/callback",
         "/api/mcp/auth_callback", "/login", "/consent", "/.well-known/openid-configuration",
         "/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource", "/register",
         "/userinfo", "/mcp", "/par", "/revoke", "/introspect", "/"]
VALUES = ["", "S256", "plain", "code", "token", "id_token", "code id_token", "authorization_code",
          "refresh_token", "https://chat.openai.com/aip/p-1/oauth/callback", "https://as.example", "openid profile",
          "Bearer", "bearer", "3600", "access_denied", "form_post", "fragment", "state-1", "code-1", "client-1"]

values = st.one_of(st.sampled_from(VALUES), st.text(max_size=20))
params = st.lists(st.tuples(st.one_of(st.sampled_from(OAUTH_KEYS), st.text(max_size=6)), values), max_size=7)
tokens = st.builds(lambda h, c: f"{_b64(json.dumps(h).encode())}.{_b64(json.dumps(c).encode())}.sig",
                   json_objects, st.fixed_dictionaries({}, optional={k: json_values for k in
                                                                     ["iss", "aud", "nonce", "exp", "sub", "azp"]}))
json_bodies = st.dictionaries(st.sampled_from(OAUTH_KEYS + ["issuer", "authorization_endpoint", "token_endpoint",
                                                            "resource", "authorization_servers",
                                                            "code_challenge_methods_supported",
                                                            "response_types_supported"]),
                              st.one_of(json_values, tokens, st.sampled_from(VALUES + ORIGINS)), max_size=8)


@st.composite
def hop_lists(draw):
    hops = []
    for seq in range(1, draw(st.integers(1, 8)) + 1):
        url = draw(st.sampled_from(ORIGINS)) + draw(st.sampled_from(PATHS))
        query = draw(params)
        if query:
            url += "?" + urlencode(query)
        if draw(st.booleans()):
            url += "#" + urlencode(draw(params))
        hop = Hop(trace_id=1, seq=seq, method=draw(st.sampled_from(["GET", "POST"])), url=url,
                  started=1000.0 + seq, ended=1000.5 + seq, query=query_pairs(url),
                  listener=draw(st.sampled_from(["browser", "reverse:https://as.example@8081"])),
                  status=draw(st.sampled_from([200, 201, 302, 303, 307, 400, 401, 403, 500, None])))
        hop.req_headers = draw(st.lists(st.tuples(
            st.sampled_from(["Authorization", "Content-Type", "Referer", "Cookie", "Origin", "DPoP", "X-Other"]),
            st.one_of(values, st.builds(lambda t: "Bearer " + t, tokens),
                      st.builds(lambda b: "Basic " + base64.b64encode(b).decode(), st.binary(max_size=30)))),
            max_size=4))
        if hop.method == "POST" and draw(st.booleans()):
            form = draw(params)
            hop.form = form
            hop.req_body = urlencode(form).encode()
            hop.req_headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        kind = draw(st.sampled_from(["none", "json", "form", "html", "binary"]))
        if kind == "json":
            hop.resp_body = json.dumps(draw(json_bodies)).encode()
            hop.resp_headers.append(("Content-Type", draw(st.sampled_from(["application/json", "text/plain"]))))
        elif kind == "form":
            hop.resp_body = urlencode(draw(params)).encode()
            hop.resp_headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        elif kind == "html":
            fields = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in draw(params))
            action = draw(st.sampled_from(ORIGINS)) + draw(st.sampled_from(PATHS))
            hop.resp_body = f'<form method="post" action="{action}">{fields}</form>'.encode()
            hop.resp_headers.append(("Content-Type", "text/html"))
        elif kind == "binary":
            hop.resp_body = draw(st.binary(max_size=60))
        if hop.status in (302, 303, 307) or draw(st.booleans()):
            target = draw(st.sampled_from(ORIGINS)) + draw(st.sampled_from(PATHS))
            hop.location = target + "?" + urlencode(draw(params))
            hop.resp_headers.append(("Location", hop.location))
        if draw(st.booleans()):
            hop.resp_headers.append(("WWW-Authenticate", draw(st.sampled_from(
                ['Bearer error="invalid_token"', 'Basic realm="x"', 'Bearer resource_metadata="https://rs.example/x"',
                 "Bearer", ""]))))
        if hop.status is None:
            hop.error = draw(st.sampled_from(["Client disconnected.", "server closed connection"]))
        hops.append(hop)
    return hops


@FUZZ
@given(hop_lists(), st.sampled_from([None, "oauth2", "oauth21", "oidc", "mcp", "chatgpt"]))
def test_the_analysis_runs_every_rule_over_random_hops_without_a_crash(hops, profile):
    from oauthtrace.analysis.profiles import check_profile

    try:
        check_profile(profile)
    except ValueError:
        profile = None
    report = analyze(hops, trace_id=1, profile=profile)
    crashed = [f"{n.rule}: {n.reason}" for n in report.not_evaluated if n.reason.startswith("rule failed")]
    assert not crashed
    for finding in report.findings:
        json.dumps(finding.as_dict(), default=str)  # what `check --format json` prints
