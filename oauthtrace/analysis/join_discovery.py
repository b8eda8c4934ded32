"""Discovery's join: metadata, registration and unauthenticated resource calls go with the flow that follows
them, the one whose client_id or authorization endpoint the document names when it names one.
"""

from __future__ import annotations

import bisect

from oauthtrace.analysis.join_state import Flow, JoinState
from oauthtrace.analysis.redirects import start_order
from oauthtrace.model import Hop
from oauthtrace.params import base_url


class DiscoveryJoin(JoinState):
    """Discovery hops, joined last: the flows they precede are all known by then."""

    def _attach_discovery(self) -> None:
        """Metadata, registration and unauthenticated resource calls go with the flow that follows them."""
        if not self.discovery:
            return
        starters, starts = self.starters, self.starts
        leftovers: list[Hop] = []
        for hop in sorted(self.discovery, key=start_order):
            flow = self._discovery_flow(hop, starters, bisect.bisect_left(starts, start_order(hop)))
            if flow is None:
                leftovers.append(hop)
            else:
                self._file_discovery(flow, hop)
        if leftovers:
            flow = self._new(leftovers[0])
            for hop in leftovers:
                self._file_discovery(flow, hop)

    def _discovery_flow(self, hop: Hop, starters: list[Flow], after: int) -> Flow | None:
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

    def _file_discovery(self, flow: Flow, hop: Hop) -> None:
        self._add(flow, hop)
        role = self.roles.get(hop.seq)
        if role == "metadata":
            flow.metadata.append(hop)
        elif role == "registration":
            flow.registrations.append(hop)
        else:
            flow.resources.append(hop)


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
