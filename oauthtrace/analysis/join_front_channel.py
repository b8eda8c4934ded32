"""The front channel's joins: an authorization request starts a flow, and the pages, redirects and callback that
follow join it by the redirect chain, the Referer of form posts, then `state`. Each is a dict lookup.
"""

from __future__ import annotations

from oauthtrace.analysis.join_state import Flow, JoinState
from oauthtrace.analysis.oauth import authz_response_params, callback_params, first_values, param, request_params
from oauthtrace.analysis.redirects import carries_response, start_order, without_fragment
from oauthtrace.model import Hop
from oauthtrace.params import base_url, origin


class FrontChannelJoin(JoinState):
    """The front-channel hops (authorize, login, consent, callback), joined in start order."""

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

    def _chained(self, hop: Hop) -> Flow | None:
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
        self.starts.append(start_order(hop))
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

    def _awaiting_at(self, url: str) -> Flow | None:
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

    def _maybe_response(self, flow: Flow, hop: Hop) -> None:
        """A provider hop whose redirect or auto-posted form carries the authorization response."""
        if flow.authz_response is None and carries_response(hop):
            flow.authz_response = hop
            pairs, _ = authz_response_params(hop)
            code = param(pairs, "code")
            if code:
                self._index_code(code, flow)

    def _index_code(self, code: str, flow: Flow) -> None:
        flows = self.by_code.setdefault(code, [])
        if flow not in flows:
            flows.append(flow)
