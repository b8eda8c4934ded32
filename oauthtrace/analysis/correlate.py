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

from operator import attrgetter

from oauthtrace.analysis.classify import FRONT_ROLES
from oauthtrace.analysis.join_back_channel import BackChannelJoin
from oauthtrace.analysis.join_discovery import DiscoveryJoin
from oauthtrace.analysis.join_front_channel import FrontChannelJoin
from oauthtrace.analysis.redirects import start_order
from oauthtrace.analysis.request_roles import is_pushed_request
from oauthtrace.digests import s256
from oauthtrace.model import Exchange, Hop

# s256 is imported from here by the tests that build PKCE flows (the digest the back channel joins by)
__all__ = ["correlate", "s256"]


def correlate(hops: list[Hop], roles: dict[int, str], *, sources: dict[int, Hop] | None = None) -> list[Exchange]:
    """Exchanges ordered by their first hop; each hop belongs to at most one exchange.

    `sources` (hop seq -> the hop that redirected to it) is recomputed when the caller does not pass it.
    """
    return _Joiner(hops, roles, sources).run()


_EARLIEST = attrgetter("earliest")


class _Joiner(FrontChannelJoin, BackChannelJoin, DiscoveryJoin):
    """The joins in the order they need each other: the front channel starts the flows, the back channel finds
    them by what the front channel indexed, discovery goes with the flows that follow it."""

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
            start = start_order(hop)
            if in_order and previous is not None and start < previous:
                in_order = False
            previous = start
        if not in_order:
            for group in (front, back, refresh, resource, self.discovery, self.pushed):
                group.sort(key=start_order)
        return front, back, refresh, resource

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
