"""Family F: error responses — what the provider said, whether it said it in the form the RFCs require."""

from __future__ import annotations

from typing import Iterator

from oauthtrace.analysis.oauth import (
    authz_response_params, callback_params, param, request_params, shown, token_fields,
)
from oauthtrace.analysis.providers import named, provider_of
from oauthtrace.analysis.registry import Context, memo, rule, trait
from oauthtrace.analysis.rules._shared import facts, per_exchange
from oauthtrace.model import Exchange, Hit, Hop, first, is_redacted

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}

AUTHORIZATION_ERRORS = {  # RFC 6749 §4.1.2.1, §4.2.2.1
    "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type", "invalid_scope",
    "server_error", "temporarily_unavailable",
}
TOKEN_ERRORS = {  # RFC 6749 §5.2
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
    "invalid_scope",
}
OIDC_ERRORS = {  # OpenID Connect Core §3.1.2.6
    "interaction_required", "login_required", "account_selection_required", "consent_required",
    "invalid_request_uri", "invalid_request_object", "request_not_supported", "request_uri_not_supported",
    "registration_not_supported",
}
REGISTERED_EXTENSIONS = {  # IANA "OAuth Extensions Error Registry" (RFC 6749 §8.5)
    "invalid_token", "insufficient_scope",  # RFC 6750
    "unsupported_token_type",  # RFC 7009
    "invalid_redirect_uri", "invalid_client_metadata", "invalid_software_statement",
    "unapproved_software_statement",  # RFC 7591
    "authorization_pending", "slow_down", "expired_token",  # RFC 8628
    "invalid_target",  # RFC 8707
    "invalid_authorization_details",  # RFC 9396
    "invalid_dpop_proof", "use_dpop_nonce",  # RFC 9449
    "insufficient_user_authentication",  # RFC 9470
    "unmet_authentication_requirements",  # OpenID Connect Core errata / IANA
    "invalid_binding_message", "transaction_failed", "expired_login_hint_token", "unknown_user_id",
    "missing_user_code", "invalid_user_code",  # OpenID CIBA
}
KNOWN_ERRORS = AUTHORIZATION_ERRORS | TOKEN_ERRORS | OIDC_ERRORS | REGISTERED_EXTENSIONS


def _nqschar(ch: str) -> bool:
    """RFC 6749 Appendix A: NQSCHAR = %x20-21 / %x23-5B / %x5D-7E (printable ASCII but '"' and '\\')."""
    return ch in (" ", "!") or "\x23" <= ch <= "\x5b" or "\x5d" <= ch <= "\x7e"


def _uri_char(ch: str) -> bool:
    """RFC 6749 §4.1.2.1: error_uri values are limited to %x21 / %x23-5B / %x5D-7E."""
    return ch != " " and _nqschar(ch)


class ErrorResponse:
    """One error the provider returned: where, in which hop, with which fields (values as sent, decoded once)."""

    def __init__(self, hop: Hop, where: str, fields: dict):
        self.hop, self.where, self.fields = hop, where, fields

    @property
    def error(self):
        return self.fields.get("error")


def authorization_error(exchange: Exchange) -> ErrorResponse | None:
    """The error of the authorization response: from the provider's redirect, else from the callback request."""
    for hop, pairs in _authorization_responses(exchange):
        if param(pairs, "error"):
            return ErrorResponse(hop, "callback", {name: first(pairs, name) for name in
                                                    ("error", "error_description", "error_uri", "state")})
    return None


def _authorization_responses(exchange: Exchange):
    if exchange.authz_response is not None:
        pairs, mode = authz_response_params(exchange.authz_response)
        if mode != "none":
            yield exchange.authz_response, pairs
    if exchange.callback is not None:
        yield exchange.callback, callback_params(exchange.callback)


def back_channel_errors(exchange: Exchange) -> list[ErrorResponse]:
    """Error bodies from the token endpoint (code exchange and refresh) and from registration."""
    found = []
    for where, hops in (("token", exchange.tokens), ("refresh", exchange.refreshes),
                        ("registration", exchange.registrations)):
        for hop in hops:
            fields = token_fields(hop)
            if fields is not None and fields.get("error") not in (None, ""):
                found.append(ErrorResponse(hop, where, fields))
    return found


def _all_errors(exchange: Exchange, ctx: Context) -> list[ErrorResponse]:
    front = _front_error(exchange, ctx)
    return ([front] if front else []) + _back_errors(exchange, ctx)


