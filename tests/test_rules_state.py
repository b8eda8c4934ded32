"""Family A: state / CSRF. Each rule fires on its fault and stays quiet on the same shape done right."""

from __future__ import annotations

import base64
import json

import pytest

from hops import STATE, flow, findings, interleave, make_hop, metadata_hop, sequential
from oauthtrace.analysis.rules.state import readable_data


def only(hops, rule, **kwargs):
    return findings(hops, rule, **kwargs)


# state-dropped

def test_state_dropped_points_at_the_providers_redirect():
    f = flow(returned_state=None)
    [finding] = only(f, "state-dropped")
    assert finding.hop == f.login_post.seq, "the provider response whose Location lost state, not the callback"
    assert finding.severity == "error" and finding.blame == "AS"
    assert finding.message == "authorize.state = 6ca9HZ… → callback.state = ∅"
    assert finding.evidence == {"param": "state", "sent": STATE, "returned": None, "response": "code",
                                "mode": "query"}
    assert "4.1.2" in finding.spec


def test_state_dropped_on_an_error_response():
    f = flow(error="access_denied", returned_state=None, login=False)
    [finding] = only(f, "state-dropped")
    assert finding.hop == f.authorize.seq and finding.evidence["response"] == "error"


def test_state_dropped_in_form_post_and_fragment():
    for mode in ("form_post", "fragment"):
        f = flow(response_mode=mode, returned_state=None, back_channel=mode == "form_post")
        [finding] = only(f, "state-dropped")
        assert finding.hop == f.login_post.seq and finding.evidence["mode"] == mode


def test_empty_state_counts_as_dropped():
    f = flow(returned_state="")
    assert [x.rule for x in only(f, "state-dropped")] == ["state-dropped"]


def test_state_echoed_is_quiet():
    assert only(flow(), "state-dropped") == []
    assert only(flow(error="access_denied"), "state-dropped") == []
    assert only(flow(response_mode="form_post"), "state-dropped") == []


def test_no_state_sent_nothing_to_drop():
    assert only(flow(state=None), "state-dropped") == []


# state-altered

@pytest.mark.parametrize("returned,how", [
    (STATE[:12], "truncated"),
    (STATE.lower(), "case changed"),
    ("a%2Bb%2Fc" + STATE, "double-encoded"),
])
def test_state_altered_says_how(returned, how):
    sent = "a+b/c" + STATE if how == "double-encoded" else STATE
    f = flow(state=sent, returned_state=returned)
    [finding] = only(f, "state-altered")
    assert finding.hop == f.login_post.seq
    assert finding.evidence["difference"] == how and how in finding.message
    assert finding.evidence["sent"] == sent and finding.evidence["returned"] == returned


def test_state_altered_plus_vs_space():
    f = flow(state="ab+cd" + STATE, returned_state="ab cd" + STATE)
    [finding] = only(f, "state-altered")
    assert finding.evidence["difference"] == "'+' vs '%20'"


def test_state_from_another_flow():
    a = flow(state="A" * 32, code="codeA" * 5)
    b = flow(state="B" * 32, code="codeB" * 5, returned_state="A" * 32, t0=1000.4)
    hops = interleave(a, b)
    altered = only(hops, "state-altered")
    assert [(x.exchange, x.hop, x.evidence["difference"]) for x in altered] == [
        (2, b.login_post.seq, "another flow's value")]


def test_state_altered_between_provider_and_client():
    f = flow()
    f.callback.url = f.callback.url.replace(STATE, STATE[:-4])
    f.callback.query = [(k, STATE[:-4] if k == "state" else v) for k, v in f.callback.query]
    [finding] = only(f, "state-altered")
    assert finding.hop == f.callback.seq and finding.blame == "either"


def test_state_identical_is_quiet():
    assert only(flow(), "state-altered") == []
    assert only(flow(state="a b+c" + STATE), "state-altered") == []  # urlencode round trip: identical


# state-unsolicited

