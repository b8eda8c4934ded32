"""What a recording says the client did, flow by flow: the part a replay plays again.

The analysis already knows the roles and the exchanges; this module picks out of each exchange the requests the
replayer re-sends (authorize, the user's form posts, token, refresh, registration, resource calls) and where the
client's callback is (recognised, never contacted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from oauthtrace.analysis.classify import classify, redirect_targets
from oauthtrace.analysis.correlate import correlate
from oauthtrace.analysis.oauth import basic_credentials, body_params, param, request_params
from oauthtrace.errors import UserError
from oauthtrace.model import Hop
from oauthtrace.params import base_url, origin
from oauthtrace.replay.secrets import Secrets, usable
from oauthtrace.replay.session import Targets

CLIENT_AUTH = ("basic", "post", "none")


@dataclass
class RecordedFlow:
    index: int
    authorize: Hop
    submissions: list[Hop] = field(default_factory=list)  # the user's form posts at the provider, in order
    callback_base: str | None = None  # the client's redirect_uri without query: where the walk stops
    token: Hop | None = None
    later: list[Hop] = field(default_factory=list)  # refreshes and resource calls after the token, in order
    registrations: list[Hop] = field(default_factory=list)
    metadata: list[Hop] = field(default_factory=list)

    @property
    def params(self):
        return request_params(self.authorize)

    @property
    def client_id(self) -> str | None:
        return param(self.params, "client_id")

    @property
    def redirect_uri(self) -> str | None:
        return param(self.params, "redirect_uri")


def target_url(hop: Hop) -> str:
    """The provider URL a recorded request was for (a reverse listener's hop keeps it in upstream_url)."""
    return hop.upstream_url or hop.url


def recorded_flows(hops: list[Hop]) -> list[RecordedFlow]:
    hops = sorted(hops, key=lambda hop: hop.seq)
    roles = classify(hops)
    flows = []
    for exchange in correlate(hops, roles):
        if exchange.authorize is None:
            if flows:  # a refresh or API call the analysis could not join: it can only use the last flow's tokens
                flows[-1].later = sorted(flows[-1].later + exchange.refreshes + exchange.resources,
                                         key=lambda hop: hop.seq)
            continue
        flow = RecordedFlow(index=len(flows) + 1, authorize=exchange.authorize)
        end = exchange.authz_response.seq if exchange.authz_response is not None else None
        for hop in exchange.hops:
            if hop.seq <= flow.authorize.seq or hop.is_reverse or hop.method != "POST":
                continue
            if end is not None and hop.seq > end:
                continue
            if roles.get(hop.seq) in ("login", "consent", "authorize", "other") and hop.form:
                flow.submissions.append(hop)
        flow.callback_base = _callback_base(flow, exchange)
        flow.token = exchange.tokens[0] if exchange.tokens else None
        flow.later = sorted(exchange.refreshes + exchange.resources, key=lambda hop: hop.seq)
        flow.registrations = list(exchange.registrations)
        flow.metadata = list(exchange.metadata)
        flows.append(flow)
    return flows


def _callback_base(flow: RecordedFlow, exchange) -> str | None:
    if flow.redirect_uri:
        return base_url(flow.redirect_uri)
    if exchange.callback is not None:
        return base_url(exchange.callback.url)
    if exchange.authz_response is not None:
        targets = redirect_targets(exchange.authz_response)
        if targets:
            return base_url(urljoin(exchange.authz_response.url, targets[0]))
    return None


# -- checks before any request is sent ---------------------------------------------------------------------------


def check_targets(flows: list[RecordedFlow], targets: Targets) -> None:
    """Every provider origin the replay must talk to is a --target (the user named each host that gets traffic)."""
    needed = []
    for flow in flows:
        for hop in [flow.authorize, *flow.submissions, *flow.registrations, *([flow.token] if flow.token else [])]:
            if targets.live_url(target_url(hop)) is None:
                needed.append(origin(target_url(hop)))
    if needed:
        unique = list(dict.fromkeys(needed))
        raise UserError(
            f"no --target for {', '.join(unique)}; map each recorded origin to the server to test, e.g. "
            f"--target {unique[0]}=http://127.0.0.1:8000"
        )


def check_supported(flows: list[RecordedFlow]) -> None:
    for flow in flows:
        if param(flow.params, "request_uri"):
            raise UserError(f"flow {flow.index} uses a pushed authorization request (PAR); replaying PAR is not "
                            f"supported yet")


def missing_secrets(flows: list[RecordedFlow], secrets: Secrets, client_auth: str | None) -> list[str]:
    """The names of secrets the replay will send but has no value for.

    A token request the recording never held is not among what the replay must send (see unsent_token_requests):
    without a client secret it is left out, and the recorded part is replayed on its own — unless the user named
    where the secret comes from and that variable is unset. A redacted form field is not missing yet either: the
    live page may fill it in (Secrets.pick); the runner names it if that page does not."""
    missing: list[str] = []
    for flow in flows:
        for hop in flow.submissions:
            for name, value in hop.form:
                if not usable(value) and name in secrets.sources and secrets.value(name, value) is None:
                    missing.append(name)  # the user named a variable for it and that variable is unset
        if flow.registrations:  # the live registration gives the client its secret
            continue
        for hop in [flow.token, *[h for h in flow.later if h.method == "POST"]]:
            if hop is None:
                continue
            missing.extend(_client_secret_missing(hop, secrets))
        if flow.token is None and client_auth != "none" and "client_secret" in secrets.sources \
                and secrets.value("client_secret") is None:
            missing.append("client_secret")  # the user asked for the token request and named an unset variable
    return list(dict.fromkeys(missing))


def unsent_token_requests(flows: list[RecordedFlow], secrets: Secrets, client_auth: str | None) -> set[int]:
    """The flows whose token request the replay leaves out: the recording ends before it (the seed case: the
    provider dropped `state`, so the client never asked for a token) and nothing gives the secret a standard one
    would need. What was recorded is still replayed and compared; asking for a secret the recording never used
    would stop a replay that can answer the user's question (does `state` come back now?) without it."""
    if "client_secret" in secrets.sources:  # named: the user wants the token request (missing_secrets if unset)
        return set()
    return {flow.index for flow in flows
            if flow.token is None and not flow.registrations and client_auth != "none"
            and secrets.value("client_secret") is None}


def _client_secret_missing(hop: Hop, secrets: Secrets) -> list[str]:
    basic = basic_credentials(hop)
    recorded = basic[1] if basic else param(body_params(hop), "client_secret")
    if (basic or recorded is not None) and secrets.value("client_secret", recorded) is None:
        return ["client_secret"]
    assertion = param(body_params(hop), "client_assertion")
    if assertion and not usable(assertion):
        return ["client_assertion"]
    return []
