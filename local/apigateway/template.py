"""The HTTP API a synthesized stack declares, read from a CDK cloud assembly, and how a request selects a route.

Input is a cloud assembly directory (``cdk.out``) and a stack name: ``manifest.json`` (when present) names the
stack's template and asset manifest, else ``<Stack>.template.json`` and ``<Stack>.assets.json`` are used. From the
template come the ``AWS::ApiGatewayV2`` Api, Stage, Route, Integration and Authorizer resources and the
``AWS::Lambda::Function`` resources they call; a function's code directory is found through the asset manifest
(its ``Code.S3Key`` is ``<asset hash>.zip``).

Intrinsic functions are resolved by ``local/cloudformation/intrinsics.py`` and code directories found by
``local/cloudformation/assets.py``; a function's environment variable that cannot be resolved is left out,
recorded in ``LambdaFunction.unresolved_environment`` and reported in ``HttpApi.warnings``.

    api = load_http_api("cdk.out", "AuthStack")
    match = select_route(api.routes, "GET", "/orders/42")
    match.route.route_key, match.path_parameters   # ('GET /orders/{id}', {'id': '42'})
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local.apigateway.model import (
    DEFAULT_INTEGRATION_TIMEOUT_MS,
    DEFAULT_ROUTE,
    DEFAULT_STAGE,
    ROUTE_METHODS,
    Authorizer,
    HttpApi,
    Integration,
    LambdaFunction,
    Route,
    Stage,
)
from local.cloudformation.assets import function_code_dir, stack_files
from local.cloudformation.intrinsics import NO_VALUE, IntrinsicResolver, TemplateError, Unresolvable, api_id_for


class _TemplateReader:
    def __init__(self, assembly_dir: Path, stack_name: str, parameters: Mapping[str, str] | None,
                 api_endpoint: str | None = None) -> None:
        self.assembly_dir = assembly_dir
        self.stack_name = stack_name
        template_path, assets_path = stack_files(assembly_dir, stack_name)
        self.template = json.loads(template_path.read_text())
        self.assets: Mapping[str, Any] = {}
        if assets_path is not None and assets_path.is_file():
            self.assets = json.loads(assets_path.read_text()).get("files", {})
        self.resources: Mapping[str, Any] = self.template.get("Resources", {})
        self.resolver = IntrinsicResolver(self.template, stack_name, parameters, api_endpoint)
        self.warnings: list[str] = []

    def of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        return {
            logical_id: resource.get("Properties", {}) or {}
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }

    def references(self, value: Any, resource_type: str) -> list[str]:
        """Logical ids of resources of ``resource_type`` that ``value`` refers to (Ref or Fn::GetAtt), in order."""
        found: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, argument in node.items():
                    target = None
                    if key == "Ref" and isinstance(argument, str):
                        target = argument
                    elif key == "Fn::GetAtt":
                        target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                    if target is not None and self.resolver.resource_type(target) == resource_type:
                        found.append(target)
                    else:
                        walk(argument)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(value)
        return found

    def function_reference(self, value: Any) -> str | None:
        """The Lambda function an IntegrationUri or AuthorizerUri invokes."""
        return self._find_resource(value, "AWS::Lambda::Function",
                                   lambda text, logical_id: f":function:{self.resolver.function_name(logical_id)}" in text)

    def resource_by_id(self, value: Any, resource_type: str) -> str | None:
        """The resource a Ref (or a literal physical id) in ``value`` points to."""
        return self._find_resource(value, resource_type,
                                   lambda text, logical_id: text.endswith(self.resolver.physical_id(logical_id)))

    def _find_resource(self, value: Any, resource_type: str, names: Callable[[str, str], bool]) -> str | None:
        """A Ref/GetAtt in ``value``; else the resolved text matched against each resource of the type."""
        referenced = self.references(value, resource_type)
        if referenced:
            return referenced[0]
        try:
            text = self.resolver.resolve_string(value)
        except Unresolvable:
            return None
        return next((logical_id for logical_id in self.of_type(resource_type) if names(text, logical_id)), None)

    def belongs_to(self, properties: Mapping[str, Any], api_logical_id: str) -> bool:
        return self.resource_by_id(properties.get("ApiId"), "AWS::ApiGatewayV2::Api") == api_logical_id

    # -- resources

    def choose_api(self, api: str | None) -> str:
        apis = {
            logical_id: properties
            for logical_id, properties in self.of_type("AWS::ApiGatewayV2::Api").items()
            if properties.get("ProtocolType", "HTTP") == "HTTP"
        }
        if not apis:
            raise TemplateError(f"stack {self.stack_name!r} has no AWS::ApiGatewayV2::Api with ProtocolType HTTP")
        if api is None:
            if len(apis) > 1:
                raise TemplateError(f"stack {self.stack_name!r} has several HTTP APIs; choose one of {sorted(apis)}")
            return next(iter(apis))
        for logical_id, properties in apis.items():
            if api in (logical_id, properties.get("Name"), api_id_for(logical_id)):
                return logical_id
        raise TemplateError(f"no HTTP API {api!r} in stack {self.stack_name!r}; there are {sorted(apis)}")

    def function(self, logical_id: str) -> LambdaFunction:
        properties = self.resources[logical_id].get("Properties", {}) or {}
        resolver = self.resolver
        environment: dict[str, str] = {}
        unresolved: dict[str, str] = {}
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        for variable, value in variables.items():
            try:
                resolved = resolver.resolve(value)
                if resolved is NO_VALUE:
                    continue
                environment[variable] = resolver.resolve_string(resolved)
            except (Unresolvable, TypeError, ValueError, IndexError) as error:
                unresolved[variable] = str(error)
        code_dir, code_problem = function_code_dir(
            self.assembly_dir, self.assets, self.resolver, logical_id, self.resources[logical_id]
        )
        runtime = str(properties.get("Runtime", ""))
        if not runtime.startswith("python"):
            code_problem = code_problem or f"runtime {runtime or '(container image)'} cannot run locally (only python)"
        reserved = properties.get("ReservedConcurrentExecutions")
        return LambdaFunction(
            logical_id=logical_id,
            name=resolver.function_name(logical_id),
            arn=resolver.function_arn(logical_id),
            handler=resolver.resolve_string(properties.get("Handler", "index.handler")),
            runtime=runtime,
            code_dir=code_dir,
            timeout_s=float(resolver.resolve(properties.get("Timeout", 3))),
            memory_mb=int(resolver.resolve(properties.get("MemorySize", 128))),
            environment=environment,
            unresolved_environment=unresolved,
            code_problem=code_problem,
            construct_path=(self.resources[logical_id].get("Metadata") or {}).get("aws:cdk:path"),
            reserved_concurrency=int(resolver.resolve(reserved)) if reserved is not None else None,
        )

    def integration(self, logical_id: str, properties: Mapping[str, Any]) -> Integration:
        integration_type = str(properties.get("IntegrationType", ""))
        function = None
        problem = None
        if integration_type == "AWS_PROXY" and not properties.get("IntegrationSubtype"):
            function = self.function_reference(properties.get("IntegrationUri"))
            if function is None:
                problem = "its IntegrationUri names no Lambda function of this stack"
        else:
            problem = f"integration type {integration_type} is not emulated (only AWS_PROXY to Lambda)"
        if properties.get("RequestParameters") or properties.get("ResponseParameters"):
            self.warnings.append(f"integration {logical_id}: parameter mapping is ignored locally")
        timeout_ms = int(self.resolver.resolve(properties.get("TimeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS)))
        return Integration(
            logical_id=logical_id,
            integration_type=integration_type,
            function=function,
            payload_format_version=str(properties.get("PayloadFormatVersion", "1.0")),
            timeout_ms=timeout_ms,
            problem=problem,
        )

    def authorizer(self, logical_id: str, properties: Mapping[str, Any]) -> Authorizer:
        resolver = self.resolver
        authorizer_type = str(properties.get("AuthorizerType", ""))
        identity = resolver.resolve(properties.get("IdentitySource", []))
        if isinstance(identity, str):
            identity = [part.strip() for part in identity.split(",") if part.strip()]
        common: dict[str, Any] = dict(
            logical_id=logical_id,
            authorizer_id=resolver.physical_id(logical_id),
            name=resolver.resolve_string(properties.get("Name", logical_id)),
            authorizer_type=authorizer_type,
            identity_sources=tuple(identity),
        )
        if authorizer_type == "JWT":
            jwt = resolver.resolve(properties.get("JwtConfiguration") or {})
            audiences = jwt.get("Audience") or []
            return Authorizer(
                **common,
                jwt_issuer=jwt.get("Issuer"),
                jwt_audiences=tuple([audiences] if isinstance(audiences, str) else audiences),
            )
        if authorizer_type != "REQUEST":
            raise TemplateError(f"authorizer {logical_id}: type {authorizer_type!r} is not an HTTP API authorizer")
        function = self.function_reference(properties.get("AuthorizerUri"))
        if function is None:
            raise TemplateError(f"authorizer {logical_id}: its AuthorizerUri names no Lambda function of this stack")
        return Authorizer(
            **common,
            function=function,
            payload_format_version=str(properties.get("AuthorizerPayloadFormatVersion", "2.0")),
            enable_simple_responses=bool(resolver.resolve(properties.get("EnableSimpleResponses", False))),
            result_ttl_s=int(resolver.resolve(properties.get("AuthorizerResultTtlInSeconds", 0))),
        )

    def route(self, logical_id: str, properties: Mapping[str, Any]) -> Route:
        resolver = self.resolver
        route_key = resolver.resolve_string(properties.get("RouteKey", ""))
        if route_key != DEFAULT_ROUTE:
            method, _, path = route_key.partition(" ")
            if method not in ROUTE_METHODS or not path.startswith("/"):
                raise TemplateError(f"route {logical_id}: {route_key!r} is not a valid route key")
        authorization_type = str(resolver.resolve(properties.get("AuthorizationType", "NONE")))
        authorizer = None
        if properties.get("AuthorizerId") is not None:
            authorizer = self.resource_by_id(properties["AuthorizerId"], "AWS::ApiGatewayV2::Authorizer")
            if authorizer is None:
                raise TemplateError(f"route {route_key!r}: its AuthorizerId is not an authorizer of this stack")
        integration = None
        if properties.get("Target") is not None:
            integration = self.resource_by_id(properties["Target"], "AWS::ApiGatewayV2::Integration")
            if integration is None:
                raise TemplateError(f"route {route_key!r}: its Target is not an integration of this stack")
        return Route(
            logical_id=logical_id,
            route_key=route_key,
            authorization_type=authorization_type,
            authorizer=authorizer,
            scopes=tuple(resolver.resolve(properties.get("AuthorizationScopes") or [])),
            integration=integration,
        )

    def stages(self, api_logical_id: str) -> list[Stage]:
        stages = []
        for logical_id, properties in self.of_type("AWS::ApiGatewayV2::Stage").items():
            if self.belongs_to(properties, api_logical_id):
                variables = self.resolver.resolve(properties.get("StageVariables") or {})
                stages.append(Stage(self.resolver.physical_id(logical_id), {k: str(v) for k, v in variables.items()}))
        if not stages:
            self.warnings.append(f"API {api_logical_id} has no stage; serving it as the $default stage")
            stages.append(Stage(DEFAULT_STAGE))
        return stages


def _check_routes(routes: list[Route], authorizers: Mapping[str, Authorizer], warnings: list[str]) -> None:
    """Each route key once, and an authorizer for each route that names one's type."""
    seen: dict[str, str] = {}
    for route in routes:
        if route.route_key in seen:
            raise TemplateError(f"route key {route.route_key!r} is declared twice ({seen[route.route_key]}, {route.logical_id})")
        seen[route.route_key] = route.logical_id
        if route.authorization_type in ("JWT", "CUSTOM") and route.authorizer not in authorizers:
            raise TemplateError(f"route {route.route_key!r}: authorization {route.authorization_type} without an authorizer")
        if route.authorization_type == "AWS_IAM":
            warnings.append(f"route {route.route_key!r}: AWS_IAM authorization is not emulated; it answers 403")


