"""The authorizer's configuration: trusted issuers, route rules and tunables, validated once per cold start.

``load_config(os.environ)`` reads the ``AUTH_*`` variables of DESIGN.md. Trusted issuers are parsed here; route rules
in ``route_config``, the checks every value goes through in ``config_values`` (both re-exported from here). Every problem raises ``ConfigError``
naming the field (``AUTH_ISSUERS[1].audience``), so a bad deployment fails its cold start and never allows.
The CDK app validates ``cdk.json`` with the same functions and limits (``parse_issuers``, ``check_route_key``,
``is_claim_value``, ``is_cookie_name``, the ``*_CONFIG_MAX_AGE_SECONDS`` bounds), so both agree on what is valid.

    >>> [i.issuer for i in parse_issuers([{"provider": "passage", "app_id": "abc"}])]
    ['https://auth.passage.id/v1/apps/abc', 'abc']
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .config_values import COOKIE_NAME as COOKIE_NAME
from .config_values import check_clean, string_list
from .config_values import is_claim_value as is_claim_value
from .config_values import is_cookie_name as is_cookie_name
from .config_values import parse_json as parse_json
from .config_values import reject_unknown_fields as reject_unknown_fields
from .errors import ConfigError
from .route_config import DEFAULT_TENANT_CLAIM as DEFAULT_TENANT_CLAIM
from .route_config import HTTP_METHODS as HTTP_METHODS
from .route_config import RouteRule as RouteRule
from .route_config import TenantRule as TenantRule
from .route_config import check_route_key as check_route_key
from .route_config import json_typed as json_typed
from .route_config import parse_routes as parse_routes
from .route_config import parse_tenant_rule as parse_tenant_rule

if TYPE_CHECKING:  # the presets are imported when an issuer names one: a cold start without them skips them
    from .providers import TokenUseRule

#: What python-jose verifies safely with an asymmetric key. ``none`` and HS* are never accepted (RFC 8725 §3.1).
SUPPORTED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
_ISSUER_FIELDS = {"issuer", "audience", "require_audience", "jwks_uri", "algorithms", "token_types", "ca_bundle"}
ISSUER_MATCHES = ("exact", "one_more_segment")
#: One discovery or JWKS exchange, whole. At most 2.5 s, so that a cold start's worst case (``bounds.py``) stays
#: within Lambda's 10 s init phase and a warm request's within API Gateway's 10 s wait for an authorizer.
MAX_JWKS_TIMEOUT_SECONDS = 2.5
DEFAULT_JWKS_MAX_STALE_SECONDS = 86400
MAX_JWKS_MAX_STALE_SECONDS = 7 * 86400
#: ``AUTH_CONFIG_MAX_AGE_SECONDS`` (the stack's ``configMaxAgeSeconds``): how long an SSM configuration is kept.
DEFAULT_CONFIG_MAX_AGE_SECONDS = 60
MIN_CONFIG_MAX_AGE_SECONDS = 1
MAX_CONFIG_MAX_AGE_SECONDS = 86400


@dataclass(frozen=True)
class TrustedIssuer:
    """One issuer whose tokens are accepted: its exact ``iss``, audiences, and where its keys come from.

    ``require_audience`` false: an ``aud`` that is present must still match, but a token with neither ``aud`` nor
    ``client_id`` passes on its exact issuer (Descope session tokens carry neither). ``client_ids`` (Cognito access
    tokens): ``client_id`` must be one of them, whatever ``aud`` says. ``issuer_match`` ``"one_more_segment"``:
    ``iss`` is ``issuer`` followed by one non-empty path segment (Descope's agentic form ends in a server id).
    """

    issuer: str
    audiences: tuple[str, ...]
    jwks_uri: str | None = None  # None: OIDC discovery at <issuer>/.well-known/openid-configuration
    algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS
    token_types: tuple[str, ...] | None = None  # None: any header typ
    ca_bundle: str | None = None
    provider: str = "custom"
    require_audience: bool = True
    client_ids: tuple[str, ...] | None = None
    token_use: tuple[TokenUseRule, ...] = ()
    issuer_match: str = "exact"
    #: MCP resources' URIs (``mcp_config.bind_resources``): an ``aud`` holding one also passes verification, and
    #: the token is then good on that resource's route only.
    resource_audiences: tuple[str, ...] = ()
    #: What ``aud`` may hold: the audiences, then the MCP resources' URIs (derived, once per configuration).
    accepted_audiences: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "accepted_audiences", self.audiences + self.resource_audiences)

    @property
    def key_source(self) -> tuple[str, str | None, str | None]:
        """Issuers with the same key source share one JWKS cache (a preset's issuer forms do).

        Keys found by discovery are bound to the issuer the discovery document must name, so two issuers that
        discover under one URL (``https://idp/`` and ``https://idp``) do not share a cache.
        """
        if self.jwks_uri is not None:
            return (self.jwks_uri, self.ca_bundle, None)
        return (discovery_url(self.issuer), self.ca_bundle, self.issuer)

    def accepts_iss(self, iss: Any) -> bool:
        """Whether a token's ``iss`` is this issuer: exact, or (agentic form) this prefix plus one segment."""
        if self.issuer_match == "exact":
            return iss == self.issuer
        if not isinstance(iss, str) or not iss.startswith(self.issuer):
            return False
        rest = iss[len(self.issuer):]
        return _issuer_segment().fullmatch(rest) is not None


@cache
def _issuer_segment() -> re.Pattern[str]:
    """The server id closing a Descope agentic issuer: one path segment of URL-safe characters. Compiled for the
    first token of such an issuer: the cold start of a configuration without one never compiles it."""
    return re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")


@dataclass(frozen=True)
class AuthorizerConfig:
    issuers: tuple[TrustedIssuer, ...]
    routes: Mapping[str, RouteRule] = field(default_factory=dict)
    leeway_seconds: int = 60
    response: str = "iam"
    token_cookie: str | None = None
    jwks_timeout_seconds: float = 1.5
    jwks_max_age_seconds: float = 3600.0
    jwks_max_stale_seconds: float = DEFAULT_JWKS_MAX_STALE_SECONDS
    jwks_cooldown_seconds: float = 30.0
    config_parameter: str | None = None


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_fetch_url(url: Any, field_name: str, configured: Any = None) -> str:
    """Keys are fetched only over https, or plain http to a loopback host (local runs and tests).

    ``configured``: the value the message names when ``url`` is derived from it (the issuer a discovery URL is
    built from); by default ``url`` itself.
    """
    if not isinstance(url, str) or not url:
        raise ConfigError(field_name, "must be a non-empty URL string")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(field_name, "must not embed credentials (they would reach logs and traces)")
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return url
    shown = url if configured is None else configured
    raise ConfigError(field_name, f"must be an https URL (http only on loopback hosts), got {shown!r}")


# --- issuers ------------------------------------------------------------------------------------------------
def parse_issuers(value: Any, field_name: str = "AUTH_ISSUERS") -> tuple[TrustedIssuer, ...]:
    """A JSON list of issuer objects or provider presets → the trusted issuers, presets expanded."""
    if not isinstance(value, list) or not value:
        raise ConfigError(field_name, "must be a non-empty JSON list of issuers")
    check_clean(value, field_name)
    issuers: list[TrustedIssuer] = []
    seen: dict[str, str] = {}
    for index, spec in enumerate(value):
        where = f"{field_name}[{index}]"
        for issuer in expand_issuer(spec, where):
            if issuer.issuer in seen:
                raise ConfigError(where, f"issuer {issuer.issuer!r} is already configured at {seen[issuer.issuer]}")
            seen[issuer.issuer] = where
            issuers.append(issuer)
    return tuple(issuers)


def expand_issuer(spec: Any, where: str) -> list[TrustedIssuer]:
    """One configured entry → one or more ``TrustedIssuer`` (a preset may accept several ``iss`` forms)."""
    if not isinstance(spec, dict):
        raise ConfigError(where, "must be a JSON object")
    provider = spec.get("provider")
    if provider is None:
        reject_unknown_fields(spec, _ISSUER_FIELDS, where)
        return [build_issuer(spec, where)]
    from .providers import PRESETS

    if provider not in PRESETS:
        raise ConfigError(f"{where}.provider", f"must be one of {sorted(PRESETS)}, got {provider!r}")
    preset = PRESETS[provider]
    reject_unknown_fields(spec, preset.fields | {"provider"}, where)
    try:
        expanded = preset.expand(spec)
    except KeyError as missing:
        raise ConfigError(f"{where}.{missing.args[0]}", f"is required for provider {provider!r}") from None
    except ConfigError as problem:  # a preset names the field relative to its entry
        raise ConfigError(f"{where}.{problem.field}", problem.problem) from None
    return [build_issuer(entry, where, provider=provider) for entry in expanded]


def build_issuer(spec: Mapping[str, Any], where: str, provider: str = "custom") -> TrustedIssuer:
    issuer = spec.get("issuer")
    if not isinstance(issuer, str) or not issuer.strip() or issuer != issuer.strip():
        raise ConfigError(f"{where}.issuer", "must be a non-empty string without surrounding spaces")
    # A preset may leave the audience empty where another binding replaces it (Cognito access tokens: client_ids).
    audiences = (() if spec.get("audience") == [] and "client_ids" in spec
                 else string_list(spec.get("audience"), f"{where}.audience"))
    jwks_uri = spec.get("jwks_uri")
    if jwks_uri is not None:
        check_fetch_url(jwks_uri, f"{where}.jwks_uri")
    else:
        # Keys come from discovery under the issuer URL, which must then be fetchable. A bare-ID issuer
        # (Descope, Passage legacy) always comes with an explicit jwks_uri from its preset.
        check_fetch_url(discovery_url(issuer), f"{where}.issuer", configured=issuer)
    algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS
    if "algorithms" in spec:
        algorithms = string_list(spec["algorithms"], f"{where}.algorithms")
        for alg in algorithms:
            if alg not in SUPPORTED_ALGORITHMS:
                raise ConfigError(
                    f"{where}.algorithms",
                    f"{alg!r} is not accepted; choose from {', '.join(SUPPORTED_ALGORITHMS)} (none and HS* never are)",
                )
    token_types = None
    if spec.get("token_types") is not None:
        token_types = tuple(t.lower() for t in string_list(spec["token_types"], f"{where}.token_types"))
    ca_bundle = spec.get("ca_bundle")
    if ca_bundle is not None and (not isinstance(ca_bundle, str) or not ca_bundle):
        raise ConfigError(f"{where}.ca_bundle", "must be a path to a PEM file")
    require_audience = spec.get("require_audience", True)
    if not isinstance(require_audience, bool):
        raise ConfigError(f"{where}.require_audience", "must be true or false")
    client_ids = spec.get("client_ids")
    if client_ids is not None:
        client_ids = string_list(client_ids, f"{where}.client_ids")
    issuer_match = spec.get("issuer_match", "exact")
    if issuer_match not in ISSUER_MATCHES:  # set by presets only: a bug, still named
        raise ConfigError(f"{where}.issuer_match", f"must be one of {list(ISSUER_MATCHES)}")
    return TrustedIssuer(
        issuer=issuer,
        audiences=audiences,
        jwks_uri=jwks_uri,
        algorithms=algorithms,
        token_types=token_types,
        ca_bundle=ca_bundle,
        provider=provider,
        require_audience=require_audience,
        client_ids=client_ids,
        token_use=tuple(spec.get("token_use", ())),
        issuer_match=issuer_match,
    )


# --- the environment ----------------------------------------------------------------------------------------
def settle(issuers: tuple[TrustedIssuer, ...], routes: dict[str, RouteRule]
           ) -> tuple[tuple[TrustedIssuer, ...], dict[str, RouteRule]]:
    """Issuers and routes that name each other, checked together: an MCP route's authorization servers must be
    trusted issuers, which then accept its resource as an audience (``mcp_config.bind_resources``). Without issuers
    yet (they come from the SSM parameter), left for the parameter's issuers."""
    if not issuers or not any(rule.mcp is not None for rule in routes.values()):
        return issuers, routes
    from .mcp_config import bind_resources

    return bind_resources(issuers, routes)


def load_config(environ: Mapping[str, str]) -> AuthorizerConfig:
    """Read and validate the ``AUTH_*`` variables. Raises ``ConfigError`` naming the variable."""
    parameter = environ.get("AUTH_CONFIG_PARAMETER") or None
    issuers_json = environ.get("AUTH_ISSUERS")
    if issuers_json is None and parameter is None:
        raise ConfigError("AUTH_ISSUERS", "is required (a JSON list of trusted issuers)")
    issuers = parse_issuers(parse_json(issuers_json, "AUTH_ISSUERS")) if issuers_json is not None else ()
    routes = parse_routes(parse_json(environ.get("AUTH_ROUTES") or "{}", "AUTH_ROUTES"))
    issuers, routes = settle(issuers, routes)
    response = environ.get("AUTH_RESPONSE") or "iam"
    if response not in ("iam", "simple"):
        raise ConfigError("AUTH_RESPONSE", f"must be 'iam' or 'simple', got {response!r}")
    cookie = environ.get("AUTH_TOKEN_COOKIE") or None
    if cookie is not None and not is_cookie_name(cookie):
        raise ConfigError("AUTH_TOKEN_COOKIE", "must be a valid cookie name")
    return AuthorizerConfig(
        issuers=issuers,
        routes=routes,
        leeway_seconds=int(_number(environ, "AUTH_LEEWAY_SECONDS", 60, minimum=0, maximum=600, integer=True)),
        response=response,
        token_cookie=cookie,
        jwks_timeout_seconds=_number(environ, "AUTH_JWKS_TIMEOUT_SECONDS", 1.5, minimum=0.05,
                                     maximum=MAX_JWKS_TIMEOUT_SECONDS),
        jwks_max_age_seconds=_number(environ, "AUTH_JWKS_MAX_AGE_SECONDS", 3600, minimum=1, maximum=7 * 86400),
        jwks_max_stale_seconds=_number(environ, "AUTH_JWKS_MAX_STALE_SECONDS", DEFAULT_JWKS_MAX_STALE_SECONDS,
                                       minimum=0, maximum=MAX_JWKS_MAX_STALE_SECONDS),
        # At least 1 s: with no cooldown every forged kid would cost the issuer a fetch.
        jwks_cooldown_seconds=_number(environ, "AUTH_JWKS_COOLDOWN_SECONDS", 30, minimum=1, maximum=3600),
        config_parameter=parameter,
    )


def _number(environ: Mapping[str, str], name: str, default: float, *, minimum: float, maximum: float,
            integer: bool = False) -> float:
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ConfigError(name, f"must be a {'whole ' if integer else ''}number, got {text!r}") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ConfigError(name, f"must be between {minimum:g} and {maximum:g}, got {text!r}")
    return value


