"""Family L (scope): omitted or empty scope, malformed scope strings, a scope set that changes on reconnect."""

from __future__ import annotations

from hops import exchange_of, flow, hits_by_exchange, rule_hits
from oauthtrace.analysis.registry import RULES
from oauthtrace.analysis.rules import scope


def test_rules_are_registered_with_catalogue_metadata():
    for rule_id, severity in (("scope-omitted", "info"), ("scope-format", "warning")):
        registered = RULES[rule_id]
        assert (registered.family, registered.severity, registered.blame, registered.needs) == (
            "L", severity, "C", "F")
        assert registered.spec.startswith("RFC 6749 §3.3") or "§3.3" in registered.spec
        assert registered.quote and registered.fix


# scope-omitted

def test_authorize_without_scope_is_info_at_authorize():
    f = flow(scope=None)
    [hit] = rule_hits("scope-omitted", exchange_of(f))
    assert hit.hop is f.authorize
    assert hit.severity is None  # info, the default
    assert hit.message == "authorize.scope = ∅"


def test_empty_scope_counts_as_omitted():
    f = flow(scope="")
    [hit] = rule_hits("scope-omitted", exchange_of(f))
    assert hit.message == "authorize.scope= (empty, counts as omitted)"
    assert hit.evidence == {"param": "scope", "sent": None}


def test_provider_failing_with_invalid_scope_instead_of_a_default_is_its_warning():
    f = flow(scope=None, error="invalid_scope")
    [hit] = rule_hits("scope-omitted", exchange_of(f))
    assert hit.hop is f.authz_response
    assert (hit.severity, hit.blame) == ("warning", "AS")
    assert hit.evidence["error"] == "invalid_scope"


def test_scope_present_is_quiet():
    assert rule_hits("scope-omitted", exchange_of(flow(scope="read"))) == []


def test_pushed_request_is_not_judged():
    f = flow(scope=None, extra_authorize=[("request_uri", "urn:ietf:params:oauth:request_uri:x")])
    assert rule_hits("scope-omitted", exchange_of(f)) == []


# scope-format

def test_comma_separated_scopes_fire_at_authorize():
    f = flow(scope="read,write")
    [hit] = rule_hits("scope-format", exchange_of(f))
    assert hit.hop is f.authorize
    assert hit.evidence["problems"] == ["comma-separated (scopes are space-delimited)"]
    assert hit.message.startswith("authorize.scope = 'read,write'")


def test_duplicates_bad_characters_and_double_spaces_are_named():
    assert scope.format_problems('read  write') == ["empty scope token (leading, trailing or double space)"]
    assert scope.format_problems('read read') == ["duplicated: read"]
    assert scope.format_problems('read "write"') == ["characters outside NQCHAR: '\"'"]
    assert scope.format_problems("caf\ufffd\t") == ["characters outside NQCHAR: U+0009 U+FFFD"]


def test_valid_scope_strings_are_quiet():
    for value in ("openid profile email", "https://graph.example.com/.default offline_access", "a:b/c#d"):
        assert scope.format_problems(value) == [], value
    assert rule_hits("scope-format", exchange_of(flow(scope="read write"))) == []


def test_token_request_scope_is_checked_too():
    f = flow(extra_token=[("scope", "read,write")])
    [hit] = rule_hits("scope-format", exchange_of(f))
    assert hit.hop is f.token and hit.message.startswith("token.scope")


def test_scope_set_changing_on_reconnect_is_info():
    first = flow(scope="read write")
    again = flow(scope="read", seq=20, t0=3000.0, state="another-state-value-0123456789")
    found = hits_by_exchange("scope-format", exchange_of(first, 0), exchange_of(again, 1))
    assert len(found) == 1
    index, hit = found[0]
    assert index == 1 and hit.hop is again.authorize and hit.severity == "info"
    assert (hit.evidence["added"], hit.evidence["removed"]) == ([], ["write"])


def test_same_scope_set_in_another_order_is_quiet():
    first = flow(scope="read write")
    again = flow(scope="write read", seq=20, t0=3000.0, state="another-state-value-0123456789")
    assert hits_by_exchange("scope-format", exchange_of(first, 0), exchange_of(again, 1)) == []


def test_engine_reports_chatgpt_empty_scope_as_info():
    from hops import findings

    [finding] = findings(list(flow(scope="")), "scope-omitted")
    assert (finding.severity, finding.blame, finding.hop) == ("info", "C", 1)
