"""Who sent each hop to whom: the parties of an OAuth flow, read from the hops' roles and origins, never from
host names.

Browser, Client (the relying party's server), Provider (the authorization server) and the Resource server (an
API or MCP server the client calls with its token, and that server's own metadata, RFC 9728).
"""

from __future__ import annotations

from dataclasses import dataclass

from oauthtrace.model import Hop
from oauthtrace.params import origin, path

BROWSER, CLIENT, PROVIDER, RESOURCE = "Browser", "Client", "Provider", "RS"
PARTY_LABELS = {BROWSER: "Browser", CLIENT: "Client", PROVIDER: "Provider", RESOURCE: "Resource server"}
PARTY_ORDER = (BROWSER, CLIENT, PROVIDER, RESOURCE)

_FRONT_ROLES = ("authorize", "login", "consent", "callback")
_PROVIDER_ROLES = ("authorize", "login", "consent", "token", "refresh", "registration")
_CLIENT_SENT_ROLES = ("token", "refresh", "registration", "metadata", "resource")
PRM_PATH = "/.well-known/oauth-protected-resource"


@dataclass
class Parties:
    """The origins each party answered from, learnt from the hops given (a trace, or one exchange)."""

    provider: set[str]
    client: set[str]
    resource: set[str]
    roles: dict[int, str]

    @classmethod
    def of(cls, hops: list[Hop], roles: dict[int, str]) -> "Parties":
        provider = {_origin(hop) for hop in hops if roles.get(hop.seq) in _PROVIDER_ROLES}
        provider |= {_origin(hop) for hop in hops if roles.get(hop.seq) == "metadata" and not is_prm(hop)}
        client = {_origin(hop) for hop in hops if roles.get(hop.seq) == "callback"}
        resource = {_origin(hop) for hop in hops
                    if roles.get(hop.seq) == "resource" or (roles.get(hop.seq) == "metadata" and is_prm(hop))}
        return cls(provider, client - provider, resource - provider - client, roles)

    def sender(self, hop: Hop) -> str:
        role = self.roles.get(hop.seq)
        if role in _FRONT_ROLES:
            return BROWSER
        if role in _CLIENT_SENT_ROLES or hop.is_reverse:
            return CLIENT
        return BROWSER

    def receiver(self, hop: Hop) -> str | None:
        """The party that answered, or None for a page, an image or an API of some other party: not part of
        the OAuth picture."""
        role = self.roles.get(hop.seq)
        where = _origin(hop)
        if role == "callback":
            return CLIENT
        if role == "metadata" and is_prm(hop):
            return RESOURCE
        if role in _PROVIDER_ROLES or role == "metadata":
            return PROVIDER
        if where in self.provider:
            return PROVIDER
        if where in self.client:
            return CLIENT
        if where in self.resource or role == "resource":
            return RESOURCE
        return None

    def route(self, hop: Hop) -> tuple[str, str]:
        """(sender, receiver) for a view that draws every hop: a hop to no known party goes to the Client (a
        page the browser loads) or, sent by the client's server, to the Provider."""
        receiver = self.receiver(hop)
        if receiver is None:
            receiver = PROVIDER if hop.is_reverse else CLIENT
        return self.sender(hop), receiver


def _origin(hop: Hop) -> str:
    return origin(hop.upstream_url or hop.url)


def is_prm(hop: Hop) -> bool:
    """A request for protected resource metadata (RFC 9728), which the resource server answers."""
    return PRM_PATH in path(hop.upstream_url or hop.url)
