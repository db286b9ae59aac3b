"""The parts of an HTTP API as the local API Gateway serves them: functions, integrations, authorizers, routes,
stages, and the API that holds them (read from a template by ``local/apigateway/template.py``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.cloudformation.intrinsics import ACCOUNT_ID, PARTITION, REGION

DEFAULT_STAGE = "$default"
DEFAULT_ROUTE = "$default"
ROUTE_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
DEFAULT_INTEGRATION_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class LambdaFunction:
    """An ``AWS::Lambda::Function`` as a local worker needs it."""

    logical_id: str
    name: str
    arn: str
    handler: str
    runtime: str
    code_dir: Path | None
    timeout_s: float
    memory_mb: int
    environment: Mapping[str, str]
    unresolved_environment: Mapping[str, str] = field(default_factory=dict)  # variable -> why
    code_problem: str | None = None
    construct_path: str | None = None  # from aws:cdk:path metadata, when the CLI synthesized it
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions: the function's concurrency limit

    @property
    def aliases(self) -> frozenset[str]:
        """Names a user may know this function by: logical id (with or without CDK's hash), name, construct path."""
        names = {self.logical_id, self.name, re.sub(r"[0-9A-F]{8}$", "", self.logical_id)}
        if self.construct_path:
            path = self.construct_path.removesuffix("/Resource")
            names |= {path, path.split("/", 1)[-1]}
        return frozenset(names)


@dataclass(frozen=True)
class Integration:
    logical_id: str
    integration_type: str
    function: str | None  # logical id of the Lambda function, for AWS_PROXY
    payload_format_version: str
    timeout_ms: int
    problem: str | None = None


@dataclass(frozen=True)
class Authorizer:
    logical_id: str
    authorizer_id: str
    name: str
    authorizer_type: str  # REQUEST | JWT
    identity_sources: tuple[str, ...]
    function: str | None = None  # REQUEST: logical id of the Lambda function
    payload_format_version: str = "2.0"
    enable_simple_responses: bool = False
    result_ttl_s: int = 0
    jwt_issuer: str | None = None
    jwt_audiences: tuple[str, ...] = ()


@dataclass(frozen=True)
class PathSegment:
    text: str
    parameter: str | None = None  # {name} or {name+}
    greedy: bool = False

    @classmethod
    def parse(cls, text: str) -> PathSegment:
        found = re.fullmatch(r"\{([^{}+]+)(\+?)\}", text)
        if not found:
            return cls(text)
        return cls(text, parameter=found.group(1), greedy=bool(found.group(2)))

    @property
    def rank(self) -> int:
        """Specificity within one position: a literal beats a parameter beats a greedy parameter."""
        return 2 if self.greedy else 1 if self.parameter else 0


@dataclass(frozen=True)
class Route:
    logical_id: str
    route_key: str
    authorization_type: str = "NONE"  # NONE | JWT | CUSTOM | AWS_IAM
    authorizer: str | None = None  # logical id
    scopes: tuple[str, ...] = ()
    integration: str | None = None  # logical id

    @property
    def is_default(self) -> bool:
        return self.route_key == DEFAULT_ROUTE

    @property
    def method(self) -> str:
        return "" if self.is_default else self.route_key.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return "" if self.is_default else self.route_key.split(" ", 1)[1]

    @property
    def segments(self) -> tuple[PathSegment, ...]:
        return tuple(PathSegment.parse(part) for part in self.path.split("/")[1:])


@dataclass(frozen=True)
class Stage:
    name: str
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass
class HttpApi:
    """One ``AWS::ApiGatewayV2::Api`` (protocol HTTP) with everything its routes use."""

    logical_id: str
    api_id: str
    name: str
    stack_name: str
    stages: list[Stage]
    routes: list[Route]
    integrations: dict[str, Integration]
    authorizers: dict[str, Authorizer]
    functions: dict[str, LambdaFunction]
    cors: Mapping[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def route_arn(self, stage: str, method: str, path: str) -> str:
        """``arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<VERB>/<path>`` for a request."""
        return f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{stage}/{method}/{path.lstrip('/')}"


# --- route selection ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]
