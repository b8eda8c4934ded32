"""The back channel's joins: a token request joins its flow by `code`, then PKCE
(BASE64URL(SHA256(code_verifier)) == code_challenge), then client_id with redirect_uri; a refresh by the refresh
token issued, a resource call by the access token issued, a pushed authorization request by its request_uri.
"""

from __future__ import annotations

from oauthtrace.analysis.join_state import Flow, JoinState
from oauthtrace.analysis.oauth import basic_credentials, body_params, first_values, param, token_fields
from oauthtrace.analysis.redirects import start_order
from oauthtrace.digests import s256
from oauthtrace.model import Hop


class BackChannelJoin(JoinState):
    """Token, refresh, resource and pushed requests, joined to the flows the front channel started."""

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

    def _by_code(self, code: str | None, hop: Hop) -> Flow | None:
        flows = self.by_code.get(code) if code else None
        if not flows:
            return None
        if len(flows) == 1:
            return flows[0]  # the usual case: earlier than the request or not, the only flow
        # the same code in two flows (a weak provider): the latest flow delivered before this request
        asked = start_order(hop)
        earlier = [f for f in flows if start_order(f.first) <= asked]
        return (earlier or flows)[-1]

    def _refresh(self, hop: Hop) -> None:
        token = param(body_params(hop), "refresh_token")
        flow = self.by_refresh.get(token) if token else None
        if flow is None:
            flow = self._new(hop)
        self._add(flow, hop)
        flow.refreshes.append(hop)
        self._index_tokens(flow, hop)

    def _index_tokens(self, flow: Flow, hop: Hop) -> None:
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


def _redeems_a_code(body: dict[str, str]) -> bool:
    """A token request's body (first_values) asks for the authorization code grant, by name or by carrying a code
    (GitHub's names no grant_type)."""
    return body.get("grant_type") == "authorization_code" or bool(body.get("code"))


def _basic_client(hop: Hop) -> str | None:
    credentials = basic_credentials(hop)
    return credentials[0] if credentials else None
