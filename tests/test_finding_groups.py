"""One finding per cause: the same rule on the same endpoint for the same reason is one finding with a count and
its hops, in every output (text, JSON, JUnit, SARIF, Markdown, the store).

The case: a client refreshing its Firebase ID token eight times. Firebase's "Exchange a refresh token for an ID
token" answers `"expires_in": "3600"`, a JSON string (https://firebase.google.com/docs/reference/rest/auth
#section-refresh-token), so every answer breaks RFC 6749 §5.1 the same way.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from hops import analyze, make_hop

from oauthtrace.exporters.check_formats import render
from oauthtrace.exporters.markdown import render_markdown
from oauthtrace.model import Trace
from oauthtrace.store import Store

# a refresh endpoint answering expires_in as a string, as a Firebase capture does; not Firebase's own host, whose
# documented string is information naming it (test_firebase_refreshes_are_one_finding_naming_firebase)
TOKEN_URL = "https://auth.example.com/v1/token?key=AIzaSyDOCAbC123dEf456GhI789jKl012-MnO"
SECURETOKEN = "https://securetoken.googleapis.com/v1/token?key=AIzaSyDOCAbC123dEf456GhI789jKl012-MnO"
REFRESH_TOKEN = "AMf-vBx3Kq9Lp2Wn8Rt5Yz1Hc4Jd7Fg0Sa6Ub3Ve9Xi2Oo5Ek8Mr1Tw4Qy7Zn0Ph3Ld6Cf9Gj2"
TRACE = Trace(id=1, name="firebase refreshes", created=0.0, source="import:har")
REFRESHES = 8


def firebase_refreshes(count: int = REFRESHES, *, url: str = TOKEN_URL, first_seq: int = 1) -> list:
    hops = []
    for n in range(count):
        hops.append(make_hop(
            first_seq + n, "POST", url, started=1000.0 + 3600 * n, listener="browser",
            form=[("grant_type", "refresh_token"), ("refresh_token", REFRESH_TOKEN)],
            resp_headers=[("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
                          ("Pragma", "no-cache")],
            resp_json={"access_token": f"eyJhbGciOiJSUzI1NiJ9.eyJuIjo{n}fQ.c2ln", "expires_in": "3600",
                       "token_type": "Bearer", "refresh_token": REFRESH_TOKEN,
                       "id_token": f"eyJhbGciOiJSUzI1NiJ9.eyJuIjo{n}fQ.c2ln", "user_id": "tRcfmLH7o2XrNELi",
                       "project_id": "1234567890"},
        ))
    return hops


def expires_in_findings(report):
    return [f for f in report.findings if f.rule == "expires-in-not-number"]


def test_eight_refreshes_answering_the_same_string_are_one_finding_with_its_eight_hops():
    report = analyze(firebase_refreshes(), source="import:har")
    [finding] = expires_in_findings(report)
    assert finding.count == REFRESHES and finding.hops == list(range(1, REFRESHES + 1))
    assert finding.hop == 1 and finding.severity == "error"
    assert finding.as_dict()["count"] == REFRESHES and finding.as_dict()["hops"] == finding.hops


def test_firebase_refreshes_are_one_finding_naming_firebase():
    """securetoken.googleapis.com documents expires_in as a string: the same grouping, at info, naming it."""
    [finding] = expires_in_findings(analyze(firebase_refreshes(url=SECURETOKEN), source="import:har"))
    assert finding.count == REFRESHES and finding.severity == "info"
    assert "Firebase" in finding.evidence["provider"]


def test_another_endpoint_is_another_finding():
    hops = firebase_refreshes(3) + firebase_refreshes(2, url="https://other.example.net/v1/token",
                                                      first_seq=4)
    report = analyze(hops, source="import:har")
    assert sorted((f.count, tuple(f.hops)) for f in expires_in_findings(report)) == [(2, (4, 5)), (3, (1, 2, 3))]


def test_json_names_the_count_and_every_hop():
    report = analyze(firebase_refreshes(), source="import:har")
    document = json.loads(render("json", [report], [TRACE]))
    [finding] = [f for f in document["findings"] if f["rule"] == "expires-in-not-number"]
    assert {"rule", "severity", "blame", "trace", "hop", "message", "spec", "evidence"} <= set(finding)
    assert finding["count"] == REFRESHES and finding["hops"] == list(range(1, REFRESHES + 1))


def test_sarif_gives_one_result_with_its_occurrence_count_and_the_other_hops_as_related_locations():
    report = analyze(firebase_refreshes(), source="import:har")
    document = json.loads(render("sarif", [report], [TRACE]))
    [result] = [r for r in document["runs"][0]["results"] if r["ruleId"] == "expires-in-not-number"]
    assert result["occurrenceCount"] == REFRESHES
    assert len(result["locations"]) == 1
    assert result["locations"][0]["logicalLocations"][0]["name"] == "hop #1"
    assert [loc["logicalLocations"][0]["name"] for loc in result["relatedLocations"]] == [
        f"hop #{seq}" for seq in range(2, REFRESHES + 1)]
    assert result["properties"]["count"] == REFRESHES


def test_junit_and_text_say_eight_hops_once():
    report = analyze(firebase_refreshes(), source="import:har")
    hops_said = "8 hops: " + ", ".join(f"#{seq}" for seq in range(1, REFRESHES + 1))
    root = ET.fromstring(render("junit", [report], [TRACE]).split("\n", 1)[1])
    failures = [f.text for f in root.iter("failure")]
    assert len(failures) == 1 and failures[0].count("expires-in-not-number") == 1 and hops_said in failures[0]
    text = render("text", [report], [TRACE])
    assert text.count("expires-in-not-number") == 1 and hops_said in text


def test_markdown_lists_it_once_and_marks_every_hop():
    hops = firebase_refreshes()
    report = analyze(hops, source="import:har")
    markdown = render_markdown(TRACE, hops, report, redacted=False)
    assert markdown.count("`expires-in-not-number` ·") == 1
    assert "8 hops: #1, #2, #3, #4, #5, #6, #7, #8" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "auth.example.com" in line]
    assert len(rows) == REFRESHES and all("200" in row and "❌" in row for row in rows), rows


def test_the_store_keeps_the_count_and_the_hops(db_path):
    hops = firebase_refreshes()
    with Store.open(db_path) as store:
        trace_id = store.import_trace("firebase", "import:har", hops)
        report = analyze(store.hops(trace_id), source="import:har")
        store.replace_findings(trace_id, report.findings)
        [stored] = [f for f in store.findings(trace_id) if f.rule == "expires-in-not-number"]
    assert stored.count == REFRESHES and stored.hops == list(range(1, REFRESHES + 1))


def test_a_rule_may_name_the_cause_that_makes_different_values_one_finding():
    """Hit.cause: hops whose messages differ only by a value the rule calls the same reason merge; without it
    they stay apart."""
    from oauthtrace.analysis.engine import _analyze
    from oauthtrace.model import Hit, Rule

    def per_hop(cause):
        def check(exchange, ctx):
            for hop in exchange.refreshes:
                yield Hit(hop=hop, message=f"refresh.expires_in = \"{3600 - hop.seq}\"", cause=cause)
        return Rule(id="test-cause", family="G", severity="error", blame="AS", needs="", spec="RFC 6749 §5.1",
                    quote="", fix="", check=check)

    hops = firebase_refreshes(3)
    [merged] = _analyze(hops, 1, None, [per_hop("expires_in is a string")]).findings
    assert merged.count == 3 and merged.hops == [1, 2, 3] and merged.message == 'refresh.expires_in = "3599"'
    apart = _analyze(firebase_refreshes(3), 1, None, [per_hop(None)]).findings
    assert [(f.count, f.hops) for f in apart] == [(1, [1]), (1, [2]), (1, [3])]
