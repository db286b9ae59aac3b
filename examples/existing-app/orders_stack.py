"""The app's own stack: an ``HttpApi`` with access logs, an orders backend, its routes, and JWT authorization
from the installed ``apigw_jwt_authorizer`` attached to those routes by route key."""

from __future__ import annotations

import json
from typing import Any

from apigw_jwt_authorizer import AuthorizationSettings, AuthorizerMode, JwtAuthorization, ProviderIssuer, RouteSpec
from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

BACKEND_CODE = """
import json
def handler(event, context):
    claims = event["requestContext"].get("authorizer", {})
    return {"statusCode": 200, "body": json.dumps({"route": event["routeKey"], "caller": claims})}
"""
#: The app's routes and what a token must carry on each; the same list configures the authorization.
ROUTES = [
    RouteSpec("GET", "/orders", scopes=("orders:read",)),
    RouteSpec("POST", "/orders", scopes=("orders:write",)),
    RouteSpec("GET", "/status", public=True),
]


class OrdersStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, mode: str, issuer: str, audience: str,
                 architecture: str = "arm64", **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        backend = self._backend()
        api = apigwv2.HttpApi(self, "Api", description="Orders API", create_default_stage=False)
        self._stage(api)
        settings = AuthorizationSettings.create(
            mode=AuthorizerMode(mode),
            issuers=[ProviderIssuer.oidc(issuer, audience=audience)],
            routes=ROUTES,
            results_cache_ttl=Duration.minutes(5),
        )
        auth = JwtAuthorization(self, "Auth", http_api=api, settings=settings,
                                architecture=lambda_.Architecture.X86_64 if architecture == "x86_64"
                                else lambda_.Architecture.ARM_64)
        integration = HttpLambdaIntegration("Orders", backend)
        for route in ROUTES:  # the app's own add_routes; the construct supplies the authorization by route key
            api.add_routes(path=route.path, methods=[apigwv2.HttpMethod(route.method)], integration=integration,
                           **auth.route_options(route.route_key))

    def _backend(self) -> lambda_.Function:
        log_group = logs.LogGroup(self, "OrdersLogs", retention=logs.RetentionDays.ONE_MONTH)
        role = iam.Role(self, "OrdersRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        function = lambda_.Function(
            self, "Orders", runtime=lambda_.Runtime.PYTHON_3_14, architecture=lambda_.Architecture.ARM_64,
            handler="index.handler", code=lambda_.Code.from_inline(BACKEND_CODE), role=role, log_group=log_group,
            timeout=Duration.seconds(10),
        )
        # CDK makes the function DependsOn its role, which Fn::GetAtt already orders (cfn-lint W3005): keep only
        # the dependency on the role's policy (the function must not run before it may write its logs)
        function_resource = function.node.default_child
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(function_resource, CfnResource) and isinstance(policy, CfnResource)
        function_resource.add_override("DependsOn", [policy.logical_id])
        return function

    def _stage(self, api: apigwv2.HttpApi) -> apigwv2.HttpStage:
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH)
        stage = apigwv2.HttpStage(self, "Stage", http_api=api, stage_name="$default", auto_deploy=True)
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn,
            format=json.dumps({"requestId": "$context.requestId", "routeKey": "$context.routeKey",
                               "status": "$context.status", "authorizerError": "$context.authorizer.error"}),
        )
        return stage
