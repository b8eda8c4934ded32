"""Pure parts of the replay: fresh values, the target allowlist, form filling, secrets, plan, comparison."""

from __future__ import annotations

import base64
import string

import pytest

from oauthtrace.digests import s256
from oauthtrace.errors import UserError
from oauthtrace.model import Finding, Hop
from oauthtrace.html_forms import page_forms
from oauthtrace.replay import backchannel, forms
from oauthtrace.replay.findings_diff import CLIENT_SIDE, NOT_REACHED, TOKEN_LEFT_OUT, diff_findings, passed
from oauthtrace.replay.plan import check_targets, missing_secrets, recorded_flows, unsent_token_requests
from oauthtrace.replay.secrets import Secrets
from oauthtrace.replay.session import ReplayStopped, Session, Targets
from oauthtrace.replay.volatile import fresh_authorize_params, like
from tests import hops as h


# -- volatile ------------------------------------------------------------------------------------------------


def test_fresh_values_replace_state_nonce_and_challenge_in_place():
    recorded = [("response_type", "code"), ("state", "abc123XYZ"), ("nonce", "n-1"), ("scope", ""),
                ("code_challenge", h.CHALLENGE), ("code_challenge_method", "S256"), ("state", "abc123XYZ")]
    pairs, fresh = fresh_authorize_params(recorded)
    assert [name for name, _ in pairs] == [name for name, _ in recorded]
    values = dict(pairs)
    assert values["state"] != "abc123XYZ" and len(values["state"]) == len("abc123XYZ")
    assert [v for k, v in pairs if k == "state"] == [fresh.state, fresh.state]  # a duplicate stays a duplicate
    assert values["scope"] == ""  # sent empty, stays empty
    assert values["code_challenge"] == s256(fresh.verifier) == fresh.challenge
    assert values["nonce"] == fresh.nonce != "n-1"


def test_fresh_value_keeps_the_recorded_alphabet_and_length():
    assert set(like("12345678")) <= set(string.digits) and len(like("12345678")) == 8
    assert len(like("‹redacted:3f9a1c›")) == 32  # a fingerprint's length says nothing


def test_fresh_value_keeps_punctuation_where_it_was():
    recorded = "ab+cd/EF12==xy"
    fresh = like(recorded)
    assert fresh != recorded and len(fresh) == len(recorded)
    assert [ch for ch in fresh if not ch.isalnum()] == ["+", "/", "=", "="]
    assert fresh[2] == "+" and fresh[5] == "/" and fresh[10:12] == "=="


def test_plain_pkce_sends_the_verifier_as_challenge():
    pairs, fresh = fresh_authorize_params([("code_challenge", "x" * 43)])
    assert fresh.method is None and dict(pairs)["code_challenge"] == fresh.verifier


# -- targets -------------------------------------------------------------------------------------------------


def test_targets_map_recorded_origins_and_allow_only_live_ones():
    targets = Targets.parse(["https://auth.example.com=http://127.0.0.1:8000"])
    assert targets.live_url("https://auth.example.com/authorize?a=1") == "http://127.0.0.1:8000/authorize?a=1"
    assert targets.live_url("https://AUTH.example.com:443/token") == "http://127.0.0.1:8000/token"
    assert targets.live_url("https://evil.example/") is None
    assert targets.allows("http://127.0.0.1:8000/login")
    assert not targets.allows("http://127.0.0.1:8001/login")
    assert targets.follow("https://auth.example.com/login") == "http://127.0.0.1:8000/login"


@pytest.mark.parametrize("spec", ["auth.example.com=http://x", "https://a=ftp://b", "https://a=http://b/path"])
def test_bad_target_is_a_one_line_user_error(spec):
    with pytest.raises(UserError, match="--target"):
        Targets.parse([spec])


def test_session_refuses_a_url_outside_the_targets_before_sending():
    session = Session(Targets.parse(["http://127.0.0.1:1=http://127.0.0.1:2"]))
    with pytest.raises(ReplayStopped, match="not a --target"):
        session.send("GET", "http://127.0.0.1:3/")
    assert session.hops == []


# -- forms ---------------------------------------------------------------------------------------------------

LOGIN_PAGE = """<html><form method="post" action="/login">
<input type="hidden" name="csrf" value="LIVE-CSRF"><input type="hidden" name="state" value="LIVE-STATE">
<input type="hidden" name="added" value="new-hidden">
<input name="username"><input type="password" name="password">
<input type="checkbox" name="remember"><button type="submit" name="go" value="1">Sign in</button>
</form><form action="/search"><input name="q"></form></html>"""


