"""The HTTP API a synthesized stack declares, read from a CDK cloud assembly, and how a request selects a route.

Input is a cloud assembly directory (``cdk.out``) and a stack name: ``manifest.json`` (when present) names the
stack's template and asset manifest, else ``<Stack>.template.json`` and ``<Stack>.assets.json`` are used. From the
template come the ``AWS::ApiGatewayV2`` Api, Stage, Route, Integration and Authorizer resources and the
``AWS::Lambda::Function`` resources they call; a function's code directory is found through the asset manifest
(its ``Code.S3Key`` is ``<asset hash>.zip``).

Intrinsic functions are resolved with what a local run can know (:class:`IntrinsicResolver`): account
``123456789012``, region ``us-east-1``, parameter defaults, physical ids derived from logical ids. What cannot be
known (``Fn::ImportValue``, an SSM-typed parameter, an attribute of a resource that is not emulated) raises
:class:`Unresolvable`; a function's environment variable that cannot be resolved is left out, recorded in
``LambdaFunction.unresolved_environment`` and reported in ``HttpApi.warnings``.

    api = load_http_api("cdk.out", "AuthStack")
    match = select_route(api.routes, "GET", "/orders/42")
    match.route.route_key, match.path_parameters   # ('GET /orders/{id}', {'id': '42'})
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import unquote

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"

DEFAULT_STAGE = "$default"
DEFAULT_ROUTE = "$default"
ROUTE_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
DEFAULT_INTEGRATION_TIMEOUT_MS = 30_000


class TemplateError(Exception):
    """The assembly or template cannot be served: missing files, no HTTP API, a route that points nowhere."""


class Unresolvable(Exception):
    """An intrinsic function whose value a local run cannot know."""


# --- intrinsic functions -----------------------------------------------------------------------------------------

NO_VALUE = object()  # Ref AWS::NoValue: the property or list item disappears


def local_id(logical_id: str, length: int) -> str:
    """A stable stand-in for an id API Gateway would generate (lower-case letters and digits)."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:length]


def api_id_for(logical_id: str) -> str:
    """The API's id: its logical id, lower-cased letters and digits, at most 10 characters (like real ids)."""
    return re.sub(r"[^a-z0-9]", "", logical_id.lower())[:10] or local_id(logical_id, 10)


class IntrinsicResolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub and their companions within one template."""

    def __init__(self, template: Mapping[str, Any], stack_name: str, parameters: Mapping[str, str] | None = None) -> None:
        self.stack_name = stack_name
        self._resources: Mapping[str, Any] = template.get("Resources", {})
        self._parameters: Mapping[str, Any] = template.get("Parameters", {})
        self._mappings: Mapping[str, Any] = template.get("Mappings", {})
        self._conditions: Mapping[str, Any] = template.get("Conditions", {})
        self._overrides = dict(parameters or {})
        self._in_progress: set[str] = set()

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key == "Ref":
                    return self._ref(argument)
                if key.startswith("Fn::") or key == "Condition":
                    return self._function(key, argument)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        return value

    def resolve_string(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (int, float)):
            return str(resolved)
        if not isinstance(resolved, str):
            raise Unresolvable(f"expected a string, got {json.dumps(resolved)}")
        return resolved

    # -- Ref and physical ids

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.stack_name}/"
            "00000000-0000-0000-0000-000000000000",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self._parameters:
            return self._parameter(name)
        if name in self._resources:
            return self.physical_id(name)
        raise Unresolvable(f"Ref {name}: no such parameter or resource")

    def _parameter(self, name: str) -> Any:
        declaration = self._parameters[name]
        parameter_type = str(declaration.get("Type", "String"))
        if name in self._overrides:
            value = self._overrides[name]
        elif parameter_type.startswith("AWS::SSM::Parameter::Value"):
            raise Unresolvable(f"Ref {name}: an SSM-backed parameter (pass its value as a parameter override)")
        elif "Default" in declaration:
            value = declaration["Default"]
        else:
            raise Unresolvable(f"Ref {name}: parameter without a default (pass it as a parameter override)")
        if parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<"):
            return [item.strip() for item in str(value).split(",")]
        return value

    def resource_type(self, logical_id: str) -> str:
        return str(self._resources.get(logical_id, {}).get("Type", ""))

    def _properties(self, logical_id: str) -> Mapping[str, Any]:
        return self._resources.get(logical_id, {}).get("Properties", {}) or {}

    def physical_id(self, logical_id: str) -> str:
        """What Ref returns for a resource, as far as a local run can tell."""
        resource_type = self.resource_type(logical_id)
        properties = self._properties(logical_id)
        if resource_type == "AWS::Lambda::Function":
            return self.function_name(logical_id)
        if resource_type == "AWS::ApiGatewayV2::Api":
            return api_id_for(logical_id)
        if resource_type in ("AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Route"):
            return local_id(logical_id, 7)
        if resource_type == "AWS::ApiGatewayV2::Stage":
            return self._named(logical_id, properties.get("StageName"), logical_id)
        if resource_type == "AWS::SSM::Parameter":
            return self._named(logical_id, properties.get("Name"), f"CFN-{logical_id}")
        if resource_type == "AWS::IAM::Role":
            return self._named(logical_id, properties.get("RoleName"), f"{self.stack_name}-{logical_id}"[:64])
        return logical_id

    def function_name(self, logical_id: str) -> str:
        default = f"{self.stack_name}-{logical_id}"[:64]
        return self._named(logical_id, self._properties(logical_id).get("FunctionName"), default)

    def _named(self, logical_id: str, explicit: Any, default: str) -> str:
        if explicit is None:
            return default
        if logical_id in self._in_progress:
            raise Unresolvable(f"{logical_id}: its name refers to itself")
        self._in_progress.add(logical_id)
        try:
            return self.resolve_string(explicit)
        finally:
            self._in_progress.discard(logical_id)

    def function_arn(self, logical_id: str) -> str:
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name(logical_id)}"

    # -- Fn::*

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        resource_type = self.resource_type(logical_id)
        if not resource_type:
            raise Unresolvable(f"Fn::GetAtt {logical_id}.{attribute}: no such resource")
        physical = self.physical_id(logical_id)
        known: dict[tuple[str, str], Any] = {
            ("AWS::Lambda::Function", "Arn"): lambda: self.function_arn(logical_id),
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{physical}",
            ("AWS::ApiGatewayV2::Api", "ApiId"): lambda: physical,
            ("AWS::ApiGatewayV2::Api", "ApiEndpoint"): lambda: f"https://{physical}.execute-api.{REGION}.{URL_SUFFIX}",
            ("AWS::ApiGatewayV2::Authorizer", "AuthorizerId"): lambda: physical,
            ("AWS::ApiGatewayV2::Integration", "IntegrationId"): lambda: physical,
            ("AWS::ApiGatewayV2::Route", "RouteId"): lambda: physical,
            ("AWS::SSM::Parameter", "Value"): lambda: self.resolve(self._properties(logical_id).get("Value")),
            ("AWS::SSM::Parameter", "Type"): lambda: self._properties(logical_id).get("Type", "String"),
        }
        getter = known.get((resource_type, attribute))
        if getter is None:
            raise Unresolvable(f"Fn::GetAtt {logical_id}.{attribute} ({resource_type}) is not known locally")
        return getter()

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self._get_att(logical_id, self.resolve_string(attribute))
        if name == "Fn::Join":
            delimiter, items = argument
            resolved = self.resolve(items)
            if not isinstance(resolved, list):
                raise Unresolvable("Fn::Join: the second argument is not a list")
            return self.resolve_string(delimiter).join(self.resolve_string(item) for item in resolved)
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Select":
            index, items = argument
            resolved = self.resolve(items)
            return resolved[int(self.resolve(index))]
        if name == "Fn::Split":
            delimiter, text = argument
            return self.resolve_string(text).split(self.resolve_string(delimiter))
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self._condition(condition) else when_false)
        if name == "Fn::FindInMap":
            mapping, first, second = (self.resolve_string(part) for part in argument[:3])
            try:
                return self.resolve(self._mappings[mapping][first][second])
            except KeyError:
                raise Unresolvable(f"Fn::FindInMap {mapping}.{first}.{second}: not in the template's mappings")
        if name == "Fn::Base64":
            return base64.b64encode(self.resolve_string(argument).encode()).decode()
        if name == "Fn::GetAZs":
            return [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        if name == "Fn::Length":
            return len(self.resolve(argument))
        if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._evaluate_condition({name: argument})
        if name == "Fn::ImportValue":
            raise Unresolvable("Fn::ImportValue: another stack's export is not known locally")
        raise Unresolvable(f"{name} is not supported locally")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], argument[1] if len(argument) > 1 else {}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return self.resolve_string(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return self.resolve_string(self._get_att(logical_id, attribute))
            return self.resolve_string(self._ref(expression))

        return re.sub(r"\$\{([^}]+)\}", replace, self.resolve_string(text))

    def _condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise Unresolvable(f"Condition {name}: not in the template")
        return self._evaluate_condition(self._conditions[name])

    def _evaluate_condition(self, expression: Any) -> bool:
        if isinstance(expression, bool):
            return expression
        if not isinstance(expression, dict) or len(expression) != 1:
            raise Unresolvable(f"not a condition: {json.dumps(expression)}")
        ((name, argument),) = expression.items()
        if name == "Condition":
            return self._condition(argument)
        if name == "Fn::Equals":
            left, right = (self.resolve(part) for part in argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self._evaluate_condition(argument[0])
        if name == "Fn::And":
            return all(self._evaluate_condition(item) for item in argument)
        if name == "Fn::Or":
            return any(self._evaluate_condition(item) for item in argument)
        raise Unresolvable(f"{name} is not a condition function")


# --- the API's parts ---------------------------------------------------------------------------------------------


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
    def parse(cls, text: str) -> "PathSegment":
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


def _match_path(template: Sequence[PathSegment], request: Sequence[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, segment in enumerate(template):
        if segment.greedy:
            rest = "/".join(request[index:])
            if not rest:
                return None
            parameters[segment.parameter or "proxy"] = rest
            return parameters
        if index >= len(request):
            return None
        part = request[index]
        if segment.parameter:
            if not part:
                return None
            parameters[segment.parameter] = part
        elif part != segment.text:
            return None
    return parameters if len(request) == len(template) else None


def select_route(routes: Iterable[Route], method: str, path: str) -> RouteMatch | None:
    """The route API Gateway picks for ``method path`` (the path without a stage prefix, as the client sent it).

    The path is percent-decoded once, then matched, as API Gateway does: ``/ord%65rs`` is ``/orders``, and a
    ``%2F`` is a ``/`` that separates segments (``/a%2Fb`` is two segments, not one parameter); path parameters are
    the decoded text (decoded once: ``%2532`` is ``%32``). The most specific path wins, compared segment by segment
    from the left (a literal beats ``{param}`` beats ``{proxy+}``); between equally specific paths, the route for
    the method beats ``ANY``; when no route matches, ``$default`` (if any). ``None`` means 404.
    """
    decoded = unquote(path)
    request_segments = decoded.split("/")[1:] if decoded.startswith("/") else decoded.split("/")
    best: RouteMatch | None = None
    best_rank: tuple[Any, ...] | None = None
    default: Route | None = None
    for route in routes:
        if route.is_default:
            default = route
            continue
        if route.method not in (method, "ANY"):
            continue
        segments = route.segments
        parameters = _match_path(segments, request_segments)
        if parameters is None:
            continue
        rank = (tuple(segment.rank for segment in segments), route.method == "ANY")
        if best_rank is None or rank < best_rank:
            best, best_rank = RouteMatch(route, parameters), rank
    if best is not None:
        return best
    return RouteMatch(default, {}) if default is not None else None


# --- reading the assembly ----------------------------------------------------------------------------------------

_extracted_dirs: list[str] = []


@atexit.register
def _remove_extracted_dirs() -> None:
    for directory in _extracted_dirs:
        shutil.rmtree(directory, ignore_errors=True)


def _temporary_code_dir(prefix: str) -> Path:
    directory = tempfile.mkdtemp(prefix=f"local-lambda-{prefix}-")
    _extracted_dirs.append(directory)
    return Path(directory)


def stack_files(assembly_dir: Path, stack_name: str) -> tuple[Path, Path | None]:
    """The template and asset manifest of ``stack_name`` in the assembly."""
    manifest_path = assembly_dir / "manifest.json"
    known: list[str] = []
    if manifest_path.is_file():
        artifacts = json.loads(manifest_path.read_text()).get("artifacts", {})
        for artifact_id, artifact in artifacts.items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            properties = artifact.get("properties", {})
            names = {artifact_id, properties.get("stackName"), artifact.get("displayName")}
            known.append(artifact_id)
            if stack_name not in names:
                continue
            template = assembly_dir / properties.get("templateFile", f"{artifact_id}.template.json")
            assets = None
            for dependency in artifact.get("dependencies", []):
                dependency_artifact = artifacts.get(dependency, {})
                if dependency_artifact.get("type") == "cdk:asset-manifest":
                    assets = assembly_dir / dependency_artifact.get("properties", {}).get("file", "")
            return template, assets
    template = assembly_dir / f"{stack_name}.template.json"
    if not template.is_file():
        available = ", ".join(sorted(known)) or ", ".join(
            sorted(p.name.removesuffix(".template.json") for p in assembly_dir.glob("*.template.json"))
        )
        raise TemplateError(f"stack {stack_name!r} not found in {assembly_dir} (stacks there: {available or 'none'})")
    assets = assembly_dir / f"{stack_name}.assets.json"
    return template, assets if assets.is_file() else None


class _TemplateReader:
    def __init__(self, assembly_dir: Path, stack_name: str, parameters: Mapping[str, str] | None) -> None:
        self.assembly_dir = assembly_dir
        self.stack_name = stack_name
        template_path, assets_path = stack_files(assembly_dir, stack_name)
        self.template = json.loads(template_path.read_text())
        self.assets: Mapping[str, Any] = {}
        if assets_path is not None and assets_path.is_file():
            self.assets = json.loads(assets_path.read_text()).get("files", {})
        self.resources: Mapping[str, Any] = self.template.get("Resources", {})
        self.resolver = IntrinsicResolver(self.template, stack_name, parameters)
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
        code_dir, code_problem = self._code_dir(logical_id, properties)
        runtime = str(properties.get("Runtime", ""))
        if not runtime.startswith("python"):
            code_problem = code_problem or f"runtime {runtime or '(container image)'} cannot run locally (only python)"
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
        )

    def _code_dir(self, logical_id: str, properties: Mapping[str, Any]) -> tuple[Path | None, str | None]:
        code = properties.get("Code") or {}
        if "ZipFile" in code:
            directory = _temporary_code_dir(logical_id)
            (directory / "index.py").write_text(self.resolver.resolve_string(code["ZipFile"]))
            return directory, None
        if "ImageUri" in code:
            return None, "container image functions cannot run locally"
        source: Path | None = None
        try:
            key = self.resolver.resolve_string(code.get("S3Key", ""))
        except Unresolvable as error:
            key, problem = "", str(error)
        else:
            problem = f"Code.S3Key {key!r} is not an asset of this assembly"
        asset_hash = key.rsplit("/", 1)[-1].split(".", 1)[0]
        entry = self.assets.get(asset_hash)
        if entry is not None:
            source = self.assembly_dir / entry.get("source", {}).get("path", "")
        else:
            metadata_path = (self.resources[logical_id].get("Metadata") or {}).get("aws:asset:path")
            if metadata_path:
                source = self.assembly_dir / metadata_path
        if source is None:
            return None, problem
        if source.is_dir():
            return source.resolve(), None
        if source.is_file() and zipfile.is_zipfile(source):
            directory = _temporary_code_dir(logical_id)
            with zipfile.ZipFile(source) as archive:
                archive.extractall(directory)
            return directory, None
        return None, f"asset {source} does not exist"

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
        common = dict(
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


def load_http_api(
    assembly_dir: str | Path,
    stack_name: str,
    *,
    api: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> HttpApi:
    """Read one HTTP API (``api``: logical id, name or id; needed only when the stack has several)."""
    reader = _TemplateReader(Path(assembly_dir), stack_name, parameters)
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
    seen: dict[str, str] = {}
    for route in routes:
        if route.route_key in seen:
            raise TemplateError(f"route key {route.route_key!r} is declared twice ({seen[route.route_key]}, {route.logical_id})")
        seen[route.route_key] = route.logical_id
        if route.authorization_type in ("JWT", "CUSTOM") and route.authorizer not in authorizers:
            raise TemplateError(f"route {route.route_key!r}: authorization {route.authorization_type} without an authorizer")
        if route.authorization_type == "AWS_IAM":
            reader.warnings.append(f"route {route.route_key!r}: AWS_IAM authorization is not emulated; it answers 403")

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
