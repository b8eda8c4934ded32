"""Family K (transport): OAuth endpoints over plain http are errors, loopback never is."""

from __future__ import annotations

from hops import CLIENT_SECRET, exchange_of, flow, hits_by_exchange, make_hop, rule_hits
from oauthtrace.analysis.registry import RULES
from oauthtrace.analysis.rules import transport  # noqa: F401  registers family K


def run(*exchanges, **kwargs):
    return hits_by_exchange("insecure-endpoint", *exchanges, **kwargs)


def hits(*exchanges, **kwargs):
    return rule_hits("insecure-endpoint", *exchanges, **kwargs)


def test_rule_is_registered_with_catalogue_metadata():
    registered = RULES["insecure-endpoint"]
    assert (registered.family, registered.severity, registered.blame, registered.needs) == ("K", "error", "AS",
                                                                                           "F/B/M")
    assert registered.spec.startswith("RFC 6749") and registered.quote and registered.fix


def test_http_provider_reports_authorize_and_token_with_the_secret_sent_in_clear():
    f = flow(provider="http://auth.example.com")
    found = hits(exchange_of(f))
    assert [hit.hop for hit in found] == [f.authorize, f.token]
    assert found[0].evidence == {"url": "http://auth.example.com/authorize", "role": "authorize", "credentials": []}
    assert found[1].evidence["credentials"] == ["client_secret", "code"]
    assert found[1].message == ("token endpoint = http://auth.example.com/token (http, not loopback); "
                                "sent in clear: client_secret, code")
    assert CLIENT_SECRET not in found[1].message


def test_https_and_loopback_providers_are_quiet():
    assert hits(exchange_of(flow())) == []
    for provider in ("http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:9000", "http://127.1.2.3"):
        assert hits(exchange_of(flow(provider=provider))) == [], provider


def test_reverse_proxy_hop_is_judged_by_the_providers_upstream_url():
    f = flow()
    f.token.url = "http://127.0.0.1:8081/token"
    f.token.upstream_url = "http://auth.example.com/token"
    [hit] = hits(exchange_of(f))
    assert hit.hop is f.token and hit.evidence["url"] == "http://auth.example.com/token"
    f.token.upstream_url = "https://auth.example.com/token"
    assert hits(exchange_of(f)) == []


def test_http_mcp_resource_is_blamed_on_the_resource_server():
    f = flow()
    call = make_hop(30, "POST", "http://mcp.example.com/mcp", req_headers=[("Authorization", "Bearer at-1")])
    [hit] = hits(exchange_of(f, resources=[call]))
    assert hit.hop is call and hit.blame == "RS"
    assert hit.evidence["credentials"] == ["Authorization: Bearer"]


def test_a_metadata_hop_shared_or_unclaimed_is_reported_once():
    meta = make_hop(40, "GET", "http://auth.example.com/.well-known/oauth-authorization-server",
                    resp_json={"issuer": "http://auth.example.com"})
    first, second = exchange_of(flow(), 0, metadata=[meta]), exchange_of(flow(seq=20, t0=2000.0), 1, metadata=[meta])
    assert [(index, hit.hop.seq) for index, hit in run(first, second)] == [(0, 40)]
    orphan = make_hop(90, "POST", "http://auth.example.com/register", json_body={"redirect_uris": []})
    found = run(exchange_of(flow(), 0), exchange_of(flow(seq=20, t0=2000.0), 1), extra_hops=[orphan],
                roles={90: "registration"})
    assert [(index, hit.hop.seq, hit.evidence["role"]) for index, hit in found] == [(0, 90, "registration")]


def test_unparsable_urls_do_not_raise():
    f = flow()
    f.authorize.url = "http://[::1"
    f.token.url = "\udcff://x"
    assert isinstance(hits(exchange_of(f)), list)


def test_basic_credentials_over_http_are_named():
    f = flow(provider="http://auth.example.com", client_auth="basic")
    token_hit = [hit for hit in hits(exchange_of(f)) if hit.hop is f.token][0]
    assert token_hit.evidence["credentials"] == ["Authorization: Basic", "code"]
