"""Group classified hops into exchanges (one OAuth flow each), joining the front and the back channel.

Every join is a dict lookup, so the cost grows linearly with the hops:
- front channel: the redirect chain (Location / form_post targets), the Referer of form posts, then `state`;
- back channel: `code`, then PKCE (BASE64URL(SHA256(code_verifier)) == code_challenge), then client_id with
  redirect_uri; refreshes by the refresh token issued, resource calls by the access token issued;
- discovery (metadata, registration, the unauthenticated 401) goes with the flow that follows it.
Hops that match nothing start an exchange of their own, so rules still see a callback or a token request whose
other half was not recorded.
"""

from __future__ import annotations

import bisect
from operator import attrgetter

from oauthtrace.analysis.classify import (
    FRONT_ROLES, carries_response, is_pushed_request, redirect_sources, without_fragment,
)
from oauthtrace.analysis.oauth import (
    authz_response_params, basic_credentials, body_params, callback_params, first_values, param, request_params,
    token_fields,
)
from oauthtrace.digests import s256
from oauthtrace.model import Exchange, Hop
from oauthtrace.params import base_url, origin

def correlate(hops: list[Hop], roles: dict[int, str], *, sources: dict[int, Hop] | None = None) -> list[Exchange]:
    """Exchanges ordered by their first hop; each hop belongs to at most one exchange.

    `sources` (hop seq -> the hop that redirected to it) is recomputed when the caller does not pass it.
    """
    return _Joiner(hops, roles, sources).run()


def _start(hop: Hop) -> tuple[float, int]:
    return (hop.started or 0.0, hop.seq)


_EARLIEST = attrgetter("earliest")


class _Flow:
    """An exchange being built, with what the lookups need."""

    __slots__ = ("first", "hops", "authorize", "authz_response", "callback", "tokens", "refreshes",
                 "registrations", "metadata", "resources", "pushed", "client_id", "redirect_uri", "earliest",
                 "_endpoint")

    def __init__(self, first: Hop):
        self.first = first
        self.hops: dict[int, Hop] = {}
        self.authorize: Hop | None = None
        self.authz_response: Hop | None = None
        self.callback: Hop | None = None
        self.tokens: list[Hop] = []
        self.refreshes: list[Hop] = []
        self.registrations: list[Hop] = []
        self.metadata: list[Hop] = []
        self.resources: list[Hop] = []
        self.pushed: list[Hop] = []
        self.client_id: str | None = None
        self.redirect_uri: str | None = None
        self.earliest: tuple[float, int] | None = None  # _start of its earliest hop: exchanges are in that order
        self._endpoint: str | None = None

    def endpoint(self) -> str:
        """The base URL of the flow's authorization request, computed once: discovery hops compare it often."""
        if self._endpoint is None:
            self._endpoint = base_url(self.authorize.url)
        return self._endpoint

    @property
    def delivered(self) -> bool:
        return self.callback is not None or self.authz_response is not None