def test_state_returned_although_none_sent():
    f = flow(state=None, returned_state="zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
    [finding] = only(f, "state-unsolicited")
    assert finding.hop == f.login_post.seq and finding.severity == "warning"
    assert finding.evidence["sent"] is None


def test_callback_state_matching_no_request():
    f = flow()
    stray = flow(state="Q" * 32, code="stray" * 5, t0=2000)
    hops = list(f) + [stray.callback]
    stray.callback.seq = 99
    [finding] = only(hops, "state-unsolicited")
    assert finding.hop == 99


def test_unsolicited_quiet_when_sent_or_when_recording_started_mid_flow():
    assert only(flow(), "state-unsolicited") == []
    f = flow()
    assert only([f.callback, f.token], "state-unsolicited") == []  # no authorization request recorded at all


# state-missing

def test_state_missing_without_pkce_or_nonce_is_an_error():
    f = flow(state=None)
    [finding] = only(f, "state-missing")
    assert finding.hop == f.authorize.seq and finding.severity == "error" and finding.blame == "C"


def test_state_missing_with_advertised_pkce_is_info():
    f = flow(state=None, pkce=True)
    hops = [metadata_hop(90)] + list(f)
    [finding] = only(hops, "state-missing")
    assert finding.severity == "info"


def test_state_missing_with_unadvertised_pkce_is_a_warning():
    [finding] = only(flow(state=None, pkce=True), "state-missing")
    assert finding.severity == "warning"


def test_state_present_is_quiet():
    assert only(flow(), "state-missing") == []


def test_state_inside_a_pushed_request_counts():
    f = flow(state=None, authorize_url="https://auth.example.com/authorize?client_id=plugin-client"
                                       "&request_uri=urn%3Apar%3A1")
    par = make_hop(80, "POST", "https://auth.example.com/par", started=999, listener="reverse:x",
                   form=[("response_type", "code"), ("client_id", "plugin-client"), ("state", STATE)],
                   status=201, resp_json={"request_uri": "urn:par:1", "expires_in": 60})
    assert only([par] + list(f), "state-missing") == []


# state-low-entropy

def test_short_state_is_an_error():
    f = flow(state="abcd")
    [finding] = only(f, "state-low-entropy")
    assert finding.severity == "error" and finding.evidence["length"] == 4 and finding.hop == f.authorize.seq


def test_numeric_state_is_a_warning():
    [finding] = only(flow(state="1234567890123456"), "state-low-entropy")
    assert finding.severity == "warning" and finding.evidence["estimated_bits"] < 128


def test_random_states_are_quiet():
    for state in (STATE, "f" * 0 + "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d", "0123456789abcdef" * 2,
                  base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")):
        assert only(flow(state=state), "state-low-entropy") == [], state


# state-reused

def test_same_state_in_two_authorization_requests():
    hops = sequential(flow(code="c1" * 10), flow(code="c2" * 10))
    [finding] = only(hops, "state-reused")
    assert finding.exchange == 2 and finding.severity == "error"
    assert finding.evidence["first_exchange"] == 1


def test_callback_replayed_with_consumed_state():
    f = flow()
    again = make_hop(70, "GET", f.callback.url, started=f.callback.started + 10, content_type="text/html")
    [finding] = only(list(f) + [again], "state-reused")
    assert finding.hop == 70 and finding.severity == "warning"


def test_fresh_states_are_quiet():
    hops = sequential(flow(state="A" * 32, code="c1" * 10), flow(state="B" * 32, code="c2" * 10))
    assert only(hops, "state-reused") == []


# param-duplicated

def test_duplicate_state_in_authorize_request():
    f = flow(extra_authorize=[("state", "second" * 6)])
    [finding] = only(f, "param-duplicated")
    assert finding.hop == f.authorize.seq and finding.blame == "C"
    assert finding.evidence["param"] == "state" and len(finding.evidence["values"]) == 2


def test_duplicate_code_in_the_redirect_is_the_providers():
    f = flow(extra_response=[("code", "another-code-12345")])
    [finding] = only(f, "param-duplicated")
    assert finding.hop == f.login_post.seq and finding.blame == "AS"
    assert all("…" in v for v in finding.evidence["values"]), "codes are shortened in evidence"


def test_duplicate_member_in_token_json():
    body = b'{"access_token": "a1", "token_type": "Bearer", "token_type": "mac", "expires_in": 3600}'
    f = flow(token_resp_body=body)
    [finding] = only(f, "param-duplicated")
    assert finding.hop == f.token.seq and finding.evidence["param"] == "token_type"


def test_repeated_resource_is_allowed_and_single_params_are_quiet():
    f = flow(extra_authorize=[("resource", "https://a.test"), ("resource", "https://b.test")])
    assert only(f, "param-duplicated") == []


# state-unprotected-data

@pytest.mark.parametrize("state,kind", [
    ("/dashboard?tab=1", "a URL"),
    ("https://app.test/after-login", "a URL"),
    ('{"return":"/home"}', "JSON"),
    (base64.urlsafe_b64encode(json.dumps({"return_to": "/home", "csrf": "x"}).encode()).decode(), "base64-encoded JSON"),
    ("alice@example.com-0123456789", "an e-mail address"),
])
def test_state_carrying_readable_data(state, kind):
    f = flow(state=state)
    [finding] = only(f, "state-unprotected-data")
    assert finding.evidence["kind"] == kind and finding.hop == f.authorize.seq


def test_signed_and_opaque_states_are_quiet():
    payload = base64.urlsafe_b64encode(b'{"return_to":"/home"}').decode().rstrip("=")
    signed = payload + ".c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2"
    assert readable_data(signed) is None
    assert readable_data(STATE) is None
    assert only(flow(state=signed), "state-unprotected-data") == []


def test_short_random_base64url_without_digits_is_not_undercounted():
    assert only(flow(state="kPqRsTuVwXyZaBcDeFgHiJ"), "state-low-entropy") == []  # 22 base64url chars


# The shortcuts the state and code rules take on the usual exchange agree with the long way.

def test_surely_unguessable_never_vouches_for_a_value_estimated_bits_finds_weak():
    import random

    from oauthtrace.analysis.rules._shared import estimated_bits, surely_unguessable

    rng = random.Random(7)
    alphabets = ["0123456789", "0123456789abcdef", "abcdefghijklmnopqrstuvwxyz", "aB", "²٣0", "a-_", "x~"]
    samples = ["".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(1, 60))) for _ in range(5_000)]
    samples += ["1" * 39, "1" * 38, "f" * 32, "f" * 31, "²" * 39]
    for value in samples:
        for bits in (64, 128):
            if surely_unguessable(value, bits):
                assert estimated_bits(value) >= bits, value
    assert surely_unguessable("1" * 39, 128) and not surely_unguessable("1" * 38, 128)
    assert surely_unguessable("f" * 32, 128) and not surely_unguessable("f" * 31, 128)


