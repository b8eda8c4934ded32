"""Walk a recorded flow against the live server, playing the client's part (and its user's browser).

authorize (fresh state, nonce, PKCE) → the live redirect chain → the recorded login/consent forms filled with the
live page's hidden values (and its own value for a field the recording holds redacted) → stop at the redirect to
the client's callback (never contacting the client) → the token request with the live code → the recorded refresh
and resource calls with the live tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

from oauthtrace.analysis.oauth import basic_credentials, body_params, param, token_fields
from oauthtrace.errors import UserError
from oauthtrace.model import Hop, Pairs
from oauthtrace.params import base_url, fragment_pairs, origin, path, query_pairs
from oauthtrace.html_forms import Form, page_forms
from oauthtrace.replay import backchannel, forms
from oauthtrace.replay.plan import RecordedFlow, target_url
from oauthtrace.replay.secrets import Secrets, usable
from oauthtrace.replay.session import BACK_CHANNEL, ReplayStopped, Session, Targets, short_url
from oauthtrace.replay.volatile import Fresh, fresh_authorize_params

MAX_STEPS = 30
REDIRECTS = (301, 302, 303, 307, 308)
FORM_TYPE = "application/x-www-form-urlencoded"
TOKEN_NOTE = "token request not sent"  # how the note on a left-out token request begins
PAGE_VALUE_NOTE = "filled in by the live page"  # how the note on a redacted field the live page filled begins
WELL_KNOWN = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


@dataclass
class FlowOutcome:
    flow: int
    callback: Pairs | None = None  # the authorization response the client would have received
    tokens: dict | None = None
    problems: list[str] = field(default_factory=list)  # why this flow does not prove the fix
    notes: list[str] = field(default_factory=list)  # what the user should know, without failing the replay
    token_left_out: bool = False  # the code was reached and the token request the recording lacks was not sent


@dataclass
class RunResult:
    hops: list[Hop]
    flows: list[FlowOutcome]

    @property
    def problems(self) -> list[str]:
        return [f"flow {o.flow}: {p}" if len(self.flows) > 1 else p for o in self.flows for p in o.problems]

    @property
    def notes(self) -> list[str]:
        return [note for outcome in self.flows for note in outcome.notes]

    @property
    def completed(self) -> bool:
        return bool(self.flows) and not self.problems

    @property
    def token_left_out(self) -> bool:
        return any(outcome.token_left_out for outcome in self.flows)


class Replayer:
    def __init__(self, targets: Targets, secrets: Secrets, *, client_auth: str | None = None,
                 timeout: float = 15.0):
        self.targets = targets
        self.secrets = secrets
        self.client_auth = client_auth
        self.timeout = timeout
        self.page_filled: set[str] = set()  # redacted fields a live page filled in, noted once each per run

    def run(self, flows: list[RecordedFlow], *, no_token: set[int] | frozenset[int] = frozenset()) -> RunResult:
        """`no_token`: the flows (by index) whose unrecorded token request is left out (plan.unsent_token_requests)."""
        session = Session(self.targets, timeout=self.timeout)  # one browser for the whole recording, as recorded
        self.page_filled = set()
        outcomes = [_FlowWalk(self, session, flow, send_token=flow.index not in no_token).run() for flow in flows]
        return RunResult(session.hops, outcomes)


class _FlowWalk:
    def __init__(self, replayer: Replayer, session: Session, flow: RecordedFlow, *, send_token: bool = True):
        self.r = replayer
        self.send_token = send_token
        self.session = session
        self.flow = flow
        self.outcome = FlowOutcome(flow.index)
        self.client_ids: dict[str, str] = {}  # recorded client_id -> the one registration gave live
        self.live_secret: str | None = None

    def run(self) -> FlowOutcome:
        try:
            self._register()
            fresh = self._walk_front_channel()
            code = self._code()
            if code is not None and not self.send_token:
                self._leave_out_token()
            elif code is not None:
                self._token(code, fresh)
                if self.outcome.tokens is not None:
                    self._later()
        except ReplayStopped as exc:
            self.outcome.problems.append(str(exc))
        return self.outcome

    # -- front channel ---------------------------------------------------------------------------------

    def _walk_front_channel(self) -> Fresh:
        auth = self.flow.authorize
        pairs, fresh = fresh_authorize_params(self._client_ids(list(auth.query) + list(auth.form)),
                                              verifier_like=self._recorded_verifier())
        query, form = pairs[:len(auth.query)], pairs[len(auth.query):]
        live = self.r.targets.live_url(target_url(auth))
        url = base_url(live) + (f"?{urlencode(query)}" if query else "")
        body = urlencode(form).encode() if auth.method == "POST" else None
        headers = backchannel.copied_headers(auth)
        if body is not None and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", FORM_TYPE))
        method = auth.method
        pending = list(self.flow.submissions)
        for _ in range(MAX_STEPS):
            hop = self.session.send(method, url, headers=headers, body=body)
            if hop.status in REDIRECTS and hop.location:
                target = urljoin(hop.url, hop.location)
                if self._is_callback(target):
                    self.outcome.callback = _response_params(target)
                    return fresh
                url = self._follow(target, "redirected to")
                if hop.status not in (307, 308):
                    method, body = "GET", None
                headers = backchannel.copied_headers(auth)
                continue
            page = hop.resp_text if hop.resp_content_type in ("text/html", "application/xhtml+xml") else ""
            live_forms = page_forms(page, hop.url) if page else []
            posted = next((f for f in live_forms if self._is_callback(f.action)), None)
            if posted is not None:  # response_mode=form_post: the fields are the authorization response
                self.outcome.callback = [(f.name, f.value) for f in posted.fields]
                return fresh
            if hop.status is None or hop.status >= 400:
                raise ReplayStopped(f"the target answered {hop.status} to {method} {short_url(url)} before the "
                                    f"client's callback was reached")
            if not pending:
                raise ReplayStopped(f"the target showed {short_url(hop.url)} ({hop.status}) and the recording has "
                                    f"no further step from there (a new page the recorded login did not see?)")
            recorded = pending.pop(0)
            method, url, body, headers = self._submit(recorded, live_forms, hop)
        raise ReplayStopped(f"no callback after {MAX_STEPS} requests; stopped")

    def _submit(self, recorded: Hop, live_forms: list[Form], page: Hop):
        form = forms.choose(live_forms, path(target_url(recorded)), [name for name, _ in recorded.form])
        if form is None:
            raise ReplayStopped(f"the page at {short_url(page.url)} has no form like the recorded "
                                f"{recorded.method} {path(target_url(recorded))}")
        fields, missing, from_page = forms.fill(form, recorded.form, self.r.secrets.pick)
        if missing:  # redacted, not given, and the live page leaves it empty: only the user can supply it
            raise UserError(self.r.secrets.describe_unfilled(missing, short_url(page.url)))
        for name in from_page:
            self._note_page_value(name, page)
        action = self._follow(form.action, "has a form that posts to")
        headers = backchannel.copied_headers(recorded) + [("Referer", page.url), ("Origin", origin(page.url))]
        if form.method == "GET":
            return "GET", base_url(action) + "?" + urlencode(fields), None, backchannel.copied_headers(recorded)
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", FORM_TYPE))
        return "POST", action, urlencode(fields).encode(), headers

    def _note_page_value(self, name: str, page: Hop) -> None:
        """Once per field for the whole replay; the note names the field, never the value it sent."""
        if name in self.r.page_filled:
            return
        self.r.page_filled.add(name)
        self.outcome.notes.append(
            f"{PAGE_VALUE_NOTE}: {name} (the recording holds it redacted; sent what the page at "
            f"{short_url(page.url)} fills in, as a user pressing its button would); to send your own, "
            f"{self.r.secrets.how_to_give(name)}")

    def _follow(self, url: str, verb: str) -> str:
        live = self.r.targets.follow(url)
        if live is None:
            raise ReplayStopped(f"the target {verb} {short_url(url)}, which is neither a --target nor the client's "
                                f"callback; the replay stopped and sent nothing there")
        return live

    def _is_callback(self, url: str) -> bool:
        return self.flow.callback_base is not None and base_url(url) == self.flow.callback_base

    def _code(self) -> str | None:
        params = self.outcome.callback or []
        error = param(params, "error")
        if error:
            detail = param(params, "error_description")
            self.outcome.problems.append(f"the target answered the authorization request with error={error}"
                                         + (f" ({detail})" if detail else ""))
            return None
        code = param(params, "code")
        if not code:
            self.outcome.problems.append("the authorization response carries no code")
        return code

    # -- back channel ----------------------------------------------------------------------------------

    def _token(self, code: str, fresh: Fresh) -> None:
        recorded = self.flow.token
        if recorded is not None:
            outgoing = self._recorded_token(recorded, code, fresh)
        else:
            outgoing = self._standard_token(code, fresh)
            self.outcome.notes.append("the recording ends before the token request: sent a standard one "
                                      "(RFC 6749 §4.1.3)")
        hop = self._send_back(outgoing)
        fields = token_fields(hop)
        if hop.status and 200 <= hop.status < 300 and fields and fields.get("access_token"):
            self.outcome.tokens = dict(fields)
            return
        self.outcome.problems.append(f"the token request failed: {_failure(hop, fields)}")

    def _leave_out_token(self) -> None:
        self.outcome.token_left_out = True
        self.outcome.notes.append(
            f"{TOKEN_NOTE}: the recording ends before it and no client_secret was given for a standard "
            f"one (RFC 6749 §4.1.3); to include it, {self.r.secrets.how_to_give('client_secret')}")

    def _recorded_token(self, recorded: Hop, code: str, fresh: Fresh) -> backchannel.Outgoing:
        body = body_params(recorded)
        replace = {"code": code}
        if fresh.verifier and param(body, "code_verifier") is not None:
            replace["code_verifier"] = fresh.verifier
        replace.update(self._client_replacements(recorded))
        return backchannel.rebuild(recorded, self._live(recorded), replace, client=self._basic(recorded))

    def _standard_token(self, code: str, fresh: Fresh) -> backchannel.Outgoing:
        metadata, endpoint = self._metadata()
        if endpoint is None:
            raise ReplayStopped("the recording has no token request and the target publishes no metadata with a "
                                "token_endpoint, so the replay cannot finish the flow")
        method = backchannel.choose_client_auth(self.r.client_auth, metadata)
        client_id = self._client_ids([("client_id", self.flow.client_id or "")])[0][1]
        secret = self.live_secret or self.r.secrets.value("client_secret")
        if method != "none" and secret is None:
            raise ReplayStopped("no client_secret for the token request; give it with --secret "
                                "client_secret=ENVVAR (or --client-auth none)")
        return backchannel.standard_token_request(
            endpoint, code=code, redirect_uri=self.flow.redirect_uri, client_id=client_id,
            verifier=fresh.verifier, method=method, secret=secret)

    def _metadata(self) -> tuple[dict | None, str | None]:
        """The live server's metadata and token endpoint (recorded metadata URLs first, then the well-known ones)."""
        base = self.r.targets.live_url(target_url(self.flow.authorize))
        candidates = [self.r.targets.live_url(target_url(hop)) for hop in self.flow.metadata]
        candidates += [origin(base) + suffix for suffix in WELL_KNOWN]
        for url in dict.fromkeys(u for u in candidates if u):
            hop = self.session.send("GET", url, headers=[("Accept", "application/json")], listener=BACK_CHANNEL)
            document = hop.resp_json() if hop.status == 200 else None
            if isinstance(document, dict) and isinstance(document.get("token_endpoint"), str):
                endpoint = self.r.targets.follow(document["token_endpoint"])
                if endpoint is None:
                    raise ReplayStopped(f"the target's token_endpoint {short_url(document['token_endpoint'])} is "
                                        f"not a --target; the replay sent nothing there")
                return document, endpoint
        return None, None

    def _later(self) -> None:
        for recorded in self.flow.later:
            live = self.r.targets.live_url(target_url(recorded))
            if live is None:
                self.outcome.notes.append(f"not replayed: {recorded.method} {short_url(target_url(recorded))} "
                                          f"(not a --target)")
                continue
            if param(body_params(recorded), "grant_type") == "refresh_token":
                self._refresh(recorded, live)
            else:
                self._resource(recorded, live)

    def _refresh(self, recorded: Hop, live: str) -> None:
        token = (self.outcome.tokens or {}).get("refresh_token")
        if not token:
            self.outcome.notes.append("the live token response has no refresh_token: the recorded refresh was "
                                      "not replayed")
            return
        replace = {"refresh_token": str(token), **self._client_replacements(recorded)}
        hop = self._send_back(backchannel.rebuild(recorded, live, replace, client=self._basic(recorded)))
        fields = token_fields(hop)
        if hop.status and 200 <= hop.status < 300 and fields and fields.get("access_token"):
            self.outcome.tokens = {**self.outcome.tokens, **fields}
        elif (recorded.status or 500) < 400:
            self.outcome.problems.append(f"the refresh request failed: {_failure(hop, fields)}")

    def _resource(self, recorded: Hop, live: str) -> None:
        access = str((self.outcome.tokens or {}).get("access_token", ""))
        hop = self._send_back(backchannel.rebuild(recorded, live, {}, bearer=access))
        if (hop.status or 500) >= 400 and (recorded.status or 500) < 400:
            self.outcome.problems.append(f"{recorded.method} {short_url(live)} answered {hop.status} with the live "
                                         f"access token (recorded: {recorded.status})")

    def _register(self) -> None:
        for recorded in self.flow.registrations:
            hop = self._send_back(backchannel.rebuild(recorded, self._live(recorded), {}))
            answer, before = hop.resp_json(), recorded.resp_json()
            if not (isinstance(answer, dict) and answer.get("client_id")):
                raise ReplayStopped(f"dynamic client registration failed: {_failure(hop, answer)}")
            if isinstance(before, dict) and before.get("client_id"):
                self.client_ids[str(before["client_id"])] = str(answer["client_id"])
            if answer.get("client_secret"):
                self.live_secret = str(answer["client_secret"])

    # -- helpers ---------------------------------------------------------------------------------------

    def _send_back(self, outgoing: backchannel.Outgoing) -> Hop:
        return self.session.send(outgoing.method, outgoing.url, headers=outgoing.headers, body=outgoing.body,
                                 listener=BACK_CHANNEL)

    def _live(self, hop: Hop) -> str:
        live = self.r.targets.live_url(target_url(hop))
        if live is None:  # check_targets ran before any request; this is a second lock on the same door
            raise ReplayStopped(f"{short_url(target_url(hop))} is not a --target")
        return live

    def _client_ids(self, pairs: Pairs) -> Pairs:
        return [(k, self.client_ids.get(v, v) if k == "client_id" else v) for k, v in pairs]

    def _client_replacements(self, recorded: Hop) -> dict[str, str | None]:
        body = body_params(recorded)
        replace: dict[str, str | None] = {}
        client_id = param(body, "client_id")
        if client_id in self.client_ids:
            replace["client_id"] = self.client_ids[client_id]
        if param(body, "client_secret") is not None:
            replace["client_secret"] = self._secret(param(body, "client_secret"))
        return replace

    def _basic(self, recorded: Hop) -> tuple[str, str] | None:
        creds = basic_credentials(recorded)
        if creds is None:
            return None
        client_id = creds[0] if usable(creds[0]) else (self.flow.client_id or "")
        return self.client_ids.get(client_id, client_id), self._secret(creds[1]) or ""

    def _secret(self, recorded: str | None) -> str | None:
        return self.live_secret or self.r.secrets.value("client_secret", recorded)

    def _recorded_verifier(self) -> str | None:
        return param(body_params(self.flow.token), "code_verifier") if self.flow.token else None


def _response_params(url: str) -> Pairs:
    fragment = fragment_pairs(url)
    if any(name in ("code", "error", "access_token", "id_token") for name, _ in fragment):
        return fragment
    return query_pairs(url)


def _failure(hop: Hop, fields) -> str:
    if hop.error:
        return hop.error
    error = fields.get("error") if isinstance(fields, dict) else None
    description = fields.get("error_description") if isinstance(fields, dict) else None
    text = f"{hop.status}"
    if error:
        text += f" {error}"
    if description:
        text += f" ({str(description)[:120]})"
    return text
