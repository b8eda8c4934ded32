"""One list of secret parameters (model.SECRET_PARAMS): every parameter the analysis treats as a secret is
redacted by every export — HAR, JSON and the Markdown report — wherever a hop names it (query, form body, JSON
request body, JSON response body), through `oauthtrace export` as a user runs it."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlencode

import pytest

from tests.interchange_support import run_cli
from oauthtrace.analysis.rules import issuer, state
from oauthtrace.model import SECRET_PARAMS, Hop
from oauthtrace.params import parse_pairs, query_pairs
from oauthtrace.store import Store

AS = "https://auth.example.com"
CB = "https://client.example.net/callback"
FORM = ("Content-Type", "application/x-www-form-urlencoded")
JSON = ("Content-Type", "application/json")
PLACES = ("query", "form", "json-request", "json-response")
# In a response, a JSON member named `code` is an error code far more often than an authorization code
# (`{"code": "invalid_request"}`): exports keep it readable there (interchange/secret_names.REQUEST_ONLY_FIELDS).
KEPT = {("json-response", "code")}


def secret_value(place: str, name: str) -> str:
    return f"{place}-{name}-{secrets.token_hex(8)}"


def trace_naming_every_secret() -> tuple[list[Hop], dict[tuple[str, str], str]]:
    """A code flow whose requests and responses carry every secret parameter, a different value in each place."""
    values = {(place, name): secret_value(place, name) for place in PLACES for name in sorted(SECRET_PARAMS)}

    def pairs(place: str) -> list[tuple[str, str]]:
        return [(name, values[place, name]) for name in sorted(SECRET_PARAMS)]

    authorize = f"{AS}/authorize?" + urlencode([("response_type", "code"), ("client_id", "c1"),
                                                ("redirect_uri", CB), ("state", "s1"), *pairs("query")])
    token_form = urlencode([("grant_type", "authorization_code"), ("redirect_uri", CB), *pairs("form")])
    token_response = {"token_type": "Bearer", "expires_in": 3600, **dict(pairs("json-response"))}
    api_request = json.dumps(dict(pairs("json-request")))
    hops = [
        Hop(trace_id=1, seq=1, method="GET", url=authorize, query=query_pairs(authorize), started=1.0, ended=1.1,
            status=302, location=f"{CB}?code=c0de-not-listed&state=s1"),
        Hop(trace_id=1, seq=2, method="POST", url=f"{AS}/token", started=2.0, ended=2.1, req_headers=[FORM],
            req_body=token_form.encode(), form=parse_pairs(token_form), status=200, resp_headers=[JSON],
            resp_body=json.dumps(token_response).encode()),
        Hop(trace_id=1, seq=3, method="POST", url=f"{AS}/api", started=3.0, ended=3.1, req_headers=[JSON],
            req_body=api_request.encode(), status=200, resp_headers=[JSON], resp_body=b"{}"),
    ]
    return hops, values


@pytest.fixture
def stored(db_path):
    hops, values = trace_naming_every_secret()
    with Store.open(db_path) as store:
        store.import_trace("every secret", "test", hops)
    return values


@pytest.mark.parametrize("fmt", ["har", "json", "markdown"])
def test_every_secret_parameter_is_redacted_in_every_export(capsys, db_path, stored, fmt):
    code, out, err = run_cli(capsys, "export", "--db", db_path, "--format", fmt)
    assert code == 0, err
    leaked = sorted(key for key, value in stored.items() if value in out and key not in KEPT)
    assert leaked == []
    assert "‹redacted:" in out


@pytest.mark.parametrize("fmt", ["har", "json"])
def test_the_unredacted_export_holds_every_value(capsys, db_path, stored, fmt):
    """The check above looks where the values are: without redaction the HAR and the JSON hold every one."""
    code, out, err = run_cli(capsys, "export", "--db", db_path, "--format", fmt, "--no-redact")
    assert code == 0, err
    assert sorted(key for key, value in stored.items() if value not in out) == []


def test_the_unredacted_report_shows_every_secret_parameter(capsys, db_path, stored):
    """The Markdown report shows the parameters of the authorization request, the token request and the token
    response (not the API call's body): unredacted, each secret parameter is there with its value."""
    code, out, err = run_cli(capsys, "export", "--db", db_path, "--format", "markdown", "--no-redact")
    assert code == 0, err
    assert {name for (_place, name), value in stored.items() if value in out} == SECRET_PARAMS


def test_the_rules_read_the_same_list():
    """The rules that show secrets as a prefix only (param-duplicated, iss-appeared) use this very list."""
    assert issuer.SECRET_PARAMS is SECRET_PARAMS and state.SECRET_PARAMS is SECRET_PARAMS
