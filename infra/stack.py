"""The sample stack: an HTTP API, the sample backend, and the configured authorizer — one user of ``JwtAuthorization``.

Every configured route goes to the sample backend, which answers with the caller and its claims; an MCP endpoint's
route goes to the sample MCP server (``sample_mcp``, on the official MCP Python SDK). The ``$default``
stage writes JSON access logs (with ``$context.authorizer.error``) to a log group with bounded retention and has
default throttling. With ``tracing`` both functions are traced by X-Ray. Outputs: ``ApiUrl`` and ``AuthorizerMode``,
plus ``ConfigParameterName`` when the authorizer reads its issuers and routes from SSM, and ``McpResource`` (the
first MCP endpoint's canonical URI, what an MCP client is given) when there is an MCP route.
"""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_logs as logs
from constructs import Construct

from .authorizer_construct import JwtAuthorization
from .config import StackConfig
from .python_function import PackageFunction

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS, 5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS, 120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS, 545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS, 1096: logs.RetentionDays.THREE_YEARS, 1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS, 2557: logs.RetentionDays.SEVEN_YEARS, 2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
}


def sample_mcp_server(scope: Construct, construct_id: str = "SampleMcpServer", *,
                      environment: dict[str, str] | None = None,
                      log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                      tracing: bool = False) -> PackageFunction:
    """The sample MCP server's function (``sample_mcp/``): stateless Streamable HTTP on the official SDK."""
    return PackageFunction(
        scope,
        construct_id,
        package="sample_mcp",
        handler="sample_mcp.server.handler",
        # One source: the server checks headers with the authorizer's own module, and reads the caller as the
        # sample backend does.
        extra_sources=("authorizer/mcp_headers.py", "sample_backend/handler.py"),
        service_name="sample-mcp",
        description="Sample MCP server (Streamable HTTP 2026-07-28, stateless) behind the MCP route",
        # No browser origin is allowed by default: MCP clients that are not browsers send no Origin.
        environment={"MCP_ALLOWED_ORIGINS": "[]", **(environment or {})},
        memory_size=512,  # the SDK's imports (pydantic, starlette) cold-start faster with more CPU
        log_retention=log_retention,
        timeout=Duration.seconds(10),
        tracing=tracing,
    )


def access_log_format(mode: str) -> dict[str, str]:
    """One JSON object per request; ``authorizerError`` says why an authorizer refused."""
    return {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "httpMethod": "$context.httpMethod",
        "path": "$context.path",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "principal": "$context.authorizer.principalId" if mode == "lambda" else "$context.authorizer.claims.sub",
        "authorizerError": "$context.authorizer.error",
        "errorMessage": "$context.error.message",
        "integrationError": "$context.integrationErrorMessage",
    }


class JwtAuthorizerStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        mode = config.authorization.mode
        super().__init__(scope, construct_id,
                         description=f"HTTP API with JWT authorization ({mode} authorizer) and a sample backend",
                         **kwargs)
        retention = _RETENTION[config.log_retention_days]
        self.backend = PackageFunction(
            self,
            "SampleBackend",
            package="sample_backend",
            handler="sample_backend.handler.handler",
            service_name="sample-backend",
            description="Sample backend: answers with the caller's principal, claims and route",
            log_retention=retention,
            timeout=Duration.seconds(10),
            tracing=config.tracing,
        )
        self.http_api = apigwv2.HttpApi(self, "HttpApi", description="Sample API behind a JWT authorizer",
                                        create_default_stage=False)
        self.stage = self._default_stage(config, retention)
        self.authorization = JwtAuthorization(self, "Authorization", http_api=self.http_api,
                                              settings=config.authorization, log_retention=retention,
                                              tracing=config.tracing,
                                              # the name docs/operating.md's steps use, one per stack
                                              parameter_name=f"/{config.stack_name}/authorizer-config")
        self.mcp_server: PackageFunction | None = None
        mcp_integration = None
        if config.authorization.mcp_routes:
            self.mcp_server = sample_mcp_server(self, log_retention=retention, tracing=config.tracing)
            mcp_integration = integrations.HttpLambdaIntegration("SampleMcpIntegration", self.mcp_server.function)
        self.authorization.add_routes(
            integrations.HttpLambdaIntegration("SampleBackendIntegration", self.backend.function),
            mcp_integration=mcp_integration)
        CfnOutput(self, "ApiUrl", value=self.stage.url, description="Base URL of the HTTP API")
        CfnOutput(self, "AuthorizerMode", value=mode, description="lambda (our Lambda authorizer) or jwt (native)")
        if self.authorization.mcp_resources:
            CfnOutput(self, "McpResource", value=next(iter(self.authorization.mcp_resources.values())),
                      description="The MCP endpoint's canonical URI: the server URL to give an MCP client")
        if self.authorization.config_parameter is not None:
            CfnOutput(self, "ConfigParameterName", value=self.authorization.config_parameter.parameter_name,
                      description="SSM parameter with the authorizer's issuers and routes (aws ssm put-parameter)")

    def _default_stage(self, config: StackConfig, retention: logs.RetentionDays) -> apigwv2.HttpStage:
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=retention)
        return apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=config.throttle.rate_limit,
                                              burst_limit=config.throttle.burst_limit),
            access_log_settings=_AccessLogs(
                destination=apigwv2.LogGroupLogDestination(self.access_logs),
                format=apigw.AccessLogFormat.custom(json.dumps(access_log_format(config.authorization.mode))),
            ),
        )


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """``IAccessLogSettings``: where the stage writes access logs, and in which format."""

    def __init__(self, *, destination: apigwv2.IAccessLogDestination, format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = format

    @property
    @jsii.member(jsii_name="destination")
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    @jsii.member(jsii_name="format")
    def format(self) -> apigw.AccessLogFormat:
        return self._format
