"""What the authorizer Lambda is configured with: its ``AUTH_*`` environment, built from the settings and checked by
the Lambda's own ``load_config``, and the identity sources API Gateway keys its answers under.

    >>> settings = AuthorizationSettings.create(issuers=[{"issuer": "https://idp.example.com", "audience": "api"}],
    ...                                         routes=[{"method": "GET", "path": "/orders", "scopes": ["r"]}])
    >>> identity_sources(settings)
    ['$request.header.Authorization', '$context.routeKey']
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .config import AuthorizationSettings, ConfigError
from .lambda_sources import load_config
from .python_function import powertools_environment

AUTHORIZATION_HEADER = "$request.header.Authorization"
ROUTE_KEY_IDENTITY = "$context.routeKey"
REQUEST_ID_IDENTITY = "$context.requestId"  # unique per request: an answer keyed on it is never reused
LAMBDA_ENVIRONMENT_LIMIT = 4096  # bytes, keys and values together
#: Variables the construct sets from the settings; ``environment=`` may not override them.
GENERATED_VARIABLES = {
    "AUTH_ISSUERS": "settings.issuers",
    "AUTH_ROUTES": "settings.routes",
    "AUTH_RESPONSE": "settings.lambda_response",
    "AUTH_CONFIG_PARAMETER": "settings.config_parameter",
    "AUTH_CONFIG_MAX_AGE_SECONDS": "settings.config_parameter (config_max_age_seconds)",
    "AUTH_TOKEN_COOKIE": "settings.token_cookie (it also removes the identity source)",
}
AUTHORIZER_SERVICE = "jwt-authorizer"


def identity_sources(settings: AuthorizationSettings) -> list[str]:
    """The Authorization header; plus the route key whenever route rules are possible, cache or not.

    In both response modes: the authorizer decides by the route API Gateway matched (its ``routeKey``), and reads
    from the identity sources how far its answer may be reused (``authorizer/reuse.py``). Without the route key an
    answer may be reused on any route: a simple answer holds nothing per route, so with rules it is refused
    (``cache_key_too_wide``), and an IAM answer must carry every route's Deny, which can cover what a more specific
    route allows. The authorizer cannot see whether results are cached, so the route key is there even when they are
    not; routes decided per request (tenant routes, MCP endpoints with per-tool rules) add ``$context.requestId``
    (never reused) when there is no cache; with one, they have an authorizer of their own that adds it.
    With a token cookie, only context variables: they are always there, so a request that carries only the cookie
    is never turned away with API Gateway's 401 (the settings ensure caching is off then)."""
    per_request_here = bool(settings.per_request_routes)  # tenant routes, MCP endpoints with per-tool rules
    # With an SSM parameter, rules can appear after deployment, where cdk.json's routes cannot show them.
    rules_possible = settings.config_parameter is not None or any(r.has_rule for r in settings.protected_routes)
    if settings.token_cookie is not None:
        return [ROUTE_KEY_IDENTITY, REQUEST_ID_IDENTITY] if per_request_here or rules_possible else []
    sources = [AUTHORIZATION_HEADER]
    if rules_possible or per_request_here:
        sources.append(ROUTE_KEY_IDENTITY)
    if per_request_here and settings.cache_ttl_seconds == 0:
        sources.append(REQUEST_ID_IDENTITY)  # one authorizer, never caching: its answers are per request
    return sources


def lambda_environment(settings: AuthorizationSettings, extra: Mapping[str, str] | None = None, *,
                       parameter_name: str | None = None,
                       resources: Mapping[str, str] | None = None) -> dict[str, str]:
    """The authorizer Lambda's ``AUTH_*`` variables, checked by the Lambda's own ``load_config``.

    Without ``settings.config_parameter``: ``AUTH_ISSUERS`` and ``AUTH_ROUTES``. With it: ``AUTH_CONFIG_PARAMETER``
    (``parameter_name``, required for a created parameter; an existing one's name by default) and
    ``AUTH_CONFIG_MAX_AGE_SECONDS``, no ``AUTH_ISSUERS`` (the Lambda ignores it then); ``AUTH_ROUTES`` only for an
    existing parameter, whose owner may leave its ``routes`` out (the created one always holds them).
    ``AUTH_TOKEN_COOKIE`` with ``settings.token_cookie``. ``resources``: the MCP endpoints' URIs the settings leave
    to the API's URL (tokens at synthesis: the checks read stand-ins). ``extra`` may add any other variable, but not
    override
    these (``GENERATED_VARIABLES``): that would deploy an authorizer that disagrees with its API's routes and
    identity sources.
    """
    reserved = sorted(set(extra or {}) & set(GENERATED_VARIABLES))
    if reserved:
        generated = ", ".join(f"{name} (from {GENERATED_VARIABLES[name]})" for name in reserved)
        raise ConfigError("environment", f"may not set {generated}: the construct generates these from the "
                                         "settings; change the settings instead")
    spec = settings.config_parameter
    configuration: dict[str, str]
    checked: dict[str, str] = {}  # the same, MCP resources as stand-ins: what load_config can check at synthesis
    if spec is None:
        configuration = {
            "AUTH_ISSUERS": _compact(list(settings.issuers)),  # presets unexpanded: the Lambda expands them
            "AUTH_ROUTES": _compact(settings.auth_routes(resources)),
        }
        checked["AUTH_ROUTES"] = _compact(settings.auth_routes())
    else:
        name = parameter_name or spec.existing_name
        if not name:
            raise ValueError("parameter_name is required when the configuration parameter is created")
        configuration = {"AUTH_CONFIG_PARAMETER": name, "AUTH_CONFIG_MAX_AGE_SECONDS": str(spec.max_age_seconds)}
        if not spec.created:
            configuration["AUTH_ROUTES"] = _compact(settings.auth_routes(resources))
            checked["AUTH_ROUTES"] = _compact(settings.auth_routes())
    if settings.token_cookie is not None:
        configuration["AUTH_TOKEN_COOKIE"] = settings.token_cookie
    environment = {
        **configuration,
        "AUTH_RESPONSE": settings.lambda_response,
        "POWERTOOLS_METRICS_NAMESPACE": "JwtAuthorizer",
        **(extra or {}),
    }
    load_config({**environment, **checked})  # raises ConfigError naming the variable, as the cold start would
    # AUTH_CONFIG_MAX_AGE_SECONDS comes from ConfigParameter, already checked against the Lambda's bounds.
    deployed = {**powertools_environment(AUTHORIZER_SERVICE), **environment}
    size = sum(len(k) + len(v) for k, v in deployed.items())
    if size > LAMBDA_ENVIRONMENT_LIMIT:
        issuers, routes = environment.get("AUTH_ISSUERS", ""), environment.get("AUTH_ROUTES", "")
        largest = "routes" if len(routes) > len(issuers) else "issuers"
        hint = "" if spec else ", or set configParameter to true to move issuers and routes into an SSM parameter"
        raise ConfigError(largest, f"the authorizer's environment would be {size} bytes; Lambda allows "
                                   f"{LAMBDA_ENVIRONMENT_LIMIT} in all. Shorten the configuration{hint}")
    return environment


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))