class _Joiner:
    def __init__(self, hops: list[Hop], roles: dict[int, str], sources: dict[int, Hop] | None):
        self.hops = hops
        self.roles = roles
        self.sources = sources if sources is not None else redirect_sources(hops)
        self.flows: list[_Flow] = []
        self.owner: dict[int, _Flow] = {}
        self.linked: set[int] = set()  # hops attached by a redirect chain or Referer, not by a guess
        self.by_state: dict[str, _Flow] = {}
        self.by_code: dict[str, list[_Flow]] = {}
        self.by_challenge: dict[str, _Flow] = {}
        self.by_client: dict[tuple, _Flow] = {}  # (client_id, redirect_uri) -> latest flow
        # A flow stays in the next two after its callback came (it is only ever overwritten): a lookup skips it
        # then, which is what taking it out at its callback did, without the callback's URL parsed for it.
        self.by_redirect_base: dict[str, _Flow] = {}  # redirect_uri base -> latest flow
        self.by_origin: dict[str, _Flow] = {}  # provider origin -> latest flow; see _awaiting_at
        self.origins_indexed = 0  # how many of self.starters are in by_origin
        self.by_page: dict[str, Hop] = {}  # front-channel URL -> latest hop, for the Referer of form posts
        self.by_refresh: dict[str, _Flow] = {}
        self.by_access: dict[str, _Flow] = {}
        self.by_request_uri: dict[str, _Flow] = {}  # PAR request_uri -> the flow whose authorize used it
        self.discovery: list[Hop] = []
        # the flows started by an authorization request, and its start, both in that order (the front channel
        # is joined in start order): discovery hops look here for the flow that follows them, _awaiting_at for
        # the origins to index
        self.starters: list[_Flow] = []
        self.starts: list[tuple[float, int]] = []
        self.pushed: list[Hop] = []

    # -- driver ----------------------------------------------------------------------------------

    def run(self) -> list[Exchange]:
        front, back, refresh, resource = self._groups()
        for hop in front:
            self._front(hop)
        for hop in back:
            self._token(hop)
        for hop in refresh:
            self._refresh(hop)
        for hop in resource:
            self._resource(hop)
        self._attach_pushed()
        self._attach_discovery()
        return self._exchanges()

    def _groups(self) -> tuple[list[Hop], list[Hop], list[Hop], list[Hop]]:
        """The front-channel, token, refresh and resource hops, each in start order; discovery and pushed
        requests go to self.discovery and self.pushed."""
        front, back, refresh, resource = [], [], [], []
        group_of = {role: front for role in FRONT_ROLES}
        group_of.update(token=back, refresh=refresh, resource=resource, metadata=self.discovery,
                        registration=self.discovery)
        role_of = self.roles.get
        # split first, then each group into start order: most hops belong to no group and need no sorting (a
        # stable sort of a group gives the order it had within all the hops sorted). A recording is written in
        # start order, so usually no group needs sorting at all: the order is checked here, where each hop is
        # read anyway (reading 50k hops again just for their start times costs as much as sorting them)
        in_order, previous = True, None
        for hop in self.hops:
            role = role_of(hop.seq, "other")
            group = group_of.get(role)
            if group is None:
                if role != "other" or hop.method != "POST" or not is_pushed_request(hop):  # GETs cannot push
                    continue
                group = self.pushed
            group.append(hop)
            start = _start(hop)
            if in_order and previous is not None and start < previous:
                in_order = False
            previous = start
        if not in_order:
            for group in (front, back, refresh, resource, self.discovery, self.pushed):
                group.sort(key=_start)
        return front, back, refresh, resource

    # -- front channel ---------------------------------------------------------------------------

    def _front(self, hop: Hop) -> None:
        role = self.roles[hop.seq]
        if role == "authorize":
            self._authorize(hop)
        elif role == "callback":
            self._callback(hop)
        else:
            flow = self._chained(hop)
            if flow is None:
                flow = self._awaiting_at(hop.url)
                if flow is not None:
                    self._add(flow, hop)
            if flow is not None:
                self._maybe_response(flow, hop)
        self.by_page[without_fragment(hop.url)] = hop

    def _chained(self, hop: Hop) -> _Flow | None:
        """The flow of the hop that redirected here, or of the page whose form was posted here."""
        source = self.sources.get(hop.seq)
        if source is None and hop.method == "POST":
            referer = hop.req_header("referer")
            source = self.by_page.get(without_fragment(referer)) if referer else None
        flow = self.owner.get(source.seq) if source is not None else None
        if flow is not None:
            self._add(flow, hop)
            self.linked.add(hop.seq)
        return flow

    def _authorize(self, hop: Hop) -> None:
        first = first_values(request_params(hop))
        client_id = first.get("client_id") or None
        source = self.sources.get(hop.seq)
        chained = self.owner.get(source.seq) if source is not None else None
        if chained is not None and not chained.delivered and chained.client_id == client_id:
            # the provider sent the browser back to /authorize (after login, say): the same flow
            self._add(chained, hop)
            self.linked.add(hop.seq)
            self._maybe_response(chained, hop)
            return
        flow = self._new(hop)
        self.linked.add(hop.seq)  # an authorization request is certain of its own flow
        flow.authorize = hop
        self.starters.append(flow)
        self.starts.append(_start(hop))
        flow.client_id = client_id
        flow.redirect_uri = first.get("redirect_uri") or None
        state = first.get("state")
        if state:
            self.by_state[state] = flow
        challenge = first.get("code_challenge")
        if challenge:
            self.by_challenge[challenge] = flow
        self.by_client[(client_id, flow.redirect_uri)] = flow
        request_uri = first.get("request_uri")
        if request_uri:
            self.by_request_uri[request_uri] = flow
        if flow.redirect_uri:
            self.by_redirect_base[base_url(flow.redirect_uri)] = flow
        self._maybe_response(flow, hop)

    def _awaiting_at(self, url: str) -> _Flow | None:
        """The latest flow whose authorization request went to this URL's origin, unless its callback came: a
        provider page reached neither by a redirect nor by a form is taken to belong to it. Few pages ask, so
        the origins of the authorization requests are indexed when one does (those joined so far), not each
        as it is joined."""
        for flow in self.starters[self.origins_indexed:]:
            self.by_origin[origin(flow.authorize.url)] = flow
        self.origins_indexed = len(self.starters)
        flow = self.by_origin.get(origin(url))
        return flow if flow is not None and flow.callback is None else None

    def _callback(self, hop: Hop) -> None:
        params = callback_params(hop)
        state = param(params, "state")
        source = self.sources.get(hop.seq)
        by_chain = self.owner.get(source.seq) if source is not None else None
        by_state = self.by_state.get(state) if state else None
        if by_chain is not None and (source.seq in self.linked or by_state is None):
            flow = by_chain
        elif by_state is not None:
            flow = by_state
            if source is not None and by_chain is not None and by_chain is not by_state:
                self._move(source, by_chain, flow)  # the guess that attached the provider's redirect was wrong
        elif by_chain is not None:
            flow = by_chain
        else:
            flow = self.by_redirect_base.get(base_url(hop.url))
            if flow is None or flow.callback is not None:  # delivered already: another flow's callback
                flow = self._new(hop)
        self._add(flow, hop)
        if flow.callback is None:
            flow.callback = hop
            # the parse last: usually the provider's redirect is the flow's response already
            if (source is not None and self.owner.get(source.seq) is flow and flow.authz_response is not source
                    and carries_response(source)):
                flow.authz_response = source
        # delivered: from now on, later pages at this provider and callbacks without state belong to another
        # flow (by_origin and by_redirect_base skip a flow whose callback came)
        code = param(params, "code")
        if code:
            self._index_code(code, flow)

    def _maybe_response(self, flow: _Flow, hop: Hop) -> None:
        """A provider hop whose redirect or auto-posted form carries the authorization response."""
        if flow.authz_response is None and carries_response(hop):
            flow.authz_response = hop
            pairs, _ = authz_response_params(hop)
            code = param(pairs, "code")
            if code:
                self._index_code(code, flow)

    def _index_code(self, code: str, flow: _Flow) -> None:
        flows = self.by_code.setdefault(code, [])
        if flow not in flows:
            flows.append(flow)

    # -- back channel ----------------------------------------------------------------------------

    def _token(self, hop: Hop) -> None:
        body = first_values(body_params(hop))
        flow = self._by_code(body.get("code"), hop)
        verifier = body.get("code_verifier")
        if flow is None and verifier:
            flow = self.by_challenge.get(s256(verifier))
        client_id = body.get("client_id") or _basic_client(hop)
        if flow is None and _redeems_a_code(body):
            # a client credentials request (classify names it a token request too) belongs to no login
            flow = self.by_client.get((client_id, body.get("redirect_uri") or None))
        if flow is None:
            flow = self._new(hop)
            flow.client_id = client_id
        self._add(flow, hop)
        flow.tokens.append(hop)
        self._index_tokens(flow, hop)

    def _by_code(self, code: str | None, hop: Hop) -> _Flow | None:
        flows = self.by_code.get(code) if code else None
        if not flows:
            return None
        if len(flows) == 1:
            return flows[0]  # the usual case: earlier than the request or not, the only flow
        # the same code in two flows (a weak provider): the latest flow delivered before this request
        asked = _start(hop)
        earlier = [f for f in flows if _start(f.first) <= asked]
        return (earlier or flows)[-1]

    def _refresh(self, hop: Hop) -> None:
        token = param(body_params(hop), "refresh_token")
        flow = self.by_refresh.get(token) if token else None
        if flow is None:
            flow = self._new(hop)
        self._add(flow, hop)
        flow.refreshes.append(hop)
        self._index_tokens(flow, hop)

    def _index_tokens(self, flow: _Flow, hop: Hop) -> None:
        fields = token_fields(hop) or {}
        for name, index in (("refresh_token", self.by_refresh), ("access_token", self.by_access)):
            value = fields.get(name)
            if isinstance(value, str) and value:
                index[value] = flow

    def _resource(self, hop: Hop) -> None:
        scheme, _, token = (hop.req_header("authorization") or "").partition(" ")
        flow = self.by_access.get(token.strip()) if token.strip() else None
        if flow is None:
            self.discovery.append(hop)
            return
        self._add(flow, hop)
        flow.resources.append(hop)

    # -- pushed authorization requests (RFC 9126) -------------------------------------------------

    def _attach_pushed(self) -> None:
        """A pushed request goes with the authorization request that used its request_uri; a refused one (no
        request_uri to follow) is an exchange of its own, since the client stops there."""
        for hop in self.pushed:
            answer = hop.resp_json()
            request_uri = answer.get("request_uri") if isinstance(answer, dict) else None
            flow = self.by_request_uri.get(request_uri) if isinstance(request_uri, str) else None
            if flow is None:
                flow = self._new(hop)
                flow.client_id = param(body_params(hop), "client_id") or _basic_client(hop)
            self._add(flow, hop)
            flow.pushed.append(hop)

    # -- discovery -------------------------------------------------------------------------------

    def _attach_discovery(self) -> None:
        """Metadata, registration and unauthenticated resource calls go with the flow that follows them."""
        if not self.discovery:
            return
        starters, starts = self.starters, self.starts
        leftovers: list[Hop] = []
        for hop in sorted(self.discovery, key=_start):
            flow = self._discovery_flow(hop, starters, bisect.bisect_left(starts, _start(hop)))
            if flow is None:
                leftovers.append(hop)
            else:
                self._file_discovery(flow, hop)
        if leftovers:
            flow = self._new(leftovers[0])
            for hop in leftovers:
                self._file_discovery(flow, hop)

    def _discovery_flow(self, hop: Hop, starters: list[_Flow], after: int) -> _Flow | None:
        following = starters[after:after + 50]
        claim = _claim(hop)
        if claim is not None:
            kind, value = claim
            for flow in following:
                if value == (flow.client_id if kind == "client_id" else flow.endpoint()):
                    return flow
        if following:
            return following[0]
        return starters[after - 1] if after > 0 else None

    def _file_discovery(self, flow: _Flow, hop: Hop) -> None:
        self._add(flow, hop)
        role = self.roles.get(hop.seq)
        if role == "metadata":
            flow.metadata.append(hop)
        elif role == "registration":
            flow.registrations.append(hop)
        else:
            flow.resources.append(hop)

    # -- bookkeeping -----------------------------------------------------------------------------

    def _new(self, first: Hop) -> _Flow:
        flow = _Flow(first)
        self.flows.append(flow)
        self._add(flow, first)
        return flow

    def _add(self, flow: _Flow, hop: Hop) -> None:
        flow.hops[hop.seq] = hop
        self.owner[hop.seq] = flow
        start = _start(hop)  # here, while the hop is at hand, rather than in a pass over all hops at the end
        if flow.earliest is None or start < flow.earliest:
            flow.earliest = start

    def _move(self, hop: Hop, old: _Flow, new: _Flow) -> None:
        old.hops.pop(hop.seq, None)
        if old.authz_response is hop:
            old.authz_response = None
        old.earliest = min(map(_start, old.hops.values()), default=None)
        self._add(new, hop)

    def _exchanges(self) -> list[Exchange]:
        flows = [f for f in self.flows if f.hops]
        flows.sort(key=_EARLIEST)
        role_of = self.roles.get
        out = []
        for index, flow in enumerate(flows, start=1):
            seqs = sorted(flow.hops)  # flow.hops is keyed by seq: no hop is read again
            hops = list(map(flow.hops.__getitem__, seqs))
            out.append(Exchange(
                index=index, hops=hops, authorize=flow.authorize, authz_response=flow.authz_response,
                callback=flow.callback, tokens=flow.tokens, refreshes=flow.refreshes,
                registrations=flow.registrations, metadata=flow.metadata, resources=flow.resources,
                roles={seq: role_of(seq, "other") for seq in seqs}, pushed=flow.pushed,
            ))
        return out


def _redeems_a_code(body: dict[str, str]) -> bool:
    """A token request's body (first_values) asks for the authorization code grant, by name or by carrying a code
    (GitHub's names no grant_type)."""
    return body.get("grant_type") == "authorization_code" or bool(body.get("code"))


def _basic_client(hop: Hop) -> str | None:
    credentials = basic_credentials(hop)
    return credentials[0] if credentials else None


def _claim(hop: Hop) -> tuple[str, object] | None:
    """What evidently ties a discovery hop to a flow, read once per hop: ("client_id", the document's client_id),
    to compare with the flow's client_id, or ("endpoint", the base URL of its authorization_endpoint), to compare
    with the base URL of the flow's authorization request; None when the document names neither."""
    document = hop.resp_json()
    if not isinstance(document, dict):
        return None
    if "client_id" in document:
        return "client_id", document.get("client_id")
    endpoint = document.get("authorization_endpoint")
    if isinstance(endpoint, str):
        return "endpoint", base_url(endpoint)
    return None
