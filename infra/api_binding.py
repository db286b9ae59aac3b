"""How ``JwtAuthorization`` binds to its one API: in the API's own stack, with routes of that API only, on an
``HttpApi`` or an imported ``IHttpApi``.

An authorizer belongs to one API (``AWS::ApiGatewayV2::Authorizer`` has an ``ApiId``): a route of another API that
referenced it would synthesize and then fail to deploy, so binding one is refused here with the reason.
"""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from constructs import Construct

from .lambda_sources import ConfigError


def check_same_stack(owner: Construct, http_api: apigwv2.IHttpApi) -> None:
    """Routes live in the API's stack and reference the authorizer; the authorizer references the API. In two
    stacks each would depend on the other, which CloudFormation cannot deploy."""
    api_stack, own_stack = Stack.of(http_api), Stack.of(owner)
    if api_stack.node.path != own_stack.node.path:
        raise ConfigError(
            "http_api",
            f"{http_api.node.path} is in stack {api_stack.node.path}, this construct in {own_stack.node.path}: "
            "the API's routes would reference the authorizer and the authorizer the API, a dependency cycle "
            "between the two stacks. Create JwtAuthorization in the API's stack (pass that stack as its scope)",
        )


@jsii.implements(apigwv2.IHttpRouteAuthorizer)
class OneApiAuthorizer:
    """``inner`` for routes of ``http_api``; a route of any other API is refused."""

    def __init__(self, inner: apigwv2.IHttpRouteAuthorizer, http_api: apigwv2.IHttpApi, owner: str) -> None:
        self.inner = inner
        self.http_api = http_api
        self.owner = owner

    def bind(self, *, route: apigwv2.IHttpRoute, scope: Construct) -> apigwv2.HttpRouteAuthorizerConfig:
        if route.http_api.node.path != self.http_api.node.path:
            raise ConfigError(
                "http_api",
                f"{self.owner} authorizes {self.http_api.node.path} only; {route.node.path} is a route of "
                f"{route.http_api.node.path}. An API Gateway authorizer belongs to one API: create another "
                "JwtAuthorization for the second API",
            )
        return self.inner.bind(route=route, scope=scope)


def bare_route(owner: Construct, http_api: apigwv2.IHttpApi, method: str, path: str,
               integration: apigwv2.HttpRouteIntegration) -> apigwv2.HttpRoute:
    """A route without authorization yet, under ``owner``, for an imported ``IHttpApi``: such an API reaches
    Python as an interface proxy, which CDK's route-to-authorizer binding refuses as its scope, so the caller
    attaches the authorizer afterwards (``JwtAuthorization.protect``)."""
    return apigwv2.HttpRoute(owner, f"{method}{path}", http_api=http_api,
                             route_key=apigwv2.HttpRouteKey.with_(path, apigwv2.HttpMethod(method)),
                             integration=integration)
