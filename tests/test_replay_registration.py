"""A recorded dynamic client registration (RFC 7591) is replayed first; the live client_id and secret replace the
recorded ones in the rest of the flow."""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qsl, urlencode

from oauthtrace.analysis.oauth import param
from oauthtrace.replay.job import Source, replay
from oauthtrace.replay.secrets import Secrets
from oauthtrace.replay.session import Targets
from oauthtrace.store import Store
from oauthtrace.web import App, Response
from tests import hops as h

LIVE_ID, LIVE_SECRET = "registered-live-client", "live-secret-" + secrets.token_urlsafe(8)


class RegisteringProvider:
    """Registers any client as LIVE_ID, answers /authorize at once, and issues tokens only to LIVE_ID."""

    def __init__(self):
        self.app = App()
        self.codes: dict[str, str] = {}
        self.app.route("POST", "/register", self.register)
        self.app.route("GET", "/authorize", self.authorize)
        self.app.route("POST", "/token", self.token)

    def register(self, request):
        return Response.json({"client_id": LIVE_ID, "client_secret": LIVE_SECRET,
                              "redirect_uris": json.loads(request.body)["redirect_uris"]}, 201)

    def authorize(self, request):
        args = dict(request.query)
        if args.get("client_id") != LIVE_ID:
            return Response(400, "unknown client", "text/html")
        code = secrets.token_urlsafe(16)
        self.codes[code] = args["redirect_uri"]
        return Response.redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}")

    def token(self, request):
        form = dict(parse_qsl(request.body.decode()))
        if (form.get("client_id"), form.get("client_secret")) != (LIVE_ID, LIVE_SECRET):
            return Response.json({"error": "invalid_client"}, 401)
        if self.codes.pop(form.get("code"), None) != form.get("redirect_uri"):
            return Response.json({"error": "invalid_grant"}, 400)
        return Response.json({"access_token": "at", "token_type": "Bearer", "expires_in": 60},
                             headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def test_registration_is_replayed_and_its_client_used(tmp_path):
    """The recorded secret is redacted and none is in the environment: the live registration's must be used."""
    registration = h.make_hop(
        1, "POST", f"{h.PROVIDER}/register", started=900.0, listener=h.REVERSE, status=201,
        json_body={"redirect_uris": [h.CHATGPT_CALLBACK], "token_endpoint_auth_method": "client_secret_post"},
        resp_json={"client_id": h.CLIENT_ID, "client_secret": h.CLIENT_SECRET})
    recording = h.renumber([registration, *h.flow()])
    token = next(hop for hop in recording if param(hop.form, "grant_type") == "authorization_code")
    token.form = [(k, "‹redacted:0a1b2c›" if k == "client_secret" else v) for k, v in token.form]
    provider = RegisteringProvider()
    provider.app.start()
    try:
        with Store.open(str(tmp_path / "replays.db")) as store:
            result = replay(Source("registration", recording), store, secrets=Secrets({}, {}),
                            targets=Targets.parse([f"{h.PROVIDER}={provider.app.url}"]))
    finally:
        provider.app.stop()
    assert result.run.problems == [], result.run.problems
    register, authorize, token = result.run.hops
    assert register.status == 201
    assert param(authorize.query, "client_id") == LIVE_ID
    assert (param(token.form, "client_id"), param(token.form, "client_secret")) == (LIVE_ID, LIVE_SECRET)
    assert token.status == 200
