#!/usr/bin/env python3
"""An existing CDK app with its own HTTP API, backend and routes, protected by ``apigw-jwt-authorizer``.

The construct is installed from this repository's wheel, by path (never from a package index)::

    make -C ../.. dist                        # builds ../../dist/apigw_jwt_authorizer-<version>-py3-none-any.whl
    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
    PATH="$PWD/.venv/bin:$PATH" npx cdk synth                          # lambda mode, arm64
    PATH="$PWD/.venv/bin:$PATH" npx cdk synth -c architecture=x86_64   # the authorizer on x86_64
    PATH="$PWD/.venv/bin:$PATH" npx cdk synth -c authorizer=jwt        # API Gateway's native JWT authorizer
"""

import apigw_jwt_authorizer  # noqa: F401  # before aws_cdk: on an ended Node.js, one plain notice for jsii's banner
from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks
from orders_stack import OrdersStack

app = App()
OrdersStack(
    app,
    "OrdersApi",
    mode=app.node.try_get_context("authorizer") or "lambda",
    issuer=app.node.try_get_context("issuer"),
    audience=app.node.try_get_context("audience"),
    architecture=app.node.try_get_context("architecture") or "arm64",
)
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