def test_fill_takes_hidden_values_from_the_live_page_and_typed_ones_from_the_recording():
    live = page_forms(LOGIN_PAGE, "https://auth.example.com/authorize?x=1")
    recorded = [("csrf", "STALE"), ("state", "OLD"), ("username", "demo"), ("password", "pw"), ("go", "1")]
    form = forms.choose(live, "/login", [n for n, _ in recorded])
    assert form.action == "https://auth.example.com/login"
    fields, missing, from_page = forms.fill(form, recorded, Secrets({}, {}).pick)
    assert fields == [("csrf", "LIVE-CSRF"), ("state", "LIVE-STATE"), ("username", "demo"), ("password", "pw"),
                      ("go", "1"), ("added", "new-hidden")]
    assert missing == [] and from_page == []


def test_fill_names_a_redacted_typed_field_the_live_page_leaves_empty():
    form = page_forms(LOGIN_PAGE, "https://auth.example.com/")[0]
    _, missing, from_page = forms.fill(form, [("username", "demo"), ("password", "‹redacted:abc123›")],
                                       Secrets({}, {}).pick)
    assert missing == ["password"] and from_page == []


PREFILLED_PAGE = """<form method="post" action="/login"><input type="hidden" name="csrf" value="LIVE-CSRF">
<input name="username" value="demo"><input type="password" name="password" value="page-pw">
<input name="otp" value=""></form>"""


def test_fill_takes_a_redacted_fields_value_from_the_live_page_as_it_takes_its_csrf_value():
    """What a user pressing the button sends: the page's own value stands in for the recording's fingerprint."""
    form = page_forms(PREFILLED_PAGE, "https://auth.example.com/authorize")[0]
    recorded = [("csrf", "STALE"), ("username", "‹redacted:0a0a0a›"), ("password", "‹redacted:abc123›")]
    fields, missing, from_page = forms.fill(form, recorded, Secrets({}, {}).pick)
    assert fields == [("csrf", "LIVE-CSRF"), ("username", "demo"), ("password", "page-pw")]
    assert missing == [] and from_page == ["username", "password"]


def test_fill_prefers_the_users_value_to_the_live_pages():
    form = page_forms(PREFILLED_PAGE, "https://auth.example.com/authorize")[0]
    given = Secrets.parse(["password=MY_PW"], environ={"MY_PW": "from-env"})
    fields, _, from_page = forms.fill(form, [("password", "‹redacted:abc123›")], given.pick)
    assert dict(fields)["password"] == "from-env" and from_page == []
    fields, _, from_page = forms.fill(form, [("password", "typed-pw")], Secrets({}, {}).pick)
    assert dict(fields)["password"] == "typed-pw" and from_page == []  # an unredacted recording: what was typed
    fields, missing, from_page = forms.fill(form, [("otp", "‹redacted:123456›")], Secrets({}, {}).pick)
    assert missing == ["otp"] and from_page == []  # an empty input fills in nothing


# -- secrets -------------------------------------------------------------------------------------------------


def test_secret_from_named_variable_then_default_variable_then_unredacted_recording():
    secrets = Secrets.parse(["password=MY_PW"], environ={"MY_PW": "from-env", "OAUTHTRACE_SECRET_CLIENT_SECRET": "cs"})
    assert secrets.value("password", "recorded") == "from-env"
    assert secrets.value("client_secret", None) == "cs"
    assert secrets.value("username", "demo") == "demo"
    assert secrets.value("otp", "‹redacted:abc123›") is None
    unset = Secrets.parse(["password=NOT_SET"], environ={})
    assert unset.value("password", "recorded") is None  # a named variable never falls back silently
    assert "$NOT_SET is not set" in unset.describe_missing(["password"])


def test_secret_pick_takes_the_live_pages_value_last_and_only_for_a_redacted_recording():
    """Environment, then an unredacted recording, then what the live page fills in."""
    redacted = "‹redacted:abc123›"
    nothing = Secrets({}, {})
    assert nothing.pick("password", redacted, "page-pw") == ("page-pw", "page")
    assert nothing.pick("password", "typed", "page-pw") == ("typed", "recording")
    assert nothing.pick("password", redacted, "") == (None, None)
    assert nothing.pick("password", redacted, "‹redacted:ffffff›") == (None, None)  # never a fingerprint
    assert nothing.pick("password", None, "page-pw") == (None, None)  # a field never recorded is not filled
    env = Secrets({}, {"OAUTHTRACE_SECRET_PASSWORD": "env-pw"})
    assert env.pick("password", redacted, "page-pw") == ("env-pw", "environment")
    unset = Secrets.parse(["password=NOT_SET"], environ={})
    assert unset.pick("password", redacted, "page-pw") == (None, None)  # named and unset: bad input, no fallback


