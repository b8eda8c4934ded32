"""Family H (client authentication): each rule fires at the token request at fault and stays quiet when the
client authenticates the way it registered; secrets never show in messages or evidence."""

from __future__ import annotations

import pytest

import base64
import json

from hops import (
    CLIENT_ID, CLIENT_SECRET, PROVIDER, assert_registered, exchange_of, flow, make_hop, metadata_hop, rule_hits,
)
from oauthtrace.analysis.rules import client_auth  # noqa: F401  registers family H
from oauthtrace.model import Exchange


def basic(user: str, password: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())


def registration(seq=40, method="client_secret_post", client_id=CLIENT_ID, secret=True):
    response = {"client_id": client_id, "redirect_uris": ["https://chat.openai.com/aip/p-1/oauth/callback"],
                "token_endpoint_auth_method": method}
    if secret:
        response["client_secret"] = CLIENT_SECRET
    return make_hop(seq, "POST", f"{PROVIDER}/register", started=950.0, status=201,
                    json_body={"redirect_uris": response["redirect_uris"], "token_endpoint_auth_method": method},
                    resp_json=response)


def no_secret_anywhere(hit) -> None:
    assert CLIENT_SECRET not in hit.message
    assert CLIENT_SECRET not in json.dumps(hit.evidence)


def test_rules_are_registered_with_catalogue_metadata():
    expected = {"client-auth-multiple": ("error", "C", "B"), "client-auth-method-mismatch": ("warning", "C", "B+M"),
                "client-secret-in-url": ("error", "C", "F/B"), "public-client-secret": ("error", "C", "B+M"),
                "basic-auth-encoding": ("warning", "C", "B")}
    assert_registered("H", expected, spec_starts="RFC")


# client-auth-multiple

