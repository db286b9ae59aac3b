"""What the tenant tests share: the routes under test, a request API Gateway matched to a tenant route, and
policies judged with the local stack's IAM evaluator (``policy_allows``)."""

from __future__ import annotations

import itertools

from local.apigateway.iam import policy_allows, validate_policy_document

from .support import http_v2_event

STAGE = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default"
ORDERS = "GET /tenants/{tenantId}/orders"
DELETE = "DELETE /tenants/{tenantId}/orders/{id}"
ROUTES = {
    ORDERS: {"tenant": {"param": "tenantId", "roles": ["admin", "auditor"]}},
    DELETE: {"scopes": ["orders:write"], "tenant": {"param": "tenantId", "permissions": ["orders:delete"]}},
    "GET /orders": ["orders:read"],
    "GET /me": [],
    "ANY /{proxy+}": [],
}
ADMIN_OF_A = {"A": {"roles": ["admin"], "permissions": ["orders:delete"]}, "B": {"roles": ["viewer"]}}


def tenant_event(token: str, tenant: str, route_key: str = ORDERS, raw: str | None = None,
                 shape=http_v2_event, per_request: bool = True) -> dict:
    """A request API Gateway matched to a tenant route: ``raw`` is how the path spells the tenant (default as is);
    ``per_request``: from an authorizer whose identity sources hold ``$context.requestId`` (the construct's)."""
    method, _, path = route_key.partition(" ")
    raw_path = path.replace("{tenantId}", raw if raw is not None else tenant).replace("{id}", "7")
    event = shape(token, route_key=route_key, arn=f"{STAGE}/{method}{raw_path}")
    event["pathParameters"] = {"tenantId": tenant, **({"id": "7"} if "{id}" in route_key else {})}
    if per_request and shape is http_v2_event:  # the construct's tenant authorizer: $context.requestId, never reused
        event["requestContext"]["requestId"] = request_id = f"req-{next(REQUEST_IDS)}"
        event["identitySource"] = [*event["identitySource"], route_key, request_id]
    return event


REQUEST_IDS = itertools.count()


def allows(response: dict, arn: str) -> bool:
    return policy_allows(validate_policy_document(response["policyDocument"]), arn)


def orders_arn(tenant: str) -> str:
    return f"{STAGE}/GET/tenants/{tenant}/orders"


def per_route(event: dict) -> dict:
    """The event of an authorizer whose cache key holds ``$context.routeKey`` (as the construct sets it up)."""
    event["identitySource"] = [*event["identitySource"], event["routeKey"]]
    return event
