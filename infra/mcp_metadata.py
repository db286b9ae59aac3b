"""``ProtectedResourceMetadata``: the RFC 9728 documents of an API's MCP endpoints, served by public routes
``GET /.well-known/oauth-protected-resource<path>`` (and ``GET /.well-known/oauth-protected-resource`` when the API
has one MCP endpoint), in both authorizer modes.

The documents are generated at synthesis from the configuration (``mcp_settings.protected_resource_metadata``) and
served by the smallest thing an HTTP API can route to — HTTP APIs have no mock integration: a function whose code
(``resource_metadata_handler.py``, standard library only) is inlined in the template, with the documents in its
environment, a log group with bounded retention, and a role that may write to it and nothing else. MCP clients fetch
the document when API Gateway answers 401 to a request without a token, before they know any authorization server.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .api_binding import bare_route
from .python_function import PackageFunction

WELL_KNOWN = "/.well-known/oauth-protected-resource"
HANDLER_SOURCE = Path(__file__).with_name("resource_metadata_handler.py")


class ProtectedResourceMetadata(Construct):
    """``documents``: MCP endpoint path → its metadata document (values may hold CDK tokens, such as the API's URL).

    Attributes: ``function``, ``routes`` (path → the ``HttpRoute``s serving it)."""

    def __init__(self, scope: Construct, construct_id: str, *, http_api: apigwv2.IHttpApi,
                 documents: Mapping[str, Mapping[str, object]], log_retention: logs.RetentionDays,
                 log_group: logs.ILogGroup | None = None, runtime: lambda_.Runtime,
                 architecture: lambda_.Architecture) -> None:
        super().__init__(scope, construct_id)
        served = {WELL_KNOWN + path: document for path, document in documents.items()}
        if len(documents) == 1:  # the fallback a client probes last: only unambiguous with one endpoint
            served[WELL_KNOWN] = next(iter(documents.values()))
        self.function_resources = PackageFunction(
            self, "Function", package="resource_metadata", handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER_SOURCE.read_text()),
            service_name="mcp-resource-metadata",
            description="RFC 9728 Protected Resource Metadata of the API's MCP endpoints (static documents)",
            environment={"DOCUMENTS": Stack.of(self).to_json_string(served)},
            log_retention=log_retention, log_group=log_group, memory_size=128, timeout=Duration.seconds(3),
            runtime=runtime, architecture=architecture)
        self.function = self.function_resources.function
        integration = integrations.HttpLambdaIntegration("Integration", self.function)
        self.routes: dict[str, list[apigwv2.HttpRoute]] = {}
        for path in served:
            if isinstance(http_api, apigwv2.HttpApi):
                routes = http_api.add_routes(path=path, methods=[apigwv2.HttpMethod.GET], integration=integration)
            else:  # an imported IHttpApi
                routes = [bare_route(self, http_api, "GET", path, integration)]
            for route in routes:
                Validations.of(route).acknowledge(Acknowledgment(
                    id="AwsSolutions::AwsSolutions-APIG4",
                    reason="RFC 9728 Protected Resource Metadata is public by definition: an MCP client reads it "
                           "before it holds any token, to find the authorization server (MCP authorization spec)",
                ))
            self.routes[path] = routes