def test_a_redacted_field_the_page_leaves_empty_is_named_with_how_to_give_it():
    line = Secrets({}, {}).describe_unfilled(["password", "password"], "https://auth.example.com/authorize")
    assert "\n" not in line and line.startswith("the replay needs password: ")  # named once, duplicates dropped
    assert "https://auth.example.com/authorize" in line and line.endswith(
        "give it with --secret password=ENVVAR (or set OAUTHTRACE_SECRET_PASSWORD)")


def test_bad_secret_spec_is_a_user_error():
    with pytest.raises(UserError, match="NAME=ENVVAR"):
        Secrets.parse(["password"])


# -- plan ----------------------------------------------------------------------------------------------------


def test_plan_finds_the_login_post_the_callback_and_the_token_request():
    recording = h.flow()
    (flow,) = recorded_flows(recording)
    assert flow.authorize is recording.authorize
    assert flow.submissions == [recording.login_post]
    assert flow.callback_base == h.CHATGPT_CALLBACK
    assert flow.token is recording.token


def test_plan_requires_a_target_for_the_provider_but_not_for_the_client():
    flows = recorded_flows(h.flow())
    with pytest.raises(UserError, match="no --target for https://auth.example.com"):
        check_targets(flows, Targets.parse(["https://other.example=http://127.0.0.1:1"]))
    check_targets(flows, Targets.parse(["https://auth.example.com=http://127.0.0.1:1"]))


def test_plan_names_every_secret_it_cannot_get_before_sending_anything():
    """A redacted client secret is missing at once; a redacted form field only when the user named an unset
    variable for it — otherwise the live login page may fill it in, which only the replay itself can see."""
    recording = h.flow()
    recording.login_post.form = [(k, "‹redacted:1a2b3c›" if k == "password" else v)
                                 for k, v in recording.login_post.form]
    recording.token.form = [(k, "‹redacted:4d5e6f›" if k == "client_secret" else v) for k, v in recording.token.form]
    recording.token.req_headers = [(k, v) for k, v in recording.token.req_headers if k.lower() != "authorization"]
    flows = recorded_flows(recording)
    assert missing_secrets(flows, Secrets({}, {}), None) == ["client_secret"]
    assert missing_secrets(flows, Secrets({"password": "NOT_SET"}, {}), None) == ["password", "client_secret"]
    env = {"OAUTHTRACE_SECRET_PASSWORD": "p", "OAUTHTRACE_SECRET_CLIENT_SECRET": "s"}
    assert missing_secrets(flows, Secrets({}, env), None) == []


def test_plan_leaves_out_an_unrecorded_token_request_when_no_client_secret_is_given():
    """The seed case: the client never asked for a token, so the recording holds no client secret to ask for."""
    flows = recorded_flows(h.flow(back_channel=False))
    assert flows[0].token is None
    nothing = Secrets({}, {})
    assert missing_secrets(flows, nothing, None) == [] and unsent_token_requests(flows, nothing, None) == {1}
    given = Secrets({}, {"OAUTHTRACE_SECRET_CLIENT_SECRET": "s"})
    assert unsent_token_requests(flows, given, None) == set()  # given: a standard token request is sent
    assert unsent_token_requests(flows, nothing, "none") == set()  # a public client needs no secret
    named_unset = Secrets({"client_secret": "NOT_SET"}, {})
    assert unsent_token_requests(flows, named_unset, None) == set()
    assert missing_secrets(flows, named_unset, None) == ["client_secret"]  # asked for, and not there: bad input


# -- back channel --------------------------------------------------------------------------------------------


def test_recorded_token_request_keeps_its_shape_with_the_live_code():
    token = Hop(trace_id=1, seq=5, method="POST", url="https://auth.example.com/token",
                req_headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "sid=1"),
                             ("Authorization", "Basic " + base64.b64encode(b"cid:old").decode()),
                             ("Accept", "application/json")],
                form=[("grant_type", "authorization_code"), ("code", "OLD"), ("redirect_uri", "https://c/cb")])
    out = backchannel.rebuild(token, "http://127.0.0.1:9/token", {"code": "LIVE"}, client=("cid", "new secret"))
    assert out.body == b"grant_type=authorization_code&code=LIVE&redirect_uri=https%3A%2F%2Fc%2Fcb"
    headers = dict(out.headers)
    assert "Cookie" not in headers and headers["Accept"] == "application/json"
    assert base64.b64decode(headers["Authorization"][6:]) == b"cid:new+secret"  # RFC 6749 §2.3.1 form-encoding