def load_http_api(
    assembly_dir: str | os.PathLike[str],
    stack_name: str,
    *,
    api: str | None = None,
    parameters: Mapping[str, str] | None = None,
    api_endpoint: str | None = None,
) -> HttpApi:
    """Read one HTTP API (``api``: logical id, name or id; needed only when the stack has several).
    ``api_endpoint``: the URL it is served at here, which ``Fn::GetAtt <api>.ApiEndpoint`` then resolves to."""
    reader = _TemplateReader(Path(assembly_dir), stack_name, parameters, api_endpoint)
    api_logical_id = reader.choose_api(api)
    api_properties = reader.resources[api_logical_id].get("Properties", {}) or {}

    integrations = {
        logical_id: reader.integration(logical_id, properties)
        for logical_id, properties in reader.of_type("AWS::ApiGatewayV2::Integration").items()
        if reader.belongs_to(properties, api_logical_id)
    }
    authorizers = {
        logical_id: reader.authorizer(logical_id, properties)
        for logical_id, properties in reader.of_type("AWS::ApiGatewayV2::Authorizer").items()
        if reader.belongs_to(properties, api_logical_id)
    }
    routes = [
        reader.route(logical_id, properties)
        for logical_id, properties in reader.of_type("AWS::ApiGatewayV2::Route").items()
        if reader.belongs_to(properties, api_logical_id)
    ]
    _check_routes(routes, authorizers, reader.warnings)

    used_functions = {i.function for i in integrations.values() if i.function}
    used_functions |= {a.function for a in authorizers.values() if a.function}
    functions = {logical_id: reader.function(logical_id) for logical_id in sorted(used_functions)}
    for function in functions.values():
        # Unresolved environment variables are reported by whoever applies overrides (LocalHttpApi).
        if function.code_problem:
            reader.warnings.append(f"function {function.logical_id}: {function.code_problem}")
    for integration in integrations.values():
        if integration.problem:
            reader.warnings.append(f"integration {integration.logical_id}: {integration.problem}")

    cors = reader.resolver.resolve(api_properties.get("CorsConfiguration")) if api_properties.get("CorsConfiguration") else None
    return HttpApi(
        logical_id=api_logical_id,
        api_id=api_id_for(api_logical_id),
        name=str(reader.resolver.resolve(api_properties.get("Name", api_logical_id))),
        stack_name=stack_name,
        stages=reader.stages(api_logical_id),
        routes=routes,
        integrations=integrations,
        authorizers=authorizers,
        functions=functions,
        cors=cors,
        warnings=reader.warnings,
    )
