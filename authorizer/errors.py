"""Every way an authorization can fail, in one place.

Each denial is an ``AuthorizationError`` subclass with a stable ``reason`` code that logs and metrics use;
callers branch on the type or the code, never on message text. Messages never contain the token.
Like aws-jwt-verify's ``failedAssertion``, a denial of one claim (or header parameter) also carries it as data:
``claim`` (its name), ``expected`` and ``actual``, set by the code that raises it, so a tool that explains a
failure reads them instead of re-running checks or parsing the message:

    >>> denial = ExpiredTokenError("expired 90 s ago", claim="exp", expected=1000, actual=910)
    >>> denial.reason, denial.failed_assertion
    ('expired', {'claim': 'exp', 'expected': 1000, 'actual': 910})

``ConfigError`` is separate: it fails the cold start instead of denying one request; ``field`` says where.
"""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """The configuration is invalid. ``field`` names where, e.g. ``AUTH_ISSUERS[0].audience``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class CryptoBackendError(RuntimeError):
    """python-jose does not verify with its ``cryptography`` backend (``crypto_backend.py``): no cold start."""


#: ``actual`` of a claim the token does not hold (a claim that is absent is not one that holds null).
ABSENT: Any = object()


class AuthorizationError(Exception):
    """A request is denied. ``reason`` is a stable, low-cardinality code.

    ``claim``, ``expected`` and ``actual`` (where a single claim or header parameter failed): what was checked,
    what the configuration asks for, and what the token holds. ``actual`` is left unset (``has_actual`` false) when
    the token lacks the claim. Built only when a check fails: the success path never pays for them.
    """

    reason = "denied"
    claim: str | None = None
    expected: Any = None
    actual: Any = ABSENT

    def __init__(self, detail: str = "", *, claim: str | None = None, expected: Any = None,
                 actual: Any = ABSENT) -> None:
        super().__init__(detail or self.reason)
        self.detail = detail or self.reason
        if claim is not None:
            self.claim = claim
            self.expected = expected
            self.actual = actual

    @property
    def has_actual(self) -> bool:
        """Whether the token holds the claim at all (``actual`` may be ``None`` for a JSON null)."""
        return self.actual is not ABSENT

    @property
    def failed_assertion(self) -> dict[str, Any] | None:
        """``{"claim", "expected", "actual"}`` as aws-jwt-verify names it; ``None`` when no one claim failed."""
        if self.claim is None:
            return None
        return {"claim": self.claim, "expected": self.expected, "actual": self.actual if self.has_actual else None}


# --- the request did not carry a usable token ---------------------------------------------------------------
class MissingTokenError(AuthorizationError):
    reason = "missing_token"


class MalformedEventError(AuthorizationError):
    """The event is not one API Gateway sends: not an object, of no known shape, or without a usable method or route
    ARN. Nothing about the token: logged and counted apart from ``malformed_token``."""

    reason = "malformed_event"


class MalformedTokenError(AuthorizationError):
    """Not three base64url segments of JSON objects, a wrong header scheme, and the like."""

    reason = "malformed_token"


class TokenTooLargeError(AuthorizationError):
    reason = "token_too_large"


class IdentitySourceMismatchError(AuthorizationError):
    """The token read is not among the identity-source values API Gateway caches the answer under."""

    reason = "identity_source_mismatch"


# --- header checks (RFC 8725) -------------------------------------------------------------------------------
class UnsupportedAlgorithmError(AuthorizationError):
    """``alg`` is not on the issuer's allow-list (``none`` and HS* never are)."""

    reason = "unsupported_alg"


class CriticalHeaderError(AuthorizationError):
    reason = "crit_header"


class TokenTypeError(AuthorizationError):
    reason = "wrong_token_type"


class TokenUseMismatchError(AuthorizationError):
    """Not an access token of the kind configured: a refresh token (Descope ``drn: "DSR"``, WSO2 ``typ: rt+jwt``)
    or a Cognito token whose ``token_use`` is not the configured one."""

    reason = "token_use_mismatch"


# --- issuer and keys ----------------------------------------------------------------------------------------
class UnknownIssuerError(AuthorizationError):
    reason = "unknown_issuer"


class KidNotFoundError(AuthorizationError):
    """No key with this ``kid`` (or, without ``kid``, not exactly one key for the ``alg``).

    ``claim`` ``"kid"``; ``actual`` the token's ``kid``; ``expected`` the key source searched (its URL).
    """

    reason = "unknown_kid"


class KidCooldownError(KidNotFoundError):
    """Unknown ``kid`` while the issuer's JWKS refetch is cooling down: denied without a fetch."""

    reason = "unknown_kid_cooldown"


