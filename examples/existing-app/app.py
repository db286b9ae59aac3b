#!/usr/bin/env python3
"""An existing CDK app with its own HTTP API, backend and routes, protected by ``apigw-jwt-authorizer``.

    pip install -r requirements.txt
    npx cdk synth                     # lambda mode: the Lambda REQUEST authorizer
    npx cdk synth -c authorizer=jwt   # API Gateway's native JWT authorizer
"""

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
)
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
