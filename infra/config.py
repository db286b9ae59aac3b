"""The stack's configuration: ``cdk.json`` context (and ``-c`` overrides) → a typed, validated ``StackConfig``.

Everything is checked here, before any construct is built, and every problem raises ``ConfigError`` naming the
context key (``authorizer``, ``issuers[0].audience``, ``routes[2].scopes``, ``cacheTtlSeconds``...). Issuers are
validated by the authorizer's own ``parse_issuers`` and a route's ``tenant`` rule by its ``parse_tenant_rule``, so
synthesis and the Lambda's cold start agree on what is valid.

``configParameter`` (lambda mode) moves the issuers and route rules from the Lambda's environment into an SSM String
parameter, so they can be changed without a redeploy: ``true`` creates it from ``issuers``/``routes``, a string names
an existing one. ``tokenCookie`` (lambda mode, ``cacheTtlSeconds`` 0) lets the authorizer read the token from a
cookie. ``tracing`` turns on active X-Ray tracing for both functions.

What only works on this machine fails synthesis for a deployment: a loopback issuer or ``jwks_uri``, and a
``ca_bundle`` that is not a PEM file bundled under ``authorizer/``. Both are allowed when bundling is skipped
(``aws:cdk:bundling-stacks`` is ``[]``), which is how the local stack synthesizes.

``-c key=value`` arrives as a string, ``cdk.json`` as JSON; both are accepted:

    >>> config = load_stack_config({"issuers": '[{"issuer": "https://idp.example.com", "audience": "api"}]'}.get)
    >>> config.authorization.mode, [r.route_key for r in config.authorization.routes][:2]
    ('lambda', ['GET /hello', 'GET /orders'])
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from aws_cdk import Duration

from .arguments import describe, one_of, whole_int, whole_seconds
from .context_values import boolean, choice, json_value, whole_number
from .deployable import check_deployable_issuers
from .lambda_sources import (
    DEFAULT_CONFIG_MAX_AGE_SECONDS,
    MAX_CONFIG_MAX_AGE_SECONDS,
    MIN_CONFIG_MAX_AGE_SECONDS,
    ConfigError,
    TrustedIssuer,
    is_cookie_name,
    json_typed,
    parse_issuers,
    parse_routes,
    settle,
)
from .mcp_settings import mcp_stand_in
from .native_jwt import check_native_routes, select_native_issuer
from .route_specs import parse_route_specs, tenant_setting
from .typed_settings import (
    AuthorizerMode,
    Issuer,
    IssuerDict,
    LambdaResponse,
    ProviderIssuer,
    RouteDict,
    RouteSpec,
    TenantRule,
    plain_issuers,
    plain_routes,
)

__all__ = [
    "AuthorizationSettings",
    "ConfigError",
    "ConfigParameter",
    "DEFAULT_ROUTES",
    "RouteSpec",
    "TenantRule",
    "StackConfig",
    "Throttle",
    "load_stack_config",
]

MODES = ("lambda", "jwt")
LAMBDA_RESPONSES = ("iam", "simple")
#: The sample backend's routes, used when ``routes`` is not configured.
DEFAULT_ROUTES: tuple[dict[str, Any], ...] = (
    {"method": "GET", "path": "/hello"},
    {"method": "GET", "path": "/orders", "scopes": ["orders:read"]},
    {"method": "POST", "path": "/orders", "scopes": ["orders:write"]},
    {"method": "GET", "path": "/tenants/{tenantId}/orders", "tenant": {"param": "tenantId", "roles": ["admin"]}},
    {"method": "GET", "path": "/health", "public": True},
    {"method": "ANY", "path": "/mcp",
     "mcp": {"tools": {"list_orders": ["orders:read"], "create_order": ["orders:write"]}}},
)
DEFAULT_CACHE_TTL_SECONDS = 300
MAX_CACHE_TTL_SECONDS = 3600  # API Gateway's limit for authorizer result caching
DEFAULT_STACK_NAME = "JwtAuthorizerApi"
DEFAULT_LOG_RETENTION_DAYS = 30
#: The values CloudWatch Logs accepts for a retention period (never "forever": retention stays bounded).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)
SSM_STANDARD_VALUE_LIMIT = 4096  # bytes: a standard-tier parameter's value (advanced tier costs money per parameter)
_SSM_NAME = re.compile(r"[A-Za-z0-9_.\-/]{1,1011}")
_THROTTLE_FIELDS = {"rateLimit", "burstLimit"}


@dataclass(frozen=True)
class SettingNames:
    """How errors name each setting: the Python arguments of ``AuthorizationSettings.create`` or ``cdk.json``'s
    keys, so each user reads the name they wrote."""

    mode: str
    cache_ttl: str
    lambda_response: str
    config_parameter: str
    config_max_age: str
    token_cookie: str
    lambda_mode: str  # how to choose lambda mode, for hints


PYTHON_ARGUMENTS = SettingNames("mode", "cache_ttl_seconds", "lambda_response", "config_parameter",
                                "config_max_age_seconds", "token_cookie", "mode=AuthorizerMode.LAMBDA")
CONTEXT_KEYS = SettingNames("authorizer", "cacheTtlSeconds", "lambdaResponse", "configParameter",
                            "configMaxAgeSeconds", "tokenCookie", "authorizer=lambda")


@dataclass(frozen=True)
class Throttle:
    rate_limit: float = 100.0  # steady-state requests per second for the stage
    burst_limit: int = 200


@dataclass(frozen=True)
class ConfigParameter:
    """The SSM String parameter the authorizer Lambda reads its issuers and routes from (``configParameter``).

    ``existing_name`` None: the construct creates the parameter from the configured issuers and routes; otherwise
    the stack only references that parameter (and grants reading it), and whoever owns it writes its value.
    """

    existing_name: str | None = None
    max_age_seconds: int = DEFAULT_CONFIG_MAX_AGE_SECONDS  # AUTH_CONFIG_MAX_AGE_SECONDS: re-read after this

    @property
    def created(self) -> bool:
        return self.existing_name is None


@dataclass(frozen=True)
class AuthorizationSettings:
    """What the authorization construct needs, validated. Build it with ``AuthorizationSettings.create``."""

    mode: str
    issuers: tuple[Any, ...]  # as configured, presets unexpanded: AUTH_ISSUERS, or the parameter's issuers
    trusted_issuers: tuple[TrustedIssuer, ...]  # presets expanded, as the Lambda will see them
    routes: tuple[RouteSpec, ...]
    cache_ttl_seconds: int = DEFAULT_CACHE_TTL_SECONDS
    lambda_response: str = "iam"
    native_issuer: TrustedIssuer | None = None  # jwt mode: the one issuer API Gateway checks
    config_parameter: ConfigParameter | None = None  # lambda mode: issuers and routes from SSM, not the environment
    token_cookie: str | None = None  # lambda mode: AUTH_TOKEN_COOKIE; the authorizer then has no identity source
    notes: tuple[str, ...] = ()  # things worth a synthesis warning (not errors)

    @classmethod
    def create(
        cls,
        *,
        mode: AuthorizerMode | Literal["lambda", "jwt"] = AuthorizerMode.LAMBDA,
        issuers: Sequence[Issuer | ProviderIssuer | IssuerDict],
        routes: Sequence[RouteSpec | RouteDict],
        cache_ttl_seconds: int | None = None,
        results_cache_ttl: Duration | None = None,
        lambda_response: LambdaResponse | Literal["iam", "simple"] = LambdaResponse.IAM,
        config_parameter: bool | str = False,
        config_max_age_seconds: int = DEFAULT_CONFIG_MAX_AGE_SECONDS,
        token_cookie: str | None = None,
        local: bool = False,
    ) -> AuthorizationSettings:
        """Validate the settings of a ``JwtAuthorization``; every error names the argument (``mode``,
        ``issuers[0].audience``, ``routes[2].scopes``, ``results_cache_ttl``...), what it accepts and a hint.

        ``issuers``: ``Issuer``, ``ProviderIssuer`` or dicts of the ``cdk.json`` shape. ``routes`` is required: the
        routes this API has, each protected or ``public`` (``RouteSpec`` or dicts). The result cache:
        ``results_cache_ttl`` (a ``Duration``, 0 to 1 hour) or ``cache_ttl_seconds``; default 5 minutes.

        ``config_parameter``: ``False`` (issuers and routes in the Lambda's environment), ``True`` (an SSM parameter
        created from them) or the name of an existing String parameter; lambda mode only.
        ``token_cookie``: the cookie the authorizer reads the token from when no Authorization header is sent
        (lambda mode; needs a cache TTL of 0).
        ``local``: the settings are for a local run with bundling skipped, never deployed; only then are loopback
        issuers and ``ca_bundle`` paths outside the bundle accepted.
        """
        names = PYTHON_ARGUMENTS
        if cache_ttl_seconds is not None and results_cache_ttl is not None:
            raise ConfigError("results_cache_ttl", "give results_cache_ttl (a Duration) or cache_ttl_seconds, not both")
        if results_cache_ttl is not None:
            ttl = whole_seconds(results_cache_ttl, "results_cache_ttl", 0, MAX_CACHE_TTL_SECONDS, "Duration.minutes(5)")
        elif cache_ttl_seconds is not None:
            ttl = whole_int(cache_ttl_seconds, names.cache_ttl, 0, MAX_CACHE_TTL_SECONDS, "seconds",
                            duration_hint="results_cache_ttl")
        else:
            ttl = DEFAULT_CACHE_TTL_SECONDS
        if not isinstance(config_parameter, (bool, str)):
            raise ConfigError(names.config_parameter, "must be False, True (create the parameter) or the name of an "
                                                      f"existing String parameter, got {describe(config_parameter)}")
        whole_int(config_max_age_seconds, names.config_max_age, MIN_CONFIG_MAX_AGE_SECONDS,
                  MAX_CONFIG_MAX_AGE_SECONDS, "seconds")
        if token_cookie is not None and not isinstance(token_cookie, str):
            raise ConfigError(names.token_cookie, f"must be a cookie name (a string) or None, got {describe(token_cookie)}")
        if not isinstance(local, bool):
            raise ConfigError("local", f"must be True or False, got {describe(local)}")
        return cls._validated(
            names, mode=one_of(mode, names.mode, AuthorizerMode, MODES),
            issuers=plain_issuers(issuers, "issuers"), routes=plain_routes(routes, "routes"), cache_ttl_seconds=ttl,
            lambda_response=one_of(lambda_response, names.lambda_response, LambdaResponse, LAMBDA_RESPONSES),
            config_parameter=config_parameter, config_max_age_seconds=config_max_age_seconds,
            token_cookie=token_cookie, local=local)

    @classmethod
    def from_context(cls, *, mode: Any, issuers: Any, routes: Any, cache_ttl_seconds: Any, lambda_response: Any,
                     config_parameter: Any, config_max_age_seconds: Any, token_cookie: Any,
                     local: bool) -> AuthorizationSettings:
        """The same settings from ``cdk.json`` context: JSON values, or the strings ``-c key=value`` gives; errors
        name the context key."""
        names = CONTEXT_KEYS
        return cls._validated(
            names, mode=choice(mode, names.mode, MODES), issuers=json_value(issuers, "issuers", list),
            routes=json_value(routes, "routes", list),
            cache_ttl_seconds=whole_number(cache_ttl_seconds, names.cache_ttl, 0, MAX_CACHE_TTL_SECONDS),
            lambda_response=choice(lambda_response, names.lambda_response, LAMBDA_RESPONSES),
            config_parameter=config_parameter, config_max_age_seconds=config_max_age_seconds,
            token_cookie=token_cookie, local=local)

    @classmethod
    def _validated(cls, names: SettingNames, *, mode: str, issuers: list[Any], routes: list[Any],
                   cache_ttl_seconds: int, lambda_response: str, config_parameter: Any, config_max_age_seconds: Any,
                   token_cookie: Any, local: bool) -> AuthorizationSettings:
        """Plain, type-checked values → settings, by the authorizer's own parsers where it has them."""
        trusted = parse_issuers(issuers, field_name="issuers")
        route_specs = parse_route_specs(routes)
        ttl = cache_ttl_seconds
        parameter = parse_config_parameter(config_parameter, config_max_age_seconds, mode, names)
        cookie = parse_token_cookie(token_cookie, mode, ttl, names)
        if not local:
            check_deployable_issuers(issuers, mode)
        native: TrustedIssuer | None = None
        notes: tuple[str, ...] = ()
        if mode == "jwt":
            native, notes = select_native_issuer(issuers)
            check_native_routes(route_specs)
        if parameter is not None and not parameter.created:
            notes += (f"{names.config_parameter} names an existing parameter: the authorizer trusts the issuers in "
                      f"{parameter.existing_name}, not the configured issuers (the configured route rules apply "
                      "only while the parameter has no \"routes\")",)
        elif any(_is_example_host(urlsplit(i.issuer).hostname) for i in trusted):
            notes += ("issuers still holds an example.com issuer: set your provider's "
                      "(see docs/providers.md)",)
        settings = cls(mode=mode, issuers=tuple(issuers), trusted_issuers=trusted, routes=route_specs,
                       cache_ttl_seconds=ttl, lambda_response=lambda_response, native_issuer=native,
                       config_parameter=parameter, token_cookie=cookie, notes=notes)
        if mode == "lambda":
            settings.check_auth_routes()
        if parameter is not None and parameter.created:
            settings.check_parameter_value(names)
        return settings

    @property
    def protected_routes(self) -> tuple[RouteSpec, ...]:
        return tuple(r for r in self.routes if not r.public)

    @property
    def tenant_routes(self) -> tuple[RouteSpec, ...]:
        """The protected routes with a tenant rule (lambda mode only: jwt mode refuses them)."""
        return tuple(r for r in self.protected_routes if r.tenant is not None)

    @property
    def mcp_routes(self) -> tuple[RouteSpec, ...]:
        """The protected routes that are MCP endpoints."""
        return tuple(r for r in self.protected_routes if r.mcp is not None)

    @property
    def per_request_routes(self) -> tuple[RouteSpec, ...]:
        """Routes whose answer depends on more than the route and the token — the path's tenant, the MCP method and
        tool — and is therefore decided per request (lambda mode, with a result cache: a second authorizer)."""
        return tuple(r for r in self.protected_routes if r.tenant is not None or (r.mcp and r.mcp.has_rules))

    def auth_routes(self, resources: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """``AUTH_ROUTES`` for the Lambda: route key → rule, for the protected routes that have a rule.
        ``resources``: route key → an MCP endpoint's URI where the settings leave it to the API's URL (a token at
        synthesis); a stand-in URI otherwise, for checks."""
        rules: dict[str, dict[str, Any]] = {}
        for route in self.protected_routes:
            if route.has_rule:
                rule: dict[str, Any] = {"scopes": list(route.scopes)}
                if route.claims:
                    rule["claims"] = dict(route.claims)
                if route.tenant is not None:
                    rule["tenant"] = route.tenant.to_config()
                if route.mcp is not None:
                    given = (resources or {}).get(route.route_key)
                    rule["mcp"] = route.mcp.to_config(given or route.mcp.resource or mcp_stand_in(route.path))
                rules[route.route_key] = rule
        return rules

    def check_auth_routes(self) -> None:
        """The Lambda must read back exactly the rules configured here (same parser, same result)."""
        parsed = parse_routes(self.auth_routes(), field_name="routes")
        settle(self.trusted_issuers, parsed)  # an MCP endpoint's authorization servers are trusted issuers
        for route in self.protected_routes:
            if not route.has_rule:
                continue
            rule = parsed.get(route.route_key)
            # By JSON type: in Python 1 == True, so comparing the values alone would not see a rule lose its type.
            expected_claims = {name: tuple(json_typed(a) for a in (v if isinstance(v, list) else [v]))
                               for name, v in route.claims.items()}
            if rule is None or rule.scopes != route.scopes or dict(rule.typed_claims) != expected_claims \
                    or tenant_setting(rule.tenant) != route.tenant:
                raise ConfigError("routes", f"{route.route_key} does not round-trip through AUTH_ROUTES")

    def parameter_value(self, resources: Mapping[str, str] | None = None) -> str:
        """The SSM parameter's value: ``{"issuers": <as configured, presets unexpanded>, "routes": <AUTH_ROUTES>}``."""
        return json.dumps({"issuers": list(self.issuers), "routes": self.auth_routes(resources)},
                          separators=(",", ":"))

    def check_parameter_value(self, names: SettingNames = CONTEXT_KEYS) -> None:
        """The created parameter is a standard-tier String: its value must fit in 4 KB."""
        size = len(self.parameter_value().encode("utf-8"))
        if size > SSM_STANDARD_VALUE_LIMIT:
            raise ConfigError(
                names.config_parameter,
                f"the issuers and routes make a {size}-byte parameter value; a standard SSM parameter holds at most "
                f"{SSM_STANDARD_VALUE_LIMIT}. Shorten issuers/routes, or create a larger (advanced-tier) parameter "
                f"yourself and set {names.config_parameter} to its name",
            )


@dataclass(frozen=True)
class StackConfig:
    """Everything the sample stack is built from."""

    authorization: AuthorizationSettings
    stack_name: str = DEFAULT_STACK_NAME
    throttle: Throttle = Throttle()
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    tracing: bool = False  # active X-Ray tracing on both functions


# --- the context --------------------------------------------------------------------------------------------
def load_stack_config(lookup: Callable[[str], Any]) -> StackConfig:
    """Read the context keys through ``lookup`` (``app.node.try_get_context`` or ``dict.get``) and validate."""

    def get(key: str, default: Any) -> Any:
        value = lookup(key)
        return default if value is None else value

    issuers = lookup("issuers")
    if issuers is None:
        raise ConfigError("issuers", "is required: a list of trusted issuers or provider presets "
                                     "(see docs/configuration.md)")
    authorization = AuthorizationSettings.from_context(
        mode=get("authorizer", "lambda"),
        issuers=issuers,
        routes=get("routes", DEFAULT_ROUTES),
        cache_ttl_seconds=get("cacheTtlSeconds", DEFAULT_CACHE_TTL_SECONDS),
        lambda_response=get("lambdaResponse", "iam"),
        config_parameter=get("configParameter", False),
        config_max_age_seconds=get("configMaxAgeSeconds", DEFAULT_CONFIG_MAX_AGE_SECONDS),
        token_cookie=lookup("tokenCookie"),
        local=bundling_skipped(lookup("aws:cdk:bundling-stacks")),
    )
    return StackConfig(
        authorization=authorization,
        stack_name=_stack_name(get("stackName", DEFAULT_STACK_NAME)),
        throttle=_throttle(get("throttle", {})),
        log_retention_days=_log_retention(get("logRetentionDays", DEFAULT_LOG_RETENTION_DAYS)),
        tracing=boolean(get("tracing", False), "tracing"),
    )


def bundling_skipped(bundling_stacks: Any) -> bool:
    """``aws:cdk:bundling-stacks`` is ``[]``: no stack is bundled, so nothing of this synthesis is deployed (the
    local stack's profile). The CLI's own value is a list of stack patterns, ``["**"]`` by default."""
    if isinstance(bundling_stacks, str):
        try:
            bundling_stacks = json.loads(bundling_stacks)
        except ValueError:
            return False
    return isinstance(bundling_stacks, (list, tuple)) and len(bundling_stacks) == 0


def parse_token_cookie(value: Any, mode: str, cache_ttl_seconds: int, names: SettingNames = CONTEXT_KEYS) -> str | None:
    """``tokenCookie``: unset or empty → None; else a cookie name, in lambda mode, with caching off.

    API Gateway answers 401 without invoking the authorizer when an identity source is missing from a request, so
    a browser sending only the cookie never reaches it while the Authorization header is the identity source. With
    a token cookie the authorizer has no identity source at all, and API Gateway caches only by identity source.
    """
    if value is None or value is False or value == "":
        return None
    if not is_cookie_name(value):
        raise ConfigError(names.token_cookie, f"must be a cookie name such as psg_auth_token, got {value!r}")
    if mode == "jwt":
        raise ConfigError(names.token_cookie, "API Gateway's native JWT authorizer reads the token from a header or "
                                              f"the query string, never from a cookie; use {names.lambda_mode}")
    if cache_ttl_seconds != 0:
        raise ConfigError(
            names.token_cookie,
            f"needs {names.cache_ttl} 0, got {cache_ttl_seconds}: with a token cookie the authorizer has no identity "
            "source (API Gateway would answer 401 to every request lacking one), and API Gateway caches authorizer "
            f"results only by identity source. Set {names.cache_ttl} to 0; the authorizer then runs on every request",
        )
    return str(value)


def parse_config_parameter(value: Any, max_age: Any, mode: str,
                           names: SettingNames = CONTEXT_KEYS) -> ConfigParameter | None:
    """``configParameter``: false → None; true → a parameter to create; a string → an existing one's name."""
    seconds = whole_number(max_age, names.config_max_age, MIN_CONFIG_MAX_AGE_SECONDS, MAX_CONFIG_MAX_AGE_SECONDS)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if value is False or value is None:
        return None
    if value is True:
        name = None
    elif isinstance(value, str) and _SSM_NAME.fullmatch(value.strip()):
        name = value.strip()
        if "/" in name and (not name.startswith("/") or "" in name[1:].split("/")):
            raise ConfigError(names.config_parameter,
                              f"a parameter name with a path is /<level>/.../<name>, got {name!r}")
    else:
        raise ConfigError(names.config_parameter, "must be false, true (create the parameter from issuers and routes) "
                                                  f"or the name of an existing String parameter, got {value!r}")
    if mode == "jwt":
        raise ConfigError(
            names.config_parameter,
            "jwt mode has no authorizer Lambda to read an SSM parameter: API Gateway's native JWT authorizer takes its "
            f"issuer and scopes from the stack at deploy time. Use {names.lambda_mode}, or set "
            f"{names.config_parameter} to false",
        )
    return ConfigParameter(existing_name=name, max_age_seconds=seconds)


def _is_example_host(host: str | None) -> bool:
    return host is not None and (host == "example.com" or host.endswith(".example.com"))


def _stack_name(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 128 or not value[0].isalpha() or not all(
            c.isalnum() or c == "-" for c in value):
        raise ConfigError("stackName", f"must be a CloudFormation stack name (letters, digits, '-'), got {value!r}")
    return value


def _throttle(value: Any) -> Throttle:
    value = json_value(value, "throttle", dict)
    for name in value:
        if name not in _THROTTLE_FIELDS:
            raise ConfigError(f"throttle.{name}", f"is not a known field; expected some of {sorted(_THROTTLE_FIELDS)}")
    default = Throttle()
    rate = value.get("rateLimit", default.rate_limit)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise ConfigError("throttle.rateLimit", f"must be a positive number of requests per second, got {rate!r}")
    burst = whole_number(value.get("burstLimit", default.burst_limit), "throttle.burstLimit", 0, 5000)
    return Throttle(rate_limit=float(rate), burst_limit=burst)


def _log_retention(value: Any) -> int:
    days = whole_number(value, "logRetentionDays", 1, max(LOG_RETENTION_DAYS))
    if days not in LOG_RETENTION_DAYS:
        raise ConfigError("logRetentionDays", f"must be one of CloudWatch's periods {list(LOG_RETENTION_DAYS)}")
    return days