# Each error response is read once per exchange for the five rules of this family.
def _front_error(exchange: Exchange, ctx: Context) -> ErrorResponse | None:
    return per_exchange(exchange, ctx, "errors.front", lambda: authorization_error(exchange))


def _back_errors(exchange: Exchange, ctx: Context) -> list[ErrorResponse]:
    return per_exchange(exchange, ctx, "errors.back", lambda: back_channel_errors(exchange))



@trait("error")
def has_error_response(exchange: Exchange, ctx: Context) -> bool:
    """The authorization response or a back-channel answer carries an error: what every rule here reads."""
    if not _may_carry_error(exchange, ctx):
        return False  # the usual exchange, told without building its error responses
    return bool(_all_errors(exchange, ctx))


def _may_carry_error(exchange: Exchange, ctx: Context) -> bool:
    """False only when _all_errors is surely empty: no error parameter in the authorization response (as the
    shared facts read it: the provider's redirect, else the callback) nor in the callback's own query or form,
    and no back-channel body that could hold an error member."""
    if facts(exchange, ctx).response_param("error"):
        return True
    callback = exchange.callback
    if callback is not None and (param(callback.query, "error") or param(callback.form, "error")):
        return True  # with the provider's redirect seen, the callback is not what the facts read
    for hops in (exchange.tokens, exchange.refreshes, exchange.registrations):
        for hop in hops:
            if may_spell(hop.resp_body, b"error"):
                return True
    return False


def may_spell(body: bytes | None, word: bytes) -> bool:
    """Whether token_fields could read `word` (ASCII, no space) in this body, as a member name or value: the body
    must spell it out — unless it escapes (JSON \\u, form %XX) or is UTF-16/32 (NUL bytes), left to the parse."""
    return bool(body) and (word in body or b"\\" in body or b"%" in body or b"\x00" in body)


