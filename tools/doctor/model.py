"""What the doctor reasons about: the authorizers and routes it checks against, and what it finds.

A ``Setup`` (from ``sources``) names each authorizer (``NativeSetup`` for API Gateway's JWT authorizer,
``LambdaSetup`` for ours) and the routes that use it; ``checks`` turns a token and a setup into one ``Report`` per
authorizer, each a list of ``Finding``s and a ``RouteVerdict`` per route; ``render`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authorizer.config import AuthorizerConfig
from authorizer.errors import ConfigError

NATIVE_ALGORITHMS = ("RS256", "RS384", "RS512")  # API Gateway's JWT authorizer verifies RSA only
NATIVE, LAMBDA = "jwt", "lambda"


class DoctorError(Exception):
    """The doctor cannot run: no token, an unreadable configuration, an AWS call that failed."""


# --- what is being checked against ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NativeSetup:
    """A native JWT authorizer: the one issuer URL and its audiences."""

    issuer: str
    audiences: tuple[str, ...]
    name: str = "native JWT authorizer"


@dataclass(frozen=True)
class LambdaSetup:
    name: str
    config: AuthorizerConfig


@dataclass(frozen=True)
class Route:
    route_key: str
    authorizer: str | None  # a key of Setup.authorizers; None: public (no authorizer)
    scopes: tuple[str, ...] = ()  # native authorizationScopes


@dataclass
class Setup:
    source: str
    authorizers: dict[str, NativeSetup | LambdaSetup]
    routes: list[Route]
    in_use: set[str]  # authorizers that routes actually use; with cdk.json, the configured mode
    notes: list[str] = field(default_factory=list)
    #: mode → why ``cdk synth`` refuses this configuration in that mode (cdk.json only): the stack's own error.
    refused: dict[str, ConfigError] = field(default_factory=dict)


# --- what the doctor says ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    status: str  # "ok" | "fail" | "warn" | "skip"
    topic: str  # format, issuer, alg, kid, keys, signature, expiry, not-before, issued-at, audience, claims, scope,
    # tenant
    message: str
    fix: str = ""


@dataclass
class RouteVerdict:
    route_key: str
    allowed: bool | None  # None: public
    status: int | None  # what the client would see from API Gateway
    findings: list[Finding] = field(default_factory=list)
    tenant: str | None = None  # on a tenant route: the tenant the request names (--tenant, --path), if given


@dataclass
class Report:
    authorizer: str
    kind: str  # jwt | lambda
    in_use: bool
    findings: list[Finding]
    routes: list[RouteVerdict]

    @property
    def accepted(self) -> bool:
        return all(f.status != "fail" for f in self.findings)


@dataclass(frozen=True)
class KeySource:
    """Where keys come from: fetched (``None`` document) or a local JWKS file; or not checked at all."""

    fetch: bool = True
    jwks_document: dict[str, Any] | None = None
    timeout: float = 5.0
