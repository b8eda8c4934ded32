"""Authorization requests recognised by their answer: a browser GET with client_id but no response_type (GitHub's
OAuth apps send none) is one only when the provider later redirects the browser with code, error or tokens.
"""

from __future__ import annotations

from oauthtrace.analysis.oauth import authz_response_params, has_response_key, param, request_param
from oauthtrace.analysis.redirects import carries_response, may_redirect, start_order
from oauthtrace.model import Hop, Pairs
from oauthtrace.params import origin


def _carries_back_channel(pairs: Pairs) -> bool:
    """A code, an error, tokens or a client secret: what an authorization request never carries."""
    return has_response_key(pairs) or any(param(pairs, name) for name in _BACK_CHANNEL_NAMES)


_BACK_CHANNEL_NAMES = ("client_secret", "client_assertion", "refresh_token")


def answers_browser(hop: Hop) -> bool:
    """Answered by a page or a redirect, as a browser's request is; JSON answers an API call."""
    return (hop.status or 0) in range(300, 400) or hop.resp_content_type == "text/html"


def may_ask_bare(hop: Hop) -> bool:
    """A browser GET with client_id but no response_type (GitHub's; its redirect_uri is optional, the registered
    one is used), answered by a page or a redirect: an authorization request only if the traffic shows the answer —
    a payment or analytics link names client_id and redirect_uri too, and is answered by no code."""
    if hop.method != "GET" or not param(hop.query, "client_id"):
        return False  # the cheap test first: most hops name no client_id
    return answers_browser(hop) and not _carries_back_channel(hop.query)


def answered_bare_requests(ordered: list[Hop], bare: set[int], roles: dict[int, str],
                           sources: dict[int, Hop]) -> list[Hop]:
    """The bare requests (ids in `bare`; see may_ask_bare) that are authorization requests: the provider's origin
    later redirects the browser with code, error or tokens.

    One walk in start order. A bare request counts only when the browser came from elsewhere (the client sent
    it, or the user followed a link): the provider's own pages reached by its redirects or forms (GitHub's
    `/login?client_id=…&return_to=…`, a Keycloak login action) carry client_id too, but are steps of a flow. An
    answer goes to the request at its origin that sent the state it returns, else to the latest one, unless an
    authorization request in its own right came after that one.
    """
    awaiting: dict[str, list[Hop]] = {}  # provider origin -> its bare requests not answered yet, oldest first
    latest_named: dict[str, Hop] = {}  # provider origin -> its latest authorization request in its own right
    answered: list[Hop] = []
    for hop in ordered:
        if id(hop) in bare:
            where = origin(hop.url)
            source = sources.get(hop.seq)
            if source is None or origin(source.url) != where:
                waiting = awaiting.setdefault(where, [])
                waiting.append(hop)
                del waiting[:-_AWAITED]  # the oldest unanswered ones were something else
        elif awaiting and roles[hop.seq] == "authorize":
            latest_named[origin(hop.url)] = hop
        if awaiting and may_redirect(hop):
            where = origin(hop.url)
            waiting = awaiting.get(where)
            if waiting and carries_response(hop):
                asked = _asker(waiting, hop, latest_named.get(where))
                if asked is not None:
                    answered.append(asked)
                    waiting.remove(asked)
                    if not waiting:
                        del awaiting[where]
    return answered


_AWAITED = 16  # bare requests kept per origin while they wait for an answer


def _asker(waiting: list[Hop], answer: Hop, named: Hop | None) -> Hop | None:
    """Which waiting bare request `answer` (a redirect carrying an authorization response) answers."""
    pairs, _ = authz_response_params(answer)
    state = param(pairs, "state")
    if state:
        for hop in reversed(waiting):
            if param(hop.query, "state") == state:
                return hop
        if named is not None and request_param(named, "state") == state:
            return None  # it answers the authorization request in its own right
    latest = waiting[-1]
    if named is not None and start_order(named) > start_order(latest):
        return None  # the authorization request sent after it is the one answered
    return latest
