"""jwt mode: what API Gateway's native JWT authorizer can check, chosen from the configured issuers.

The native authorizer takes one issuer URL, finds its keys by OIDC discovery under it, verifies RSA only, cannot
use a private CA, compares ``iss`` exactly, and checks ``aud`` (``client_id`` when ``aud`` is absent), exp/nbf/iat
and route scopes — nothing else: no claim rules, no tenant rules (``check_native_routes`` refuses them).
``select_native_issuer`` narrows a preset to the one form it can check, or says why none fits; its notes say what
this provider's tokens need that the native authorizer will not check (Descope session tokens without ``aud``,
Cognito's ``token_use``, Entra's ``roles``, refresh tokens). The stack's configuration and the token doctor both
call it, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .lambda_sources import ConfigError, TrustedIssuer, expand_issuer, is_loopback_host

if TYPE_CHECKING:
    from .config import RouteSpec

# API Gateway's native JWT authorizer quotas (reference/aws-api-gateway.md).
MAX_JWT_AUDIENCES = 50
MAX_JWT_SCOPES_PER_ROUTE = 10


def select_native_issuer(issuers: list[Any]) -> tuple[TrustedIssuer, tuple[str, ...]]:
    """The one issuer API Gateway's native JWT authorizer can check, or a ``ConfigError`` saying why not.

    The native authorizer takes one issuer URL, finds its keys by OIDC discovery under it, verifies RSA only, and
    cannot use a private CA. A preset that accepts several ``iss`` forms (Descope, Passage) is narrowed to its
    https URL form; tokens carrying another form are then rejected, which ``notes`` says.
    """
    if len(issuers) != 1:
        raise ConfigError(
            "issuers",
            f"jwt mode takes exactly one issuer (got {len(issuers)}): API Gateway's native JWT authorizer checks "
            "one issuer per route; use authorizer=lambda to trust several",
        )
    spec, where = issuers[0], "issuers[0]"
    candidates = expand_issuer(spec, where)
    provider = spec.get("provider", "custom")
    # The native authorizer compares iss exactly: an issuer ending in a variable segment (Descope's agentic
    # servers) cannot be one.
    usable = [c for c in candidates if _native_issuer_url_ok(c.issuer) and c.issuer_match == "exact"]
    if not usable:
        if provider == "descope":
            raise ConfigError(
                f"{where}.issuer_forms",
                "Descope's bare project-ID issuer cannot work with API Gateway's native JWT authorizer, which needs "
                "an https issuer URL to discover keys; add \"url\" to issuer_forms and sign tokens with Descope's "
                "\"AWS API Gateway\" JWT template (iss=https://api.descope.com/<projectId>), or use authorizer=lambda",
            )
        raise ConfigError(
            f"{where}.issuer",
            f"jwt mode needs an https issuer URL (plain http only on a loopback host, for local runs), got "
            f"{candidates[0].issuer!r}; API Gateway finds the keys by OIDC discovery under it. Use authorizer=lambda "
            "for issuers it cannot reach",
        )
    chosen = native_form(usable[0])
    if "ca_bundle" in spec:
        raise ConfigError(f"{where}.ca_bundle", "API Gateway's native JWT authorizer trusts only publicly trusted "
                                                "certificates; use authorizer=lambda for a private CA")
    if "token_types" in spec:
        raise ConfigError(f"{where}.token_types", "API Gateway's native JWT authorizer does not check the token "
                                                  "type; remove it or use authorizer=lambda")
    if not any(alg.startswith("RS") for alg in chosen.algorithms):
        raise ConfigError(f"{where}.algorithms", "API Gateway's native JWT authorizer verifies RSA signatures only "
                                                 "(RS256/384/512); use authorizer=lambda for EC keys")
    if len(chosen.audiences) > MAX_JWT_AUDIENCES:
        raise ConfigError(f"{where}.audience", f"API Gateway's native JWT authorizer takes at most "
                                               f"{MAX_JWT_AUDIENCES} audiences, got {len(chosen.audiences)}")
    notes = list(native_audience_notes(usable[0], spec))
    dropped = [c.issuer for c in candidates if c.issuer != chosen.issuer]
    if dropped and provider == "entra":
        # Entra's forms are token versions: the API's manifest decides which one its tokens carry.
        notes.append(f"jwt mode trusts only v2.0 tokens (iss={chosen.issuer}); v1.0 tokens (iss {dropped[0]}) "
                     f"will be rejected: set {where}.token_versions to [\"2.0\"] (and the API's "
                     "accessTokenAcceptedVersion to 2) to say so, or use authorizer=lambda to accept both")
    elif dropped:
        notes.append(f"jwt mode trusts only iss={chosen.issuer}; tokens with iss {', '.join(dropped)} will be "
                     "rejected (use authorizer=lambda to accept every form)")
    if "jwks_uri" in spec:
        notes.append(f"jwt mode ignores {where}.jwks_uri: API Gateway finds the keys by OIDC discovery at "
                     f"{chosen.issuer.rstrip('/')}/.well-known/openid-configuration")
    if urlsplit(chosen.issuer).scheme == "http":
        notes.append(f"the issuer {chosen.issuer} is plain http on a loopback host: for local runs only, API Gateway "
                     "cannot use it")
    return chosen, tuple(notes)


def native_form(issuer: TrustedIssuer) -> TrustedIssuer:
    """The issuer as API Gateway's native authorizer can check it: audiences only (aud, else client_id).

    Cognito access tokens bind their app client in ``client_id`` and carry no ``aud``: the native authorizer checks
    ``client_id`` against its audiences exactly when ``aud`` is absent, so the app clients become the audiences.
    """
    if issuer.client_ids is not None and not issuer.audiences:
        return replace(issuer, audiences=issuer.client_ids, client_ids=None)
    return issuer


def native_audience_notes(issuer: TrustedIssuer, spec: Mapping[str, Any]) -> tuple[str, ...]:
    """What API Gateway's native authorizer will not check of this provider's tokens, said before a deploy."""
    notes = []
    if issuer.provider == "descope" and not spec.get("require_audience", False):
        notes.append(
            "Descope's default session tokens carry no aud (and no client_id), and API Gateway's native JWT "
            "authorizer answers 401 to a token without one: create a Descope JWT template that sets aud to "
            f"{issuer.audiences[0]!r} (Descope's \"AWS API Gateway\" template, or a custom claim) and apply it to "
            "your session tokens, or use authorizer=lambda, which checks aud only when it is present")
    if issuer.provider == "cognito":
        notes.append(
            "API Gateway's native JWT authorizer does not check Cognito's token_use: an id token whose aud is one "
            "of the app clients is accepted like an access token; use authorizer=lambda to enforce token_use")
    if issuer.provider == "entra":
        notes.append(
            "API Gateway's native JWT authorizer reads scopes from scp only, not Entra's roles (application "
            "permissions); use authorizer=lambda for claim rules on roles")
    if issuer.token_use and issuer.provider in ("descope", "wso2"):
        notes.append(f"API Gateway's native JWT authorizer does not tell {issuer.provider} refresh tokens from "
                     "access tokens (drn / typ); use authorizer=lambda to refuse them")
    return tuple(notes)


def check_native_routes(routes: Sequence[RouteSpec]) -> None:
    for index, route in enumerate(routes):
        if route.claims:
            raise ConfigError(
                f"routes[{index}].claims",
                f"{route.route_key}: API Gateway's native JWT authorizer checks scopes only, not claim rules; "
                "remove the claims or use authorizer=lambda",
            )
        if route.tenant is not None:
            raise ConfigError(
                f"routes[{index}].tenant",
                f"{route.route_key}: API Gateway's native JWT authorizer cannot compare a path parameter with a "
                f"claim, so it cannot check that {{{route.tenant.param}}} is one of the caller's tenants; remove the "
                "tenant rule or use authorizer=lambda",
            )
        if route.mcp is not None and route.mcp.has_rules:
            raise ConfigError(
                f"routes[{index}].mcp",
                f"{route.route_key}: API Gateway's native JWT authorizer reads no request header, so it cannot decide "
                "per MCP method or tool; keep the endpoint's scopes on the route, remove methods/tools/resources/"
                "prompts, or use authorizer=lambda",
            )
        if route.mcp is not None and len(route.mcp.authorization_servers) > 1:
            raise ConfigError(
                f"routes[{index}].mcp.authorization_servers",
                f"{route.route_key}: API Gateway's native JWT authorizer checks one issuer per route; name one, or "
                "use authorizer=lambda",
            )
        if len(route.scopes) > MAX_JWT_SCOPES_PER_ROUTE:
            raise ConfigError(
                f"routes[{index}].scopes",
                f"{route.route_key}: API Gateway allows at most {MAX_JWT_SCOPES_PER_ROUTE} authorization scopes per "
                f"route, got {len(route.scopes)}",
            )


def _native_issuer_url_ok(issuer: str) -> bool:
    parts = urlsplit(issuer)
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname))