def test_basic_and_body_secret_together_fire_at_the_token_request():
    f = flow(client_auth="basic", extra_token=[("client_secret", CLIENT_SECRET)])
    [hit] = rule_hits("client-auth-multiple", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence["methods"] == ["client_secret_basic", "client_secret_post"]
    assert "client_secret_basic + client_secret_post" in hit.message
    no_secret_anywhere(hit)


def test_basic_and_client_assertion_together_fire():
    f = flow(client_auth="basic", extra_token=[
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", "not.a-jwt.really")])
    [hit] = rule_hits("client-auth-multiple", exchange_of(f))
    assert hit.evidence["methods"][0] == "client_secret_basic"
    assert len(hit.evidence["methods"]) == 2


def test_single_method_is_quiet():
    assert rule_hits("client-auth-multiple", exchange_of(flow(client_auth="basic"))) == []
    assert rule_hits("client-auth-multiple", exchange_of(flow(client_auth="post"))) == []


def test_empty_body_secret_with_basic_counts_as_one_method():
    f = flow(client_auth="basic", extra_token=[("client_secret", "")])  # sent without a value = omitted
    assert rule_hits("client-auth-multiple", exchange_of(f)) == []


# client-auth-method-mismatch

def test_body_secret_when_metadata_lists_only_basic_is_a_warning():
    f = flow(client_auth="post")
    meta = metadata_hop(40, token_endpoint_auth_methods_supported=["client_secret_basic"])
    [hit] = rule_hits("client-auth-method-mismatch", exchange_of(f, metadata=[meta]))
    assert hit.hop is f.token
    assert hit.severity is None  # warning, the default
    assert hit.evidence["used"] == "client_secret_post"
    assert hit.evidence["supported"] == ["client_secret_basic"]
    assert "∌ token request uses client_secret_post" in hit.message


def test_metadata_without_the_field_defaults_to_basic_and_invalid_client_escalates():
    f = flow(client_auth="post", token_status=401, token_json={"error": "invalid_client"})
    [hit] = rule_hits("client-auth-method-mismatch", exchange_of(f, metadata=[metadata_hop(40)]))
    assert hit.severity == "error"
    assert hit.evidence["supported"] == ["client_secret_basic"]
    assert hit.evidence["invalid_client"] is True


def test_method_other_than_registered_fires_against_the_registration():
    f = flow(client_auth="basic")
    reg = registration(method="client_secret_post")
    [hit] = rule_hits("client-auth-method-mismatch", exchange_of(f, registrations=[reg]), extra_hops=[reg])
    assert hit.evidence == {"used": "client_secret_basic", "registered": "client_secret_post",
                            "invalid_client": False}
    assert hit.message == ("registration.token_endpoint_auth_method = client_secret_post ≠ token request uses "
                           "client_secret_basic")


def test_advertised_and_registered_method_is_quiet():
    f = flow(client_auth="post")
    meta = metadata_hop(40, token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"])
    reg = registration(method="client_secret_post")
    assert rule_hits("client-auth-method-mismatch", exchange_of(f, metadata=[meta], registrations=[reg])) == []


def test_method_mismatch_without_metadata_or_registration_says_nothing():
    assert rule_hits("client-auth-method-mismatch", exchange_of(flow(client_auth="post"))) == []


# client-secret-in-url

def test_client_secret_in_token_url_query_fires_without_showing_it():
    f = flow(token_url=f"{PROVIDER}/token?client_secret={CLIENT_SECRET}")
    [hit] = rule_hits("client-secret-in-url", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence == {"param": "client_secret", "in": "query", "length": len(CLIENT_SECRET)}
    no_secret_anywhere(hit)


def test_client_secret_in_authorize_url_fires_at_authorize():
    f = flow(extra_authorize=[("client_secret", CLIENT_SECRET)])
    [hit] = rule_hits("client-secret-in-url", exchange_of(f))
    assert hit.hop is f.authorize


def test_client_secret_in_body_is_quiet():
    assert rule_hits("client-secret-in-url", exchange_of(flow(client_auth="post"))) == []


# public-client-secret

def test_public_registration_sending_a_secret_fires():
    f = flow(client_auth="post")
    reg = registration(method="none", secret=False)
    [hit] = rule_hits("public-client-secret", exchange_of(f, registrations=[reg]))
    assert hit.hop is f.token
    assert hit.evidence["registered"] == "none"
    assert hit.evidence["methods"] == ["client_secret_post"]
    no_secret_anywhere(hit)


def test_public_registration_sending_only_client_id_is_quiet():
    f = flow(client_auth="none")
    reg = registration(method="none", secret=False)
    assert rule_hits("public-client-secret", exchange_of(f, registrations=[reg])) == []


def test_confidential_registration_without_authentication_fires():
    f = flow(client_auth="none")
    reg = registration(method="client_secret_basic")
    [hit] = rule_hits("public-client-secret", exchange_of(f, registrations=[reg]))
    assert hit.evidence["registered"] == "client_secret_basic"
    assert hit.evidence["methods"] == []


def test_unauthenticated_token_request_without_client_id_fires():
    f = flow(client_auth="none", token_client_id=None)
    [hit] = rule_hits("public-client-secret", exchange_of(f))
    assert hit.hop is f.token
    assert hit.message == "unauthenticated token request: client_id = ∅"


def test_registration_found_elsewhere_in_the_trace_by_role():
    f = flow(client_auth="post")
    reg = registration(seq=99, method="none", secret=False)
    [hit] = rule_hits("public-client-secret", exchange_of(f), extra_hops=[reg], roles={99: "registration"})
    assert hit.evidence["registered"] == "none"


# basic-auth-encoding

def test_raw_colon_in_client_id_fires():
    f = flow(client_id="tenant:app", client_auth="none")
    f.token.req_headers.append(basic("tenant:app", "s3cret"))
    [hit] = rule_hits("basic-auth-encoding", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence == {"field": "client_id", "unescaped": [":"]}
    assert "client_id = tenant:app" in hit.message


def test_raw_slash_and_equals_in_secret_fire_without_the_secret():
    f = flow(client_auth="none")
    f.token.req_headers.append(basic(CLIENT_ID, "ab/cd=ef"))
    [hit] = rule_hits("basic-auth-encoding", exchange_of(f))
    assert hit.evidence == {"field": "client_secret", "unescaped": ["/", "="]}
    assert "ab/cd=ef" not in hit.message


def test_form_encoded_credentials_are_quiet():
    f = flow(client_id="tenant:app", client_auth="none")
    f.token.req_headers.append(basic("tenant%3Aapp", "ab%2Fcd%3Def+gh"))
    assert rule_hits("basic-auth-encoding", exchange_of(f)) == []
    assert rule_hits("basic-auth-encoding", exchange_of(flow(client_auth="basic"))) == []


def test_junk_basic_header_does_not_raise():
    for junk in ("Basic", "Basic !!!notbase64***", "Basic " + base64.b64encode(b"\xff\xfe:\x80").decode(),
                 "Basic " + base64.b64encode(b"no-colon-at-all").decode()):
        f = flow(client_auth="none")
        f.token.req_headers.append(("Authorization", junk))
        ex = exchange_of(f)
        for rule_id in ("basic-auth-encoding", "client-auth-multiple", "client-auth-method-mismatch",
                        "public-client-secret", "client-secret-in-url"):
            list(rule_hits(rule_id, ex))


def test_non_utf8_and_non_json_token_bodies_do_not_raise():
    f = flow(client_auth="none")
    f.token.req_body = b"\xff\xfe{not json"
    f.token.req_headers.append(("Content-Type", "application/json"))
    f.token.form = []
    f.token.resp_body = b"\x80\x81"
    for rule_id in ("basic-auth-encoding", "client-auth-multiple", "client-auth-method-mismatch",
                    "public-client-secret", "client-secret-in-url"):
        list(rule_hits(rule_id, exchange_of(f, metadata=[metadata_hop(40)])))


@pytest.mark.parametrize("profile", ["gpt-actions", "chatgpt"])  # the engine's name, and the old one kept as alias
def test_gpt_actions_profile_softens_a_working_mismatch_but_not_a_rejected_one(profile):
    meta = metadata_hop(40, token_endpoint_auth_methods_supported=["client_secret_basic"])
    working = flow(client_auth="post")
    [hit] = rule_hits("client-auth-method-mismatch", exchange_of(working, metadata=[meta]), profile=profile)
    assert hit.severity == "info"
    rejected = flow(client_auth="post", token_status=401, token_json={"error": "invalid_client"})
    [hit] = rule_hits("client-auth-method-mismatch", exchange_of(rejected, metadata=[meta]), profile=profile)
    assert (hit.severity, hit.blame) == ("error", "AS")


def test_a_redacted_export_lints_like_the_original():
    from oauthtrace.interchange.redact import Redactor

    for f in (flow(client_auth="basic"), flow(client_auth="basic", extra_token=[("client_secret", CLIENT_SECRET)]),
              flow(token_url=f"{PROVIDER}/token?client_secret={CLIENT_SECRET}")):
        redacted = Redactor(f).hops(f)
        ex = Exchange(index=0, hops=redacted, authorize=redacted[0], authz_response=redacted[2],
                      callback=redacted[3], tokens=[redacted[4]])
        for rule_id in ("basic-auth-encoding", "client-auth-multiple", "client-secret-in-url"):
            original = [(hit.hop.seq, hit.message.split(" ")[0]) for hit in rule_hits(rule_id, exchange_of(f))]
            assert [(hit.hop.seq, hit.message.split(" ")[0]) for hit in rule_hits(rule_id, ex)] == original
            assert all(CLIENT_SECRET not in hit.message for hit in rule_hits(rule_id, ex))


def test_client_id_with_a_literal_percent_sent_raw_fires():
    f = flow(client_id="app%41", client_auth="none")  # the client_id really contains "%41"
    f.token.req_headers.append(basic("app%41", "s3cret"))
    [hit] = rule_hits("basic-auth-encoding", exchange_of(f))
    assert hit.evidence == {"field": "client_id", "unescaped": ["%"]}


def test_client_id_with_a_raw_slash_fires_when_nothing_else_names_it():
    f = flow(client_id=None, client_auth="none")
    f.token.req_headers.append(basic("apps/one", "s3cret"))
    [hit] = rule_hits("basic-auth-encoding", exchange_of(f))
    assert hit.evidence == {"field": "client_id", "unescaped": ["/"]}
    assert "client_id = apps/one" in hit.message