@rule(
    "authz-error",
    family="F",
    severity="info",
    blame="AS",
    needs="F",
    when=("error",),
    cause="The provider answered the authorization request with an error",
    spec="RFC 6749 §4.1.2.1; OpenID Connect Core §3.1.2.6",
    quote="If the resource owner denies the access request or if the request fails for reasons other than a "
    "missing or invalid redirection URI, the authorization server informs the client",
    fix="Read the likely cause in the finding; fix the request (client) or the provider's client configuration "
    "(provider) it points at. A denial by the user is their answer, not a fault: let them try again.",
)
def authz_error(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The authorization response is an error: what it says, its likely cause, and who it points at."""
    error = _front_error(exchange, ctx)
    if error is None:
        return
    code = error.error
    description = error.fields.get("error_description")
    request = request_params(exchange.authorize) if exchange.authorize else []
    cause = likely_cause(code, request)
    recovered = _recovered_later(exchange, ctx)
    blame, expected = error_party(code, request)
    message = f"callback.error = {shown(code)}"
    if description:
        message += f" — {shown(description, limit=120)}"
    message += f" (likely cause: {cause})" if cause else ""
    if not recovered:
        message += "; the flow ended here"
    yield Hit(hop=error.hop, message=message,
              evidence={"error": code, "error_description": description, "error_uri": error.fields.get("error_uri"),
                        "cause": cause, "recovered": recovered},
              severity=None if recovered or expected else "error", blame=blame)


# Who an authorization error points at, by its code (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6). "user": the
# resource owner, who may deny (RFC 6749 §4.1.2.1: "access_denied: The resource owner or authorization server
# denied the request"): usually the Deny button, sometimes a provider policy; either way not a fault to fix.
USER = "user"
_ERROR_PARTIES = {
    "access_denied": USER,
    # the client's request, or what it asks of its registration
    "invalid_request": "C", "unauthorized_client": "C", "unsupported_response_type": "C", "invalid_scope": "C",
    "invalid_request_uri": "C", "invalid_request_object": "C", "request_not_supported": "C",
    "request_uri_not_supported": "C", "registration_not_supported": "C", "invalid_target": "C",
    "invalid_authorization_details": "C",
    # the provider itself
    "server_error": "AS", "temporarily_unavailable": "AS",
}
# OpenID Connect Core §3.1.2.6: the provider needs the user to act; the answer a silent request (prompt=none) asks
# for: "This error MAY be returned when the prompt parameter value in the Authentication Request is none"
_INTERACTION_ERRORS = ("login_required", "interaction_required", "consent_required", "account_selection_required")


def error_party(code, request) -> tuple[str, bool]:
    """(blame, expected) for an authorization error: who it points at, and whether it is an answer rather than a
    fault (the user's denial; an interaction error answering prompt=none), which stays information."""
    if code == "access_denied":
        return USER, True
    if code in _INTERACTION_ERRORS:
        # answering prompt=none it is the expected answer: the client goes on with an interactive request
        return ("C", True) if param(request, "prompt") == "none" else ("AS", False)
    return (_ERROR_PARTIES.get(code, "AS") if isinstance(code, str) else "AS"), False


def likely_cause(code: str, request) -> str:
    """The usual reason for an authorization error, read against the request that caused it."""
    scope = param(request, "scope")
    prompt = param(request, "prompt")
    if code == "invalid_scope":
        if scope is None:
            return ("the request had no scope (omitted or `scope=`); the provider must then use a default scope "
                    "or fail (RFC 6749 §3.3) — configure a default scope")
        return f"scope {shown(scope)} is not allowed for this client"
    if code in ("login_required", "interaction_required", "consent_required", "account_selection_required"):
        if prompt == "none":
            return "prompt=none was sent and the user has to interact; retry without prompt=none"
        return "the provider needs the user to interact although the client did not ask for a silent login"
    if code == "invalid_request":
        if not param(request, "code_challenge"):
            return "possibly PKCE: the request has no code_challenge and the provider may require one"
        if not param(request, "state"):
            return "possibly the missing state (some providers reject requests without one)"
        return "a missing, repeated or malformed parameter; see error_description"
    return _CAUSES.get(code, "")


_CAUSES = {
    "access_denied": "the user declined consent, or a provider policy denied this client or user",
    "unauthorized_client": "the client is not allowed this response_type or grant; enable it for the client",
    "unsupported_response_type": "the provider does not support this response_type for this client",
    "server_error": "the provider failed internally; look at its logs for this request",
    "temporarily_unavailable": "the provider is overloaded or in maintenance; retry later",
    "invalid_request_uri": "the request_uri is unknown, expired or already used (PAR request_uri is one-time)",
    "invalid_request_object": "the signed request object did not validate",
    "invalid_target": "the resource parameter names a resource the provider does not know (RFC 8707)",
}


def _recovered_later(exchange: Exchange, ctx: Context) -> bool:
    """Whether a later flow of the same client got a code — then this error was a step, not the end."""
    successes = memo(ctx, "errors.successful-authorizations", lambda: _successful_authorizations(ctx))
    client_id = _client_id(exchange)
    started = exchange.authorize.started if exchange.authorize else 0.0
    return any(when > started for when in successes.get(client_id, ()))


def _client_id(exchange: Exchange) -> str | None:
    return param(request_params(exchange.authorize), "client_id") if exchange.authorize else None


def _successful_authorizations(ctx: Context) -> dict[str | None, list[float]]:
    by_client: dict[str | None, list[float]] = {}
    for exchange in ctx.exchanges:
        if exchange.authorize is None:
            continue
        if any(param(pairs, "code") for _, pairs in _authorization_responses(exchange)):
            by_client.setdefault(_client_id(exchange), []).append(exchange.authorize.started)
    return by_client


@rule(
    "error-code-unknown",
    family="F",
    severity="warning",
    blame="AS",
    needs="F/B",
    when=("error",),
    spec="RFC 6749 §4.1.2.1, §5.2, §8.5",
    quote="error REQUIRED. A single ASCII error code from the following: … (or a value registered in the OAuth "
    "Extensions Error Registry)",
    fix="Provider: return one of the standard error codes (e.g. invalid_grant, invalid_client, invalid_request) "
    "and put the detail in error_description; clients branch on the code.",
)
def error_code_unknown(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The error code is not one the RFCs or the IANA registry define."""
    for response in _all_errors(exchange, ctx):
        code = response.error
        if isinstance(code, str) and code in KNOWN_ERRORS:
            continue
        if isinstance(code, str):
            near = next((known for known in sorted(KNOWN_ERRORS) if known.lower() == code.lower()), None)
            what = f"{shown(code)} (case differs from {near})" if near else f"{shown(code)} (not a registered code)"
        else:
            what = f"{shown(code)} (a JSON {type(code).__name__}, not an error code string)"
        yield Hit(hop=response.hop, message=f"{response.where}.error = {what}",
                  evidence={"where": response.where, "error": code})


@rule(
    "error-charset",
    family="F",
    severity="warning",
    blame="AS",
    needs="F/B",
    when=("error",),
    spec="RFC 6749 §4.1.2.1, §5.2, Appendix A.7–A.9",
    quote="Values for the \"error\" and \"error_description\" parameters MUST NOT include characters outside "
    "the set %x20-21 / %x23-5B / %x5D-7E",
    fix="Provider: keep error and error_description to printable ASCII without '\"' and '\\' (transliterate or "
    "drop localised text), and make error_uri a plain URI.",
)
def error_charset(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """error or error_description has characters outside the allowed set, or error_uri is not a URI."""
    for response in _all_errors(exchange, ctx):
        for name, allowed in (("error", _nqschar), ("error_description", _nqschar), ("error_uri", _uri_char)):
            value = response.fields.get(name)
            if not isinstance(value, str) or not value or is_redacted(value):
                continue
            bad = list(dict.fromkeys(ch for ch in value if not allowed(ch)))
            if bad:
                yield Hit(hop=response.hop,
                          message=f"{response.where}.{name} = {shown(value, limit=80)} has "
                          f"{' '.join(repr(ch) for ch in bad[:8])} outside the allowed characters",
                          evidence={"where": response.where, "param": name, "value": value[:500],
                                    "bad_characters": bad[:16]})


@rule(
    "token-error-status",
    family="F",
    severity="error",
    blame="AS",
    needs="B",
    when=("error",),
    spec="RFC 6749 §5.2",
    quote="The authorization server responds with an HTTP 400 (Bad Request) status code (unless specified "
    "otherwise)",
    fix="Provider: answer token errors with HTTP 400 (401 for invalid_client with Authorization header); "
    "never 200 — clients read a 200 as success and then fail on the missing access_token.",
)
def token_error_status(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A token error came with a status other than 400 (or 401 for invalid_client); 200 is the worst case."""
    # GitHub's OAuth apps answer a bad code `bad_verification_code` (its documented errors:
    # https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors)
    # with HTTP 200: clients that trust the status (golang/oauth2#274, octokit/auth-oauth-app.js#13, the MCP
    # TypeScript SDK's #1343) fail on the missing access_token instead of reading the error
    for response in _back_errors(exchange, ctx):
        if response.where == "registration":
            continue  # RFC 7591 §3.2.2 has its own rules (400)
        status = response.hop.status
        if status == 400 or (status == 401 and response.error == "invalid_client"):
            continue
        expected = "400 or 401" if response.error == "invalid_client" else "400"
        hit = Hit(hop=response.hop,
                  message=f"{response.where}: HTTP {status} with error = {shown(response.error)} ≠ {expected}",
                  evidence={"status": status, "error": response.error, "expected": expected},
                  severity=None if status == 200 else "warning")
        provider = provider_of(response.hop) if status == 200 else None
        if provider is not None and provider.deviation("error-200"):
            hit = named(hit, provider, "error-200")  # still an error: a client that trusts the status fails
        yield hit


@rule(
    "invalid-client-challenge",
    family="F",
    severity="warning",
    blame="AS",
    needs="B",
    when=("error",),
    spec="RFC 6749 §5.2",
    quote="If the client attempted to authenticate via the \"Authorization\" request header field, the "
    "authorization server MUST respond with an HTTP 401 (Unauthorized) status code and include the "
    "WWW-Authenticate response header field",
    fix="Provider: answer invalid_client for a request with an Authorization header with 401 and "
    "`WWW-Authenticate: Basic realm=\"…\"` (matching the scheme the client used).",
)
def invalid_client_challenge(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """invalid_client after header authentication without 401 and WWW-Authenticate."""
    for response in _back_errors(exchange, ctx):
        hop = response.hop
        authorization = hop.req_header("authorization")
        if response.error != "invalid_client" or not authorization:
            continue
        challenge = hop.resp_header("www-authenticate")
        if hop.status == 401 and challenge:
            continue
        scheme = authorization.split(" ", 1)[0]
        yield Hit(hop=hop, message=f"{response.where}: invalid_client after {scheme} authentication → HTTP "
                  f"{hop.status}, WWW-Authenticate = {shown(challenge)} (expected 401 with WWW-Authenticate)",
                  evidence={"status": hop.status, "www_authenticate": challenge, "scheme": scheme})
