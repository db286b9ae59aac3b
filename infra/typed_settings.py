"""Typed values for ``AuthorizationSettings.create``, beside the plain JSON shapes of ``cdk.json``.

CDK users pass objects, not strings to be parsed: ``AuthorizerMode.JWT``, ``LambdaResponse.SIMPLE``,
``Duration.minutes(5)`` for the cache, ``RouteSpec`` for a route (``TenantRule`` for its tenant), ``Issuer`` or
``ProviderIssuer`` for a trusted issuer. Each is turned into the plain shape here, and then validated by the same code as ``cdk.json``, so both
ways give the same settings and the same errors (named after the field)::

    AuthorizationSettings.create(
        mode=AuthorizerMode.LAMBDA,
        issuers=[ProviderIssuer.descope("P2abc..."), Issuer("https://idp.example.org", audience="orders-api")],
        routes=[RouteSpec("GET", "/orders", scopes=("orders:read",)), RouteSpec("GET", "/health", public=True),
                RouteSpec("GET", "/tenants/{tenantId}/orders", tenant=TenantRule("tenantId", roles=("admin",)))],
        results_cache_ttl=Duration.minutes(5),
    )

    >>> ProviderIssuer.cognito("eu-west-1_AbC123", client_ids=["app"]).to_config()
    {'provider': 'cognito', 'user_pool_id': 'eu-west-1_AbC123', 'client_ids': ['app']}
    >>> from infra.config import RouteSpec
    >>> plain_routes([RouteSpec("GET", "/orders", scopes=("orders:read",))])
    [{'method': 'GET', 'path': '/orders', 'scopes': ['orders:read']}]
    >>> TenantRule("tenantId", roles=("admin",)).to_config()
    {'param': 'tenantId', 'claim': 'tenants', 'roles': ['admin']}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Literal

from aws_cdk import Duration

from .lambda_sources import DEFAULT_TENANT_CLAIM, ConfigError

ProviderName = Literal["descope", "passage", "wso2", "cognito", "entra", "oidc"]


class AuthorizerMode(StrEnum):
    """``lambda``: our Lambda REQUEST authorizer; ``jwt``: API Gateway's native JWT authorizer."""

    LAMBDA = "lambda"
    JWT = "jwt"


class LambdaResponse(StrEnum):
    """The Lambda authorizer's answer: an IAM policy (cache-safe across routes) or a simple ``isAuthorized``."""

    IAM = "iam"
    SIMPLE = "simple"