class KeyAlgorithmMismatchError(AuthorizationError):
    """The key chosen by ``kid`` does not fit the header ``alg`` (key type, curve, or the key's own ``alg``)."""

    reason = "key_alg_mismatch"


class JwksUnavailableError(AuthorizationError):
    """No keys are held for the issuer and they could not be fetched."""

    reason = "jwks_unavailable"


class BadSignatureError(AuthorizationError):
    reason = "bad_signature"


# --- claims -------------------------------------------------------------------------------------------------
class ExpiredTokenError(AuthorizationError):
    reason = "expired"


class NotYetValidError(AuthorizationError):
    reason = "not_yet_valid"


class IssuedInFutureError(AuthorizationError):
    reason = "issued_in_future"


class MissingClaimError(AuthorizationError):
    reason = "missing_claim"


class InvalidClaimError(AuthorizationError):
    """A claim has the wrong type (``exp`` as a string, ``aud`` as a number, ...)."""

    reason = "invalid_claim"


class AudienceMismatchError(AuthorizationError):
    reason = "audience_mismatch"


# --- route rules --------------------------------------------------------------------------------------------
class InsufficientScopeError(AuthorizationError):
    reason = "insufficient_scope"


class ClaimRuleError(AuthorizationError):
    reason = "claim_rule_not_met"


class TenantMissingError(AuthorizationError):
    """A tenant route, and the token names no tenant at all (the tenant claim is absent, empty or of no known shape)."""

    reason = "tenant_missing"


class TenantMismatchError(AuthorizationError):
    """The tenant the path names is not one of the token's (or the request names no usable tenant)."""

    reason = "tenant_mismatch"


class TenantRoleError(AuthorizationError):
    """The path's tenant is one of the token's, but the token lacks the roles/permissions the route needs there."""

    reason = "tenant_role_missing"


class CacheKeyTooWideError(AuthorizationError):
    """Tenant rules are configured, and API Gateway could reuse this answer where it would be wrong (see
    ``authorizer.tenant_guard``): a catch-all's Allow or a simple answer without ``$context.routeKey`` among the
    identity sources, a tenant route's simple answer without ``$context.requestId``."""

    reason = "cache_key_too_wide"


# --- MCP resources ---------------------------------------------------------------------------------------------
class ResourceMismatchError(AuthorizationError):
    """An MCP route, and the token's ``aud`` does not hold the resource's canonical URI (RFC 8707): a token issued
    for something else. Also a token issued for an MCP resource, presented on any other route."""

    reason = "resource_mismatch"


class ResourceIssuerError(AuthorizationError):
    """An MCP route, and the token's issuer is not one of the authorization servers its metadata names."""

    reason = "resource_issuer_mismatch"


class McpHeaderMissingError(AuthorizationError):
    """A request of MCP 2026-07-28 or later without ``Mcp-Method`` (or ``Mcp-Name`` where its method needs one),
    on an endpoint that decides per method or name."""

    reason = "mcp_header_missing"


class McpHeaderInvalidError(AuthorizationError):
    """An ``Mcp-*`` header no client sends: repeated, over 1,024 characters, control characters, a Base64
    sentinel that does not decode, a tool name with ``*``, ``/`` or ``?``, a malformed protocol version."""

    reason = "mcp_header_invalid"


class McpMethodUnknownError(AuthorizationError):
    """``Mcp-Method`` names no method of the MCP specification."""

    reason = "mcp_method_unknown"


class McpMethodDeniedError(AuthorizationError):
    """The rule of the request's MCP method is not met (``claim``/``expected``/``actual`` say which part)."""

    reason = "mcp_method_denied"


class McpNameDeniedError(AuthorizationError):
    """The rule of the tool, resource or prompt the request names (``Mcp-Name``) is not met."""

    reason = "mcp_name_denied"


class McpOlderClientError(AuthorizationError):
    """A request of an MCP revision before 2026-07-28 (no or an older ``MCP-Protocol-Version``): its server does not
    check its headers against its body, so none is trusted, and the token must meet every method and name rule."""

    reason = "mcp_older_client_denied"


class UnknownRouteError(AuthorizationError):
    """A simple response must answer for one route, and the event names none while route rules exist."""

    reason = "unknown_route"


# --- configuration at run time ---------------------------------------------------------------------------
class ConfigUnavailableError(AuthorizationError):
    """No valid configuration has been read from the SSM parameter yet: every token is denied."""

    reason = "config_unavailable"


# --- fetching -----------------------------------------------------------------------------------------------
class FetchError(Exception):
    """A discovery or JWKS fetch failed (network, status, size, content). Never reaches API Gateway."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem
