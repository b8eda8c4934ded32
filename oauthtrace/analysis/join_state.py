"""What correlate keeps while it joins hops into exchanges: each exchange being built (Flow), the indexes the
joins look flows up by, and the bookkeeping of which flow owns which hop. The joins themselves are in
join_front_channel, join_back_channel and join_discovery, each a part of correlate's joiner.
"""

from __future__ import annotations

from oauthtrace.analysis.redirects import redirect_sources, start_order
from oauthtrace.model import Hop
from oauthtrace.params import base_url


class Flow:
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
        self.earliest: tuple[float, int] | None = None  # start_order of its earliest hop: exchanges go by it
        self._endpoint: str | None = None

    def endpoint(self) -> str:
        """The base URL of the flow's authorization request, computed once: discovery hops compare it often."""
        if self._endpoint is None:
            self._endpoint = base_url(self.authorize.url)
        return self._endpoint

    @property
    def delivered(self) -> bool:
        return self.callback is not None or self.authz_response is not None


class JoinState:
    """The flows, the indexes the joins look them up by, and which flow owns each hop; a base of each join."""

    def __init__(self, hops: list[Hop], roles: dict[int, str], sources: dict[int, Hop] | None):
        self.hops = hops
        self.roles = roles
        self.sources = sources if sources is not None else redirect_sources(hops)
        self.flows: list[Flow] = []
        self.owner: dict[int, Flow] = {}
        self.linked: set[int] = set()  # hops attached by a redirect chain or Referer, not by a guess
        self.by_state: dict[str, Flow] = {}
        self.by_code: dict[str, list[Flow]] = {}
        self.by_challenge: dict[str, Flow] = {}
        self.by_client: dict[tuple, Flow] = {}  # (client_id, redirect_uri) -> latest flow
        # A flow stays in the next two after its callback came (it is only ever overwritten): a lookup skips it
        # then, which is what taking it out at its callback did, without the callback's URL parsed for it.
        self.by_redirect_base: dict[str, Flow] = {}  # redirect_uri base -> latest flow
        self.by_origin: dict[str, Flow] = {}  # provider origin -> latest flow; see _awaiting_at
        self.origins_indexed = 0  # how many of self.starters are in by_origin
        self.by_page: dict[str, Hop] = {}  # front-channel URL -> latest hop, for the Referer of form posts
        self.by_refresh: dict[str, Flow] = {}
        self.by_access: dict[str, Flow] = {}
        self.by_request_uri: dict[str, Flow] = {}  # PAR request_uri -> the flow whose authorize used it
        self.discovery: list[Hop] = []
        # the flows started by an authorization request, and its start, both in that order (the front channel
        # is joined in start order): discovery hops look here for the flow that follows them, _awaiting_at for
        # the origins to index
        self.starters: list[Flow] = []
        self.starts: list[tuple[float, int]] = []
        self.pushed: list[Hop] = []

    # -- bookkeeping -----------------------------------------------------------------------------

    def _new(self, first: Hop) -> Flow:
        flow = Flow(first)
        self.flows.append(flow)
        self._add(flow, first)
        return flow

    def _add(self, flow: Flow, hop: Hop) -> None:
        flow.hops[hop.seq] = hop
        self.owner[hop.seq] = flow
        start = start_order(hop)  # here, while the hop is at hand, rather than in a pass over all hops at the end
        if flow.earliest is None or start < flow.earliest:
            flow.earliest = start

    def _move(self, hop: Hop, old: Flow, new: Flow) -> None:
        old.hops.pop(hop.seq, None)
        if old.authz_response is hop:
            old.authz_response = None
        old.earliest = min(map(start_order, old.hops.values()), default=None)
        self._add(new, hop)
