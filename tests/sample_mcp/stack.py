"""A CDK app holding the sample MCP server exactly as the stack provisions it (``infra.stack.sample_mcp_server``, the call
the project's stack makes), behind an HTTP API route guarded by a Lambda authorizer, for the local stack to serve.

The authorizer is a stand-in that gives what the project's Lambda authorizer gives a backend — claims in
``requestContext.authorizer.lambda``, ``scope`` as a space-separated string, or a list as a compact JSON string — read
from the bearer value ``<sub>;<scopes separated by +>[;list]`` instead of a signed token: these tests are about the
MCP server, not token verification (the authorizer's own tests cover that).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

from infra.stack import sample_mcp_server

STACK = "SampleMcpTest"
MCP_PATH = "/mcp"
ALLOWED_ORIGIN = "https://app.example.test"

STAND_IN_AUTHORIZER = '''
"""Gives the claims a bearer value names (see tests/sample_mcp/stack.py); "deny" is refused."""
import json


def handler(event, context):
    value = (event.get("headers") or {}).get("authorization", "").removeprefix("Bearer ")
    sub, _, rest = value.partition(";")
    scopes, _, form = rest.partition(";")
    if not sub or sub == "deny":
        return {"isAuthorized": False}
    scope = scopes.split("+") if scopes else []
    claims = {"sub": sub, "azp": "test-client", "iss": "https://issuer.example.test",
              "scope": json.dumps(scope, separators=(",", ":")) if form == "list" else " ".join(scope)}
    return {"isAuthorized": True, "context": claims}
'''


def synthesize(outdir: Path, *, bundling: bool = False) -> Path:
    """The app into ``outdir`` (bundling skipped unless asked: the local stack runs the staged sources)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    import aws_cdk as cdk
    from aws_cdk import aws_apigatewayv2 as apigw
    from aws_cdk import aws_apigatewayv2_authorizers as authorizers
    from aws_cdk import aws_apigatewayv2_integrations as integrations
    from aws_cdk import aws_lambda as lambda_

    context: dict[str, Any] = {"aws:cdk:enable-asset-metadata": True}
    if not bundling:
        context["aws:cdk:bundling-stacks"] = []
    app = cdk.App(outdir=str(outdir), context=context)
    stack = cdk.Stack(app, STACK)
    server = sample_mcp_server(stack, environment={"MCP_ALLOWED_ORIGINS": f'["{ALLOWED_ORIGIN}"]'})
    authorizer_dir = outdir.parent / f"{outdir.name}-authorizer"
    authorizer_dir.mkdir(parents=True, exist_ok=True)
    (authorizer_dir / "stand_in.py").write_text(textwrap.dedent(STAND_IN_AUTHORIZER))
    stand_in = lambda_.Function(stack, "StandInAuthorizer", runtime=lambda_.Runtime.PYTHON_3_12,
                                handler="stand_in.handler", code=lambda_.Code.from_asset(str(authorizer_dir)))
    authorizer = authorizers.HttpLambdaAuthorizer(
        "Authorizer", stand_in, response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
        results_cache_ttl=cdk.Duration.seconds(0))
    api = apigw.HttpApi(stack, "Api")
    api.add_routes(path=MCP_PATH, methods=[apigw.HttpMethod.ANY], authorizer=authorizer,
                   integration=integrations.HttpLambdaIntegration("Mcp", server.function))
    # The same function on a public route: a route left without an authorizer by mistake.
    api.add_routes(path="/public-mcp", methods=[apigw.HttpMethod.POST],
                   integration=integrations.HttpLambdaIntegration("PublicMcp", server.function))
    app.synth()
    return outdir
