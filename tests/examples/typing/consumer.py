"""A CDK app's use of the whole public API of the installed construct, as a user writes it: ``mypy --strict``
must find nothing here (``tests/examples/test_typing.py``)."""

from __future__ import annotations

from apigw_jwt_authorizer import (
    AuthorizationSettings,
    AuthorizerMode,
    ConfigError,
    Issuer,
    JwtAuthorization,
    LambdaResponse,
    McpEndpoint,
    McpRule,
    ProviderIssuer,
    RouteSpec,
    TenantRule,
    __version__,
)
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpUrlIntegration

ROUTES: list[RouteSpec] = [
    RouteSpec("GET", "/orders", scopes=["orders:read"]),
    RouteSpec("POST", "/orders", scopes=("orders:write",), claims={"email_verified": True, "tier": ["gold", 2]}),
    RouteSpec("GET", "/tenants/{tenantId}/orders", tenant=TenantRule("tenantId", roles=["admin"])),
    RouteSpec("GET", "/status", public=True),
    RouteSpec("ANY", "/mcp", mcp=McpEndpoint(
        authorization_servers=["https://api.descope.com/v1/apps/agentic/P2abc/orders-mcp"],
        methods={"tools/list": McpRule(scopes=["orders:read"])},
        tools={"list_orders": ["orders:read"], "create_order": McpRule(scopes=("orders:write",)),
               "tenant_report": McpRule(tenant=TenantRule("tenantId", roles=["admin"]))},
        prompts={"audit": McpRule(claims={"role": "auditor"})})),
]


def settings(mode: AuthorizerMode) -> AuthorizationSettings:
    return AuthorizationSettings.create(
        mode=mode,
        issuers=[ProviderIssuer.descope("P2abc"), ProviderIssuer.cognito("eu-west-1_Ab", client_ids=["app"]),
                 Issuer("https://idp.example.org", audience=["orders-api"], algorithms=("RS256",)),
                 {"provider": "oidc", "issuer": "https://login.example.org", "audience": "orders-api"}],
        routes=[*ROUTES, {"method": "GET", "path": "/health", "public": True}],
        results_cache_ttl=Duration.minutes(5),
        lambda_response=LambdaResponse.IAM,
        config_parameter=False,
        token_cookie=None,
    )


def build(app: App) -> JwtAuthorization:
    stack = Stack(app, "Orders")
    api = apigwv2.HttpApi(stack, "Api")
    try:
        chosen = settings(AuthorizerMode.LAMBDA)
    except ConfigError as problem:
        raise SystemExit(f"{problem.field}: {problem.problem}") from None
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=chosen, memory_size=1024,
                            timeout=Duration.seconds(5), log_retention=logs.RetentionDays.ONE_YEAR,
                            environment={"AUTH_LEEWAY_SECONDS": "30"}, tracing=False, authorizer_name="orders",
                            architecture=lambda_.Architecture.X86_64, runtime=lambda_.Runtime.PYTHON_3_13,
                            bytecode=False)
    integration = HttpUrlIntegration("Backend", "https://backend.example.org/{proxy}")
    for route in ROUTES:
        api.add_routes(path=route.path, methods=[apigwv2.HttpMethod(route.method)], integration=integration,
                       **auth.route_options(route))
    api.add_routes(path="/health", methods=[apigwv2.HttpMethod.GET], integration=integration,
                   **auth.route_options("GET /health"))
    function: lambda_.Function | None = auth.function
    authorizer: apigwv2.IHttpRouteAuthorizer = auth.authorizer
    assert function is not None and authorizer is auth.authorizer_for(ROUTES[0]) and __version__
    return auth