@dataclass(frozen=True)
class Issuer:
    """A trusted issuer given by hand (the ``AUTH_ISSUERS`` entry shape)."""

    issuer: str
    audience: str | Sequence[str]
    jwks_uri: str | None = None
    algorithms: Sequence[str] | None = None
    token_types: Sequence[str] | None = None
    require_audience: bool | None = None
    ca_bundle: str | None = None

    def to_config(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {name: list(v) if isinstance(v, (tuple, list)) else v for name, v in values.items() if v is not None}


@dataclass(frozen=True)
class ProviderIssuer:
    """A provider preset; build it with the class method for the provider, e.g. ``ProviderIssuer.entra(...)``.
    ``options``: the preset's other fields (``audience``, ``algorithms``, ``jwks_uri``, ``base_url``, ...)."""

    provider: ProviderName
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def descope(cls, project_id: str, **options: Any) -> ProviderIssuer:
        return cls("descope", {"project_id": project_id, **options})

    @classmethod
    def passage(cls, app_id: str, **options: Any) -> ProviderIssuer:
        return cls("passage", {"app_id": app_id, **options})

    @classmethod
    def wso2(cls, base_url: str, audience: str | Sequence[str], **options: Any) -> ProviderIssuer:
        return cls("wso2", {"base_url": base_url, "audience": audience, **options})

    @classmethod
    def cognito(cls, user_pool_id: str, client_ids: Sequence[str], **options: Any) -> ProviderIssuer:
        return cls("cognito", {"user_pool_id": user_pool_id, "client_ids": list(client_ids), **options})

    @classmethod
    def entra(cls, tenant_id: str, audience: str | Sequence[str], **options: Any) -> ProviderIssuer:
        return cls("entra", {"tenant_id": tenant_id, "audience": audience, **options})

    @classmethod
    def oidc(cls, issuer: str, audience: str | Sequence[str], **options: Any) -> ProviderIssuer:
        return cls("oidc", {"issuer": issuer, "audience": audience, **options})

    def to_config(self) -> dict[str, Any]:
        return {"provider": self.provider,
                **{k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}}


@dataclass(frozen=True)
class TenantRule:
    """A route's tenant rule (lambda mode): its path parameter ``param`` must name one of the caller's tenants.

    ``claim`` is where the token holds the caller's tenants: an object whose keys are tenant IDs (Descope's
    ``tenants``, the default, each ``{"roles": [...], "permissions": [...]}``), a list of tenant IDs, or one tenant ID
    (``org_id``, ``tid``, Descope's ``dct``). ``roles`` and ``permissions``, when given, are required **within that
    tenant**, each any-of. ``param`` must be a whole ``{param}`` segment of the route's path. Validated, like the
    ``cdk.json`` shape ``{"param", "claim"?, "roles"?, "permissions"?}``, by the authorizer's own parser::

        RouteSpec("GET", "/tenants/{tenantId}/orders", tenant=TenantRule("tenantId", roles=("admin",)))
    """

    param: str
    claim: str = DEFAULT_TENANT_CLAIM
    roles: Sequence[str] = ()
    permissions: Sequence[str] = ()

    def to_config(self) -> dict[str, Any]:
        """The rule as ``cdk.json`` and ``AUTH_ROUTES`` write it (roles and permissions only when given)."""
        config: dict[str, Any] = {"param": self.param, "claim": self.claim}
        for name in ("roles", "permissions"):
            value = getattr(self, name)
            if value:
                config[name] = list(value) if isinstance(value, (tuple, list)) else value
        return config


def plain_choice(value: Any) -> Any:
    """An enum member → its value; anything else as it is (checked by the caller)."""
    return value.value if isinstance(value, Enum) else value


def plain_issuers(value: Any) -> Any:
    """``Issuer``/``ProviderIssuer`` objects → their dicts; dicts and JSON strings as they are."""
    if isinstance(value, (list, tuple)):
        return [item.to_config() if isinstance(item, (Issuer, ProviderIssuer)) else item for item in value]
    return value


def plain_routes(value: Any) -> Any:
    """``RouteSpec`` objects → the ``cdk.json`` route shape; dicts and JSON strings as they are."""
    if not isinstance(value, (list, tuple)):
        return value
    plain = []
    for item in value:
        if hasattr(item, "route_key") and hasattr(item, "public"):  # a RouteSpec (config imports this module)
            route: dict[str, Any] = {"method": item.method, "path": item.path}
            if item.scopes:
                route["scopes"] = list(item.scopes)
            if item.claims:
                route["claims"] = dict(item.claims)
            if item.tenant is not None:
                route["tenant"] = item.tenant.to_config() if isinstance(item.tenant, TenantRule) else item.tenant
            if item.public:
                route["public"] = True
            item = route
        plain.append(item)
    return plain


def duration_seconds(value: Any, field_name: str, maximum: int) -> int:
    """A CDK ``Duration`` → whole seconds from 0 to ``maximum``; errors name ``field_name``."""
    if not isinstance(value, Duration):
        raise ConfigError(field_name, f"must be an aws_cdk.Duration, got {value!r}")
    if value.is_unresolved():
        raise ConfigError(field_name, "must be a concrete Duration, not a token")
    milliseconds = value.to_milliseconds()
    if milliseconds % 1000 or not 0 <= milliseconds <= maximum * 1000:
        raise ConfigError(field_name, f"must be whole seconds from 0 to {maximum}, got {value.to_human_string()}")
    return int(milliseconds // 1000)