@pytest.mark.parametrize("option, offered, expected", [
    (None, None, "client_secret_basic"),
    (None, ["client_secret_post"], "client_secret_post"),
    (None, ["none"], "none"),
    ("post", ["client_secret_basic"], "client_secret_post"),
])
def test_client_auth_for_a_standard_token_request(option, offered, expected):
    metadata = {"token_endpoint_auth_methods_supported": offered} if offered else None
    assert backchannel.choose_client_auth(option, metadata) == expected


# -- compare -------------------------------------------------------------------------------------------------


def _finding(rule, severity="error", hop=3):
    return Finding(rule=rule, severity=severity, blame="AS", trace=1, exchange=1, hop=hop, message="m", spec="s",
                   fix="f")


def test_compare_sorts_findings_into_fixed_still_new_and_client_side():
    recorded = [_finding("state-dropped"), _finding("pkce-missing", "info"), _finding("callback-page-leaky", hop=4)]
    replayed = [_finding("pkce-missing", "info"), _finding("token-response-not-json")]
    diff = diff_findings(recorded, replayed, client_side=lambda f: f.hop == 4, completed=True)
    assert [f.rule for f in diff.fixed] == ["state-dropped"]
    assert [new.rule for _, new in diff.still] == ["pkce-missing"]
    assert [f.rule for f in diff.new] == ["token-response-not-json"]
    assert [(f.rule, why) for f, why in diff.not_checked] == [("callback-page-leaky", CLIENT_SIDE)]
    assert not passed(diff, replayed, True)


def test_a_replay_that_stopped_early_fixes_nothing():
    diff = diff_findings([_finding("state-dropped")], [], client_side=lambda f: False, completed=False)
    assert diff.fixed == [] and diff.not_checked[0][1] == NOT_REACHED
    assert not passed(diff, [], False)


def test_a_remaining_warning_passes_but_a_remaining_error_does_not():
    warning = [_finding("scope-omitted", "warning")]
    assert passed(diff_findings(warning, warning, client_side=lambda f: False, completed=True), warning, True)
    error = [_finding("state-dropped")]
    assert not passed(diff_findings(error, error, client_side=lambda f: False, completed=True), error, True)


def test_a_new_info_finding_is_listed_but_only_a_new_warning_or_error_fails_the_replay():
    recorded = [_finding("state-dropped")]
    info = [_finding("iss-appeared", "info")]
    diff = diff_findings(recorded, info, client_side=lambda f: False, completed=True)
    assert [f.rule for f in diff.new] == ["iss-appeared"] and passed(diff, info, True)
    warning = [_finding("scope-changed-unreported", "warning")]
    assert not passed(diff_findings(recorded, warning, client_side=lambda f: False, completed=True), warning, True)


def test_plan_gives_an_unjoined_refresh_to_the_flow_before_it():
    recording = h.flow()
    refresh = h.make_hop(len(recording) + 1, "POST", f"{h.PROVIDER}/token", started=2000.0, listener=h.REVERSE,
                         form=[("grant_type", "refresh_token"), ("refresh_token", "never-issued-in-this-trace")],
                         status=200)
    (flow,) = recorded_flows(list(recording) + [refresh])
    assert flow.later == [refresh]


def test_a_rule_that_needs_the_left_out_token_request_is_neither_fixed_nor_new():
    """"Fixed" means the recorded part no longer shows it; a rule only the token leg could show is not checked."""
    recorded = [_finding("state-dropped"), _finding("flow-stalled-after-callback", "warning")]
    replayed = [_finding("token-response-not-json", hop=5)]
    needs_token = {"flow-stalled-after-callback", "token-response-not-json"}
    diff = diff_findings(recorded, replayed, client_side=lambda f: False, completed=True,
                   needs_left_out=lambda f: f.rule in needs_token)
    assert [f.rule for f in diff.fixed] == ["state-dropped"] and diff.new == []
    assert [(f.rule, why) for f, why in diff.not_checked] == [("flow-stalled-after-callback", TOKEN_LEFT_OUT),
                                                              ("token-response-not-json", TOKEN_LEFT_OUT)]
    assert passed(diff, replayed, True) is False  # an error that remains still fails, whatever its leg
