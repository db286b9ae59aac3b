"""``JwtAuthorization``: JWT authorization for an existing ``HttpApi`` and its routes, in either mode.

Most users already have a CDK app with an ``HttpApi``. Give this construct the API and the validated settings
(``AuthorizationSettings.create(...)``, the same shapes as ``cdk.json``), then either let it add the configured
routes, or attach it to routes you created yourself::

    settings = AuthorizationSettings.create(
        mode="lambda",
        issuers=[{"provider": "descope", "project_id": "P2abc..."}],
        routes=[{"method": "GET", "path": "/orders", "scopes": ["orders:read"]},
                {"method": "GET", "path": "/health", "public": True}],
    )
    auth = JwtAuthorization(self, "Auth", http_api=api, settings=settings)
    auth.add_routes(HttpLambdaIntegration("Backend", backend))     # every configured route, or:
    auth.protect(existing_route)                                   # a route you already added, or:
    api.add_routes(path="/orders", methods=[HttpMethod.GET], integration=..., **auth.route_options("GET /orders"))

``lambda`` mode deploys the authorizer Lambda as a REQUEST authorizer with payload format 2.0 and IAM responses
(CDK's ``HttpLambdaAuthorizer`` would give payload 1.0 with IAM responses), its ``AUTH_ISSUERS``/``AUTH_ROUTES``
built from the same route list. With ``settings.config_parameter`` they go into an SSM String parameter instead
(``parameter_name``, by default ``/<stack name>/<construct path>/authorizer-config``, created from the settings; or
an existing one, referenced), which the Lambda re-reads every ``max_age_seconds`` and may only ``ssm:GetParameter``. ``tracing=True`` turns on active X-Ray tracing. With ``settings.token_cookie`` the authorizer has no identity
source (caching is off), so API Gateway invokes it for requests that carry the token in that cookie instead of the
Authorization header. With a result cache, routes with a tenant rule are bound to a second authorizer of the same
function whose results are never cached (``tenant_authorizer``; ``JwtAuthorization._tenant_authorizer`` says why).
``jwt`` mode uses API Gateway's native ``HttpJwtAuthorizer`` with the route scopes as authorization scopes, and
deploys no Lambda. Synthesis fails if a configured, non-public route is not on the API with this authorizer (a
tenant route: with ``tenant_authorizer``). A public route, however it is added (``add_routes``, ``protect`` or
``route_options``), carries the acknowledgement of cdk-nag's APIG4 with its reason. One construct serves one API in its own stack
(``api_binding``); the function's options are checked in ``authorizer_options``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import jsii
from aws_cdk import Acknowledgment, Annotations, Duration, Stack, Token, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct, IValidation

from .api_binding import OneApiAuthorizer, bare_route, check_same_stack
from .arguments import describe
from .authorizer_environment import (
    AUTHORIZATION_HEADER,
    AUTHORIZER_SERVICE,
    REQUEST_ID_IDENTITY,
    identity_sources,
    lambda_environment,
)
from .authorizer_options import (
    FunctionOptions,
    check_environment_names,
    checked_authorizer_name,
    checked_identity_source,
    function_options,
    parameter_name_for,
)
from .bundling import ARCHITECTURE, checked_platform
from .config import AuthorizationSettings, ConfigError, RouteSpec
from .lambda_sources import AUTHORIZER_DIR, PACKAGE
from .mcp_metadata import ProtectedResourceMetadata
from .mcp_settings import mcp_resource, metadata_documents
from .python_function import PackageFunction

#: Appended to the first authorizer's name for the tenant routes' uncached one.
TENANT_AUTHORIZER_SUFFIX = "-tenant-routes"
MAX_AUTHORIZER_NAME = 128  # API Gateway's limit


class RouteOptions(TypedDict):
    """``route_options()``'s keyword arguments for ``HttpApi.add_routes`` / ``HttpRoute``."""

    authorizer: apigwv2.IHttpRouteAuthorizer
    authorization_scopes: NotRequired[list[str]]


@jsii.implements(apigwv2.IHttpRouteAuthorizer)
class _AuthorizerReference:
    """Binds routes to an authorizer that already exists (CDK's Lambda authorizer class cannot do 2.0 + IAM)."""

    def __init__(self, authorization_type: str, authorizer_id: str) -> None:
        self.authorization_type = authorization_type
        self.authorizer_id = authorizer_id

    def bind(self, *, route: apigwv2.IHttpRoute, scope: Construct) -> apigwv2.HttpRouteAuthorizerConfig:
        return apigwv2.HttpRouteAuthorizerConfig(authorization_type=self.authorization_type,
                                                 authorizer_id=self.authorizer_id)


