"""``python -m tools doctor`` on an MCP endpoint (issue 20): a refused call explained — the token's audience against
the resource, the tool's rule, a header missing — as the authorizer's own MCP stage decides it, with tokens of the
development issuer (``aud`` the MCP server's URL, as MCP clients request it with RFC 8707's ``resource``)."""

from __future__ import annotations

import json

import pytest

from authorizer.authorize import Authorizer
from authorizer.config import load_config
from tools.doctor import KeySource, LambdaSetup, Route, Setup, diagnose
from tools.doctor.mcp import McpCall

from ..authorizer.test_mcp import REQUEST_ID

RESOURCE = "https://api.example.com/mcp"
MCP = {"resource": RESOURCE, "methods": {"tools/list": ["orders:read"]},
       "tools": {"create_order": ["orders:write"], "list_orders": ["orders:read"]}}


def setup_for(issuer):
    config = load_config({"AUTH_ISSUERS": json.dumps([{"issuer": issuer.issuer_url("oidc"), "audience": "api"}]),
                          "AUTH_ROUTES": json.dumps({"POST /mcp": {"mcp": MCP}})})
    return Setup("test", {"lambda": LambdaSetup("Lambda authorizer", config)}, [Route("POST /mcp", "lambda")],
                 {"lambda"}), config


def verdict(issuer, token, call=None):
    setup, _ = setup_for(issuer)
    [report] = diagnose(token, setup, KeySource(fetch=False), mcp_call=call)
    [route] = report.routes
    return route


def test_a_token_for_another_resource_is_explained_as_such(issuer):
    token = issuer.mint("oidc", audience="https://other.example.com/mcp", scopes="orders:read")
    route = verdict(issuer, token)
    assert route.allowed is False
    [finding] = [f for f in route.findings if f.topic == "resource"]
    assert "resource_mismatch" in finding.message and f"resource={RESOURCE}" in finding.fix


def test_a_tool_the_token_lacks_the_scope_for_is_named_with_the_scope_it_needs(issuer):
    token = issuer.mint("oidc", audience=RESOURCE, scopes="orders:read")
    route = verdict(issuer, token, McpCall("tools/call", "create_order"))
    assert route.allowed is False
    [finding] = [f for f in route.findings if f.topic == "mcp"]
    assert "mcp_name_denied" in finding.message and "orders:write" in finding.message
    assert verdict(issuer, token, McpCall("tools/call", "list_orders")).allowed is True


def test_without_a_call_the_doctor_says_which_tools_the_token_may_call(issuer):
    token = issuer.mint("oidc", audience=RESOURCE, scopes="orders:read")
    route = verdict(issuer, token)
    messages = [f.message for f in route.findings if f.topic == "mcp"]
    assert any("may call: tools/list, tools/call list_orders" in m for m in messages)
    assert any("tools/call create_order needs one of the scopes ['orders:write']" in m for m in messages)


def test_a_call_without_its_name_header_is_explained(issuer):
    token = issuer.mint("oidc", audience=RESOURCE, scopes="orders:read orders:write")
    route = verdict(issuer, token, McpCall("tools/call", None))
    [finding] = [f for f in route.findings if f.topic == "mcp"]
    assert "mcp_header_missing" in finding.message and "Mcp-Name" in finding.fix


@pytest.mark.parametrize("scopes, call", [
    ("orders:read", McpCall("tools/call", "create_order")), ("orders:read", McpCall("tools/call", "list_orders")),
    ("orders:write", McpCall("tools/list")), ("orders:read orders:write", McpCall("tools/call", "create_order")),
    ("orders:read", McpCall("tools/call", "list_orders", version="2025-11-25")),
])
def test_the_doctor_agrees_with_the_authorizer(issuer, scopes, call):
    token = issuer.mint("oidc", audience=RESOURCE, scopes=scopes)
    _, config = setup_for(issuer)
    event = {**call.event("POST /mcp"), "version": "2.0", "type": "REQUEST",
             "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/$default/POST/mcp",
             "requestContext": {"requestId": REQUEST_ID}}
    event["headers"]["authorization"] = f"Bearer {token}"
    event["identitySource"] = [f"Bearer {token}", "POST /mcp", REQUEST_ID]  # an id as API Gateway makes them
    answer = Authorizer(config).authorize(event)
    allowed = answer["policyDocument"]["Statement"][0]["Effect"] == "Allow" and len(
        answer["policyDocument"]["Statement"]) == 1
    assert verdict(issuer, token, call).allowed is allowed
