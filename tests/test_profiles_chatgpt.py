"""The ChatGPT profiles: GPT Actions (no PKCE, softened) apart from ChatGPT connectors (Apps SDK: MCP clients that
send PKCE S256 and `resource`, https://developers.openai.com/apps-sdk/build/auth — "It supports Client ID Metadata
Documents (CIMD), dynamic client registration (DCR), predefined OAuth clients, and PKCE"; "Echo the resource
parameter throughout the OAuth flow"), and `chatgpt`, the name before the split, still meaning GPT Actions."""

from __future__ import annotations

import pytest

from oauthtrace.analysis.profiles import (
    CHOICES, PROFILES, check_profile, is_chatgpt_callback, is_chatgpt_connector_callback, is_gpt_actions,
    is_gpt_actions_callback, severity_table,
)
from tests.hops import analyze, findings, flow
from tests.mcp_hops import mcp_flow

CONNECTOR = "https://chatgpt.com/connector/oauth/Zx81kq2Lm"
LEGACY_CONNECTOR = "https://chatgpt.com/connector_platform_oauth_redirect"
GPT_ACTION = "https://chatgpt.com/aip/g-abc123/oauth/callback"


def test_gpt_action_and_connector_callbacks_are_told_apart():
    for url in (GPT_ACTION, "https://chat.openai.com/aip/p-1/oauth/callback",
                "http://127.0.0.1:8090/aip/x/oauth/callback"):
        assert is_gpt_actions_callback(url) and not is_chatgpt_connector_callback(url), url
    for url in (CONNECTOR, LEGACY_CONNECTOR):
        assert is_chatgpt_connector_callback(url) and not is_gpt_actions_callback(url), url
        assert is_chatgpt_callback(url), url
    assert not is_chatgpt_connector_callback("https://chatgpt.com.evil.test/connector/oauth/x")


def test_each_callback_gets_its_profile():
    assert analyze(flow(redirect_uri=GPT_ACTION)).profiles == {1: "gpt-actions"}
    assert analyze(flow(redirect_uri=CONNECTOR, pkce=True)).profiles == {1: "chatgpt-connector"}
    assert analyze(flow(redirect_uri=LEGACY_CONNECTOR, pkce=True)).profiles == {1: "chatgpt-connector"}


def test_a_gpt_action_without_pkce_is_information():
    [finding] = findings(list(flow(redirect_uri=GPT_ACTION)), "pkce-missing")
    assert finding.severity == "info" and "GPT Actions" in finding.fix


def test_a_connector_without_pkce_is_an_error_as_under_mcp():
    """ChatGPT connectors send PKCE S256: one that does not is not excused as a GPT Action would be."""
    hops = list(flow(redirect_uri=CONNECTOR, client_auth="none"))
    [finding] = findings(hops, "pkce-missing")
    assert finding.severity == "error"
    [mcp] = findings(hops, "pkce-missing", profile="mcp")
    assert mcp.severity == finding.severity


def test_a_connector_without_resource_is_an_error_as_under_mcp():
    hops = list(mcp_flow(redirect_uri=CONNECTOR, authorize_resource=None))
    authorize = next(hop for hop in hops if "/authorize" in hop.url)
    [finding] = findings(hops, "resource-missing")
    assert (finding.severity, finding.hop) == ("error", authorize.seq)


def test_a_connector_login_done_right_is_clean():
    hops = list(mcp_flow(redirect_uri=CONNECTOR))
    report = analyze(hops)
    assert set(report.profiles.values()) == {"chatgpt-connector"}
    assert report.findings == []


def test_the_connector_profile_has_mcps_severities():
    table = severity_table()
    assert table["chatgpt-connector"] == table["mcp"]
    assert table["gpt-actions"]["pkce-missing"] == "info"


def test_chatgpt_stays_an_alias_of_gpt_actions():
    assert "chatgpt" in CHOICES and "chatgpt" not in PROFILES
    assert check_profile("chatgpt") == "gpt-actions" and is_gpt_actions("chatgpt")
    hops = list(flow(redirect_uri="https://client.test/cb"))
    assert analyze(hops, profile="chatgpt").profiles == {1: "gpt-actions"}
    [finding] = findings(hops, "pkce-missing", profile="chatgpt")
    assert finding.severity == "info"
    with pytest.raises(ValueError):
        check_profile("chatgpt-actions")


def test_claudes_callback_gets_the_mcp_profile_from_the_front_channel_alone():
    """Claude's connector callback (https://claude.ai/api/mcp/auth_callback, Claude's docs) is an MCP client's."""
    front = flow(redirect_uri="https://claude.ai/api/mcp/auth_callback", pkce=True, back_channel=False)
    assert analyze(list(front)).profiles == {1: "mcp"}
    assert analyze(list(flow(redirect_uri="https://client.test/cb", back_channel=False))).profiles == {1: "oauth2"}