@jsii.implements(apigwv2.IHttpRouteAuthorizer)
class _PublicRoute:
    """No authorization, for a route configured ``"public": true``; binding it acknowledges cdk-nag's APIG4 on the
    route, so a public route passes the checks however it was added."""

    def __init__(self, owner: JwtAuthorization, spec: RouteSpec) -> None:
        self.owner = owner
        self.spec = spec

    def bind(self, *, route: apigwv2.IHttpRoute, scope: Construct) -> apigwv2.HttpRouteAuthorizerConfig:
        self.owner.acknowledge_public_route(self.spec, route)
        return apigwv2.HttpRouteAuthorizerConfig(authorization_type="NONE")


class JwtAuthorization(Construct):
    """Attach JWT authorization (``settings.mode``: ``lambda`` or ``jwt``) to ``http_api`` and its routes.

    Attributes: ``mode``; ``authorizer`` (an ``IHttpRouteAuthorizer`` for routes of ``http_api``; also
    ``route_authorizer``); ``function`` (the ``aws_lambda.Function``), ``http_authorizer`` and ``environment``
    (``lambda`` mode only, else None); ``tenant_authorizer`` and ``tenant_http_authorizer`` (the uncached
    authorizer that routes with a tenant rule use, when routes have one and results are cached, else None);
    ``config_parameter`` (the SSM parameter, when ``settings.config_parameter`` is set, else None).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        http_api: apigwv2.IHttpApi,
        settings: AuthorizationSettings,
        log_retention: logs.RetentionDays | None = None,
        log_group: logs.ILogGroup | None = None,
        environment: Mapping[str, str] | None = None,
        tracing: bool = False,
        memory_size: int = 512,
        timeout: Duration | None = None,
        reserved_concurrent_executions: int | None = None,
        authorizer_name: str | None = None,
        identity_source: Sequence[str] | None = None,
        parameter_name: str | None = None,
        architecture: lambda_.Architecture = ARCHITECTURE,
        runtime: lambda_.Runtime | None = None,
        bytecode: bool = False,
    ) -> None:
        """``http_api``: an ``HttpApi`` or an imported ``IHttpApi`` of this construct's stack.

        The authorizer function (``lambda`` mode): ``memory_size`` (MB, default 512), ``timeout`` (1–10 s, default
        10), ``reserved_concurrent_executions``, ``log_group`` (your own) or ``log_retention`` (of the one created,
        default one month), ``tracing`` (active X-Ray), ``environment`` (extra ``AUTH_*`` variables such as
        ``AUTH_LEEWAY_SECONDS``, never those the settings generate, ``GENERATED_VARIABLES``).
        ``architecture`` (``Architecture.ARM_64``, the default, or ``X86_64``) and ``runtime`` (a Python runtime
        the lock covers, ``SUPPORTED_RUNTIMES``; the newest by default): the function's platform, for which the
        bundle's binary wheels are installed. ``bytecode``: the bundle's modules compiled at synthesis by the
        runtime's own Python version (the synthesizing one, or ``python3.X`` on ``PATH``; else Docker bundling
        compiles them), so cold starts do not compile them (``infra.bytecode``).
        ``authorizer_name``: the API Gateway authorizer's name (default: this construct's ID); ``identity_source``:
        instead of the default (the Authorization header, plus the route key where caching needs it).
        ``parameter_name``: the SSM parameter created with ``settings.config_parameter`` (default
        ``/<stack>/<construct path>/authorizer-config``).
        Every invalid argument raises ``ConfigError`` naming it, before anything is built.
        """
        if not isinstance(settings, AuthorizationSettings):
            raise ConfigError("settings", "must be the AuthorizationSettings that AuthorizationSettings.create(...) "
                                          f"returns, got {describe(settings)}")
        if not hasattr(http_api, "api_id") or not hasattr(http_api, "node"):
            raise ConfigError("http_api", "must be an HttpApi or an imported IHttpApi "
                                          f"(HttpApi.from_http_api_attributes), got {describe(http_api)}")
        if not isinstance(tracing, bool):
            raise ConfigError("tracing", f"must be True or False, got {describe(tracing)}")
        if not isinstance(bytecode, bool):
            raise ConfigError("bytecode", f"must be True or False, got {describe(bytecode)}")
        self.bytecode = bytecode
        self.runtime, self.architecture = checked_platform(runtime, architecture)
        super().__init__(scope, construct_id)
        check_same_stack(self, http_api)
        options = function_options(memory_size=memory_size, timeout=timeout,
                                   reserved_concurrent_executions=reserved_concurrent_executions,
                                   log_group=log_group, log_retention=log_retention)
        check_environment_names(environment)
        self.identity_source = checked_identity_source(identity_source, identity_sources(settings), settings.mode,
                                                       settings.token_cookie)
        # API Gateway's name for the authorizer: the construct ID unless given, so two constructs on one API differ
        self.authorizer_name = checked_authorizer_name(authorizer_name) or construct_id
        self.parameter_name = parameter_name
        self.http_api = http_api
        self.settings = settings
        self.mode = settings.mode
        self.function: lambda_.Function | None = None
        self.function_resources: PackageFunction | None = None  # the function with its role and log group
        self.http_authorizer: apigwv2.HttpAuthorizer | None = None
        self.tenant_http_authorizer: apigwv2.HttpAuthorizer | None = None
        self.tenant_authorizer: apigwv2.IHttpRouteAuthorizer | None = None
        self.environment: dict[str, str] | None = None
        self.config_parameter: ssm.IStringParameter | None = None
        self.routes: dict[str, list[apigwv2.HttpRoute]] = {}
        #: Each MCP endpoint's canonical URI: as configured, else the API's URL and the route's path.
        self.mcp_resources: dict[str, str] = {spec.route_key: mcp_resource(spec, http_api)
                                               for spec in settings.mcp_routes}
        bound = self._lambda_authorizer(options, environment, tracing) if settings.mode == "lambda" \
            else self._jwt_authorizer()
        self.authorizer: apigwv2.IHttpRouteAuthorizer = OneApiAuthorizer(bound, http_api, self.node.path)
        self.route_authorizer = self.authorizer
        if self.mode == "lambda" and settings.per_request_routes and settings.cache_ttl_seconds > 0:
            self.tenant_authorizer = OneApiAuthorizer(self._tenant_authorizer(), http_api, self.node.path)
        self._mcp_jwt_authorizers: dict[str, apigwv2.IHttpRouteAuthorizer] = {}
        self.resource_metadata: ProtectedResourceMetadata | None = None
        if settings.mcp_routes:
            self.resource_metadata = ProtectedResourceMetadata(
                self, "ResourceMetadata", http_api=http_api, documents=metadata_documents(settings, self.mcp_resources),
                log_retention=options.log_retention, log_group=options.log_group, runtime=self.runtime,
                architecture=self.architecture)
        for note in settings.notes:
            Annotations.of(self).add_warning_v2("jwt-authorization:configuration", note)
        self.node.add_validation(_EveryProtectedRouteAttached(self))

    # --- the two modes ------------------------------------------------------------------------------------
    def _lambda_authorizer(self, options: FunctionOptions, environment: Mapping[str, str] | None,
                           tracing: bool) -> apigwv2.IHttpRouteAuthorizer:
        settings = self.settings
        self.config_parameter = self._config_parameter()
        self.environment = lambda_environment(
            settings, environment,
            parameter_name=self.config_parameter.parameter_name if self.config_parameter is not None else None,
            resources=self.mcp_resources,
        )
        self.function_resources = PackageFunction(
            self,
            "Authorizer",
            package=PACKAGE,
            package_dir=AUTHORIZER_DIR,  # the checkout's authorizer/, or the installed package
            handler="authorizer.handler.handler",
            service_name=AUTHORIZER_SERVICE,
            description="JWT Lambda authorizer for the HTTP API",
            environment=self.environment,
            log_retention=options.log_retention,
            log_group=options.log_group,
            memory_size=options.memory_size,
            timeout=options.timeout,
            reserved_concurrent_executions=options.reserved_concurrent_executions,
            tracing=tracing,
            runtime=self.runtime,
            architecture=self.architecture,
            bytecode=self.bytecode,
        )
        if self.config_parameter is not None:
            self.function_resources.allow_get_parameter(self.config_parameter)
        self.function = self.function_resources.function
        self.http_authorizer = self._function_authorizer("LambdaAuthorizer", "InvokedByApiGateway",
                                                         name=self.authorizer_name,
                                                         cache_ttl_seconds=settings.cache_ttl_seconds)
        return _AuthorizerReference("CUSTOM", self.http_authorizer.authorizer_id)

    def _tenant_authorizer(self) -> apigwv2.IHttpRouteAuthorizer:
        """A second authorizer of the same function, for the routes with a tenant rule: results never cached.

        An answer on a tenant route names the request's tenant in its context (``authorized_tenant`` and that
        tenant's roles and permissions, for the backend), and a token may hold more tenants than one policy
        carries (``MAX_POLICY_TENANTS``): a cached answer reused for another tenant of the same token would hand
        the backend the wrong tenant, or deny one the token holds. So tenant routes are decided per request. The
        policy itself is an allow-list of the token's tenants and stays safe if cached (``authorizer.tenancy``):
        the cached authorizer keeps every other route, and with caching off there is no second authorizer.
        """
        assert self.http_authorizer is not None  # the first one, created in _lambda_authorizer
        self.tenant_http_authorizer = self._function_authorizer(
            "TenantLambdaAuthorizer", "InvokedByApiGatewayForTenantRoutes",
            name=_derived_name(_cfn_authorizer(self.http_authorizer).name, TENANT_AUTHORIZER_SUFFIX),
            cache_ttl_seconds=0, per_request=True,
        )
        return _AuthorizerReference("CUSTOM", self.tenant_http_authorizer.authorizer_id)

    def _function_authorizer(self, construct_id: str, permission_id: str, *, name: str | None,
                             cache_ttl_seconds: int, per_request: bool = False) -> apigwv2.HttpAuthorizer:
        """A REQUEST authorizer (payload 2.0) invoking ``self.function``, which only it may invoke through the API.

        ``per_request``: ``$context.requestId`` joins the identity sources, so the function knows from the event
        that its answer is never reused (and may name the request's tenant to the backend)."""
        function = self.function
        assert function is not None  # created first, in _lambda_authorizer
        sources = list(self.identity_source if self.identity_source is not None else identity_sources(self.settings))
        if per_request and REQUEST_ID_IDENTITY not in sources:
            sources.append(REQUEST_ID_IDENTITY)
        authorizer = apigwv2.HttpAuthorizer(
            self,
            construct_id,
            http_api=self.http_api,
            type=apigwv2.HttpAuthorizerType.LAMBDA,
            authorizer_name=name,
            identity_source=sources,
            authorizer_uri=(f"arn:{Stack.of(self).partition}:apigateway:{Stack.of(self).region}:lambda:path/"
                            f"2015-03-31/functions/{function.function_arn}/invocations"),
            payload_format_version=apigwv2.AuthorizerPayloadVersion.VERSION_2_0,
            enable_simple_responses=self.settings.lambda_response == "simple",
            results_cache_ttl=Duration.seconds(cache_ttl_seconds),
        )
        if not sources:
            # Optional for a REQUEST authorizer without caching: left out, API Gateway invokes it for every request.
            _cfn_authorizer(authorizer).add_property_deletion_override("IdentitySource")
        function.add_permission(
            permission_id,
            principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            source_arn=Stack.of(self).format_arn(
                service="execute-api",
                resource=self.http_api.api_id,
                resource_name=f"authorizers/{authorizer.authorizer_id}",
            ),
        )
        return authorizer

    def _config_parameter(self) -> ssm.IStringParameter | None:
        """The SSM parameter holding the issuers and routes: created from the settings, or an existing one."""
        spec = self.settings.config_parameter
        if spec is None:
            return None
        if spec.existing_name is not None:
            return ssm.StringParameter.from_string_parameter_name(self, "ConfigParameter", spec.existing_name)
        return ssm.StringParameter(
            self,
            "ConfigParameter",
            parameter_name=parameter_name_for(Stack.of(self).stack_name,
                                              self.node.path.removeprefix(Stack.of(self).node.path + "/"),
                                              self.parameter_name),
            simple_name=False,  # the name is a path, even where the stack name is a token
            string_value=self.settings.parameter_value(self.mcp_resources),
            tier=ssm.ParameterTier.STANDARD,
            description="JWT authorizer: trusted issuers and route rules (JSON); each cdk deploy rewrites it",
        )

    def _jwt_authorizer(self) -> apigwv2.IHttpRouteAuthorizer:
        issuer = self.settings.native_issuer
        assert issuer is not None  # AuthorizationSettings.create chose it for jwt mode
        return authorizers.HttpJwtAuthorizer(
            f"{self.node.id}JwtAuthorizer",  # created under the API: unique per construct
            issuer.issuer,
            jwt_audience=list(issuer.audiences),
            identity_source=self.identity_source or [AUTHORIZATION_HEADER],
            authorizer_name=self.authorizer_name,
        )

    def _mcp_jwt_authorizer(self, route: RouteSpec) -> apigwv2.IHttpRouteAuthorizer:
        """``jwt`` mode: an MCP endpoint's tokens come from its authorization server with its resource as ``aud``
        (RFC 8707), which the API's other routes must not accept: a native authorizer of its own."""
        found = self._mcp_jwt_authorizers.get(route.route_key)
        if found is None:
            assert route.mcp is not None and self.settings.native_issuer is not None
            issuer = (route.mcp.authorization_servers or (self.settings.native_issuer.issuer,))[0]
            native = authorizers.HttpJwtAuthorizer(
                f"{self.node.id}McpJwtAuthorizer{len(self._mcp_jwt_authorizers)}", issuer,
                jwt_audience=[self.mcp_resources[route.route_key]],
                identity_source=self.identity_source or [AUTHORIZATION_HEADER],
                authorizer_name=_derived_name(self.authorizer_name, f"-mcp{len(self._mcp_jwt_authorizers)}"))
            found = self._mcp_jwt_authorizers[route.route_key] = OneApiAuthorizer(native, self.http_api,
                                                                                  self.node.path)
        return found

    # --- routes -------------------------------------------------------------------------------------------
    def route_options(self, route: RouteSpec | str) -> RouteOptions:
        """Keyword arguments for ``HttpApi.add_routes`` / ``HttpRoute`` that protect ``route`` (a configured
        ``RouteSpec`` or its route key, ``"GET /orders"``) as configured."""
        if isinstance(route, str):
            route = self._spec_for(route)
        elif not isinstance(route, RouteSpec):
            raise ConfigError("route", f"must be a configured RouteSpec or its route key such as 'GET /orders', got "
                                       f"{describe(route)}")
        if route.public:
            return {"authorizer": _PublicRoute(self, route)}
        options: RouteOptions = {"authorizer": self.authorizer_for(route)}
        if self.mode == "jwt" and route.scopes:
            options["authorization_scopes"] = list(route.scopes)
        return options

    def authorizer_for(self, route: RouteSpec) -> apigwv2.IHttpRouteAuthorizer:
        """The authorizer ``route`` binds: the uncached ``tenant_authorizer`` for a route decided per request (a
        tenant rule, an MCP endpoint with per-tool rules; when there is one); in ``jwt`` mode an MCP endpoint's own
        (its authorization server as issuer, its resource as audience); else ``authorizer``."""
        if self.tenant_authorizer is not None and route in self.settings.per_request_routes:
            return self.tenant_authorizer
        if self.mode == "jwt" and route.mcp is not None:
            return self._mcp_jwt_authorizer(route)
        return self.route_authorizer

    def add_routes(self, integration: apigwv2.HttpRouteIntegration, *,
                   mcp_integration: apigwv2.HttpRouteIntegration | None = None) -> dict[str, list[apigwv2.HttpRoute]]:
        """Add every configured route to the API, sending it to ``integration`` (an MCP endpoint to
        ``mcp_integration`` when given: your MCP server). Returns route key → routes."""
        for spec in self.settings.routes:
            target = mcp_integration if spec.mcp is not None and mcp_integration is not None else integration
            if isinstance(self.http_api, apigwv2.HttpApi):
                for route in self.http_api.add_routes(
                    path=spec.path,
                    methods=[apigwv2.HttpMethod(spec.method)],
                    integration=target,
                    **self.route_options(spec),
                ):
                    self._attached(spec, route)
            else:  # an imported IHttpApi
                self.protect(bare_route(self, self.http_api, spec.method, spec.path, target))
        return self.routes

    def protect(self, route: apigwv2.HttpRoute) -> None:
        """Attach authorization to a route created elsewhere; it must be in the configured route list."""
        cfn_route = _cfn_route(route)
        spec = self._spec_for(str(cfn_route.route_key))
        options = self.route_options(spec)
        # Bound in the API's scope, as HttpRoute does: the JWT authorizer's logical ID is the same either way.
        scope = self.http_api if isinstance(self.http_api, Construct) else self  # an imported API: a proxy
        config = options["authorizer"].bind(route=route, scope=scope)
        cfn_route.authorization_type = config.authorization_type
        cfn_route.authorizer_id = config.authorizer_id
        cfn_route.authorization_scopes = options.get("authorization_scopes")
        self._attached(spec, route)

    def _attached(self, spec: RouteSpec, route: apigwv2.HttpRoute) -> None:
        self.routes.setdefault(spec.route_key, []).append(route)

    def acknowledge_public_route(self, spec: RouteSpec, route: apigwv2.IHttpRoute) -> None:
        """cdk-nag's APIG4 (a route without authorization) is intended for a route configured public; called when
        the route binds ``route_options(spec)``'s authorizer."""
        Validations.of(route).acknowledge(Acknowledgment(
            id="AwsSolutions::AwsSolutions-APIG4",
            reason=f'{spec.route_key} is configured "public": true in the route list, so it takes no token by '
                   "design (e.g. a health check for load balancers); every other route has the authorizer",
        ))

    def _spec_for(self, route_key: str) -> RouteSpec:
        for spec in self.settings.routes:
            if spec.route_key == route_key:
                return spec
        raise ConfigError("routes", f"{route_key} is not configured; add it to the route list "
                                    '(with "public": true to leave it open)')


def _derived_name(name: str, suffix: str) -> str:
    """``name`` + ``suffix``, within API Gateway's 128 characters (``name`` shortened, ``suffix`` kept; a name
    that is a token, known only at deploy time, is never cut)."""
    if Token.is_unresolved(name):
        return name + suffix
    return name[:MAX_AUTHORIZER_NAME - len(suffix)] + suffix


def _cfn_authorizer(authorizer: apigwv2.HttpAuthorizer) -> apigwv2.CfnAuthorizer:
    child = authorizer.node.default_child
    if not isinstance(child, apigwv2.CfnAuthorizer):
        raise TypeError(f"{authorizer.node.path} is not an HttpAuthorizer with a CfnAuthorizer")
    return child


def _cfn_route(route: apigwv2.HttpRoute) -> apigwv2.CfnRoute:
    child = route.node.default_child
    if not isinstance(child, apigwv2.CfnRoute):
        raise TypeError(f"{route.node.path} is not an HttpRoute with a CfnRoute")
    return child


@jsii.implements(IValidation)
class _EveryProtectedRouteAttached:
    """At synthesis: each configured, non-public route is on the API and uses this authorizer."""

    def __init__(self, owner: JwtAuthorization) -> None:
        self.owner = owner

    def validate(self) -> list[str]:
        owner = self.owner
        api_id = owner.http_api.api_id
        on_api: dict[str, list[apigwv2.CfnRoute]] = {}
        for child in Stack.of(owner.http_api).node.find_all():
            if isinstance(child, apigwv2.CfnRoute) and child.api_id == api_id:
                on_api.setdefault(str(child.route_key), []).append(child)
        wanted_type = "CUSTOM" if owner.mode == "lambda" else "JWT"
        problems = []
        names = [c.name for c in Stack.of(owner.http_api).node.find_all()
                 if isinstance(c, apigwv2.CfnAuthorizer) and c.api_id == api_id]
        if names.count(owner.authorizer_name) > 1:
            problems.append(f"authorizer_name: another authorizer of {owner.http_api.node.path} is also named "
                            f"{owner.authorizer_name!r}; give each JwtAuthorization on one API its own "
                            "authorizer_name (the default is the construct ID)")
        for spec in owner.settings.protected_routes:
            routes = on_api.get(spec.route_key)
            if not routes:
                problems.append(f"{spec.route_key} is configured but not on the API: call add_routes() or protect()")
                continue
            per_request = spec in owner.settings.per_request_routes and owner.tenant_http_authorizer is not None
            expected = owner.tenant_http_authorizer if per_request else owner.http_authorizer
            for route in routes:
                if route.authorization_type != wanted_type:
                    problems.append(f"{spec.route_key} is configured as protected but its authorization is "
                                    f"{route.authorization_type!r}, not this construct's {wanted_type!r} authorizer")
                elif expected is not None and route.authorizer_id != expected.authorizer_id:
                    problems.append(
                        f"{spec.route_key} is decided per request (a tenant rule, or an MCP endpoint's per-tool rules), "
                        "so it must use this construct's tenant_authorizer (its results are not cached; route_options, "
                        "protect and add_routes bind it)" if per_request
                        else f"{spec.route_key} uses another Lambda authorizer than this construct's")
                elif owner.mode == "jwt" and list(route.authorization_scopes or []) != list(spec.scopes):
                    problems.append(f"{spec.route_key} must require the scopes {list(spec.scopes)}")
        return problems