@pytest.mark.parametrize("text", ["\u00a0{\"to\": \"/admin\"}", "\u3000[1, 2]", "\u2003{\"a\": 1}", "\x1c{\"a\": 1}",
                                  " /next", "HTTPS://evil.example/", "{\"a\": 1}"])
def test_base64_data_behind_any_whitespace_is_still_decoded(text):
    from oauthtrace.analysis.rules.state import _b64_text

    value = base64.b64encode(text.encode()).decode().rstrip("=")
    assert _b64_text(value, only_readable=True) == _b64_text(value) == text


def test_base64_shortcut_drops_only_text_that_is_not_readable_data():
    import random

    from oauthtrace.analysis.rules.state import _URL_START, _b64_text, _json_object

    rng = random.Random(11)
    heads = [b"", b" ", b"\xc2\xa0", b"\xe3\x80\x80", b"{", b"[", b"/", b"h", b"\xd3", b"\xff"]
    for _ in range(5_000):
        raw = rng.choice(heads) + bytes(rng.randrange(256) for _ in range(rng.randint(0, 12)))
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            value = encode(raw).decode().rstrip("=")
            text = _b64_text(value)
            readable = text is not None and (_json_object(text) is not None or text.startswith("/")
                                             or _URL_START.match(text))
            if readable:
                assert _b64_text(value, only_readable=True) == text, raw


def test_a_letters_and_digits_state_can_only_hide_data_in_base64():
    import random

    from oauthtrace.analysis import jwt
    from oauthtrace.analysis.rules.state import _EMAIL, _URL_START, _json_object

    rng = random.Random(13)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for _ in range(2_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 64)))
        # what readable_data skips for such a value: none of these can match it
        assert not _EMAIL.search(value) and not value.startswith("/") and not _URL_START.match(value)
        assert _json_object(value) is None and jwt.decode(value) is None and "." not in value
    encoded = base64.b64encode(b'{"to":"x"}').decode().rstrip("=")
    assert encoded.isalnum() and readable_data(encoded) == ("base64-encoded JSON", '{"to":"x"}')
