"""MCP endpoints behind the authorizer (issue 20): the audience bound to the resource, the authorization servers, and
rules per method and per tool, resource or prompt, read from the 2026-07-28 Streamable HTTP headers — with each
refusal's own reason code, in simple and IAM answers, and never an answer reusable across tools.

Tokens are built by us, signed with the tests' keys: MCP access tokens as Descope's agentic issuer and our
development authorization server mint them (``aud`` the MCP server's URL, ``scope``, ``azp``).
"""

from __future__ import annotations

import base64
import json

import pytest

from authorizer.config import load_config, parse_routes
from authorizer.errors import ConfigError
from authorizer.mcp_headers import encode_value

from .support import claims_for, http_v2_event
from .test_responses import iam_allows

STAGE = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default"
MCP_ARN = f"{STAGE}/POST/mcp"
RESOURCE = "https://api.example.com/mcp"
MCP = {"resource": RESOURCE, "methods": {"tools/list": ["orders:read"]},
       "tools": {"create_order": {"scopes": ["orders:write"]}, "list_orders": ["orders:read"],
                 "tenant_report": {"tenant": {"param": "tenantId", "roles": ["admin"]}}},
       "resources": {"orders://all": ["orders:read"]}}
ROUTES = {"POST /mcp": {"mcp": MCP}, "GET /orders": ["orders:read"]}


#: A request id as API Gateway writes them: awsdocs/aws-lambda-developer-guide @ 3c88388346dd2c6b31723f32e432b5414d7b7d26,
#: sample-apps/nodejs-apig/event-v2.json, requestContext.requestId.
REQUEST_ID = "JKJaXmPLvHcESHA="


def mcp_event(token: str, method: str | None = "tools/call", name: str | None = "list_orders",
              version: str | None = "2026-07-28", per: str = "request", **extra_headers: str) -> dict:
    headers = {k.replace("_", "-"): v for k, v in extra_headers.items()}
    for header, value in (("mcp-method", method), ("mcp-name", name), ("mcp-protocol-version", version)):
        if value is not None:
            headers[header] = value
    event = http_v2_event(token, route_key="POST /mcp", arn=MCP_ARN, headers=headers)
    if per == "request":  # the construct's wiring: $context.requestId, never reused
        event["requestContext"]["requestId"] = REQUEST_ID
        event["identitySource"] += ["POST /mcp", REQUEST_ID]
    elif per == "route":
        event["identitySource"] += ["POST /mcp"]
    elif per == "headers":  # the route key and the MCP headers: reused only on this route, for these headers
        event["identitySource"] += ["POST /mcp"] + [v for k, v in headers.items() if k in ("mcp-method", "mcp-name")]
    return event


@pytest.fixture
def mcp_authorizer(make_authorizer):
    def build(routes=None, **env):
        return make_authorizer(routes=routes or ROUTES, **env)
    return build


@pytest.fixture
def token(idp, keys):
    def make(scope: str = "orders:read", aud=RESOURCE, **claims):
        return keys["ES256"].sign(claims_for(idp, audience=aud, scope=scope, azp="client-1", **claims))
    return make


def reasons(logs) -> list[str]:
    return [r["reason"] for r in logs.records() if r.get("message") == "denied"]


def allowed(authorizer, event, simple=False) -> bool:
    answer = authorizer.authorize(event)
    return answer["isAuthorized"] if simple else iam_allows(answer, event["routeArn"])


# --- the audience is the resource ----------------------------------------------------------------------------------
def test_a_token_for_the_resource_calls_the_endpoint(mcp_authorizer, token, logs):
    assert allowed(mcp_authorizer(), mcp_event(token()))
    assert reasons(logs) == []


@pytest.mark.parametrize("aud", ["api", "https://api.example.com/mcp/", "https://other.example.com/mcp",
                                 ["api", "https://other.example.com/mcp"]])
def test_a_token_whose_aud_lacks_the_resource_is_refused_with_its_own_reason(mcp_authorizer, token, logs, aud):
    """Issued for another service (even for this API's other routes, aud "api"): never passed through."""
    assert not allowed(mcp_authorizer(), mcp_event(token(aud=aud)))
    assert reasons(logs) == ["resource_mismatch"]


def test_a_token_issued_for_the_mcp_resource_is_good_on_the_mcp_route_only(mcp_authorizer, token, logs):
    authorizer = mcp_authorizer()
    for_mcp = token(scope="orders:read")
    orders = http_v2_event(for_mcp, route_key="GET /orders", arn=f"{STAGE}/GET/orders", per_route=True)
    assert not allowed(authorizer, orders)
    assert allowed(authorizer, http_v2_event(token(aud="api"), route_key="GET /orders", arn=f"{STAGE}/GET/orders",
                                             per_route=True))
    assert reasons(logs) == ["resource_mismatch"]


def test_a_token_from_an_issuer_that_does_not_serve_the_resource_is_refused(make_authorizer, server, keys, idp,
                                                                          token, logs):
    other = server.root + "/other"
    server.put("/other/.well-known/openid-configuration", {"issuer": other, "jwks_uri": server.root + "/idp/jwks"})
    routes = {"POST /mcp": {"mcp": {**MCP, "authorization_servers": [idp]}}}
    authorizer = make_authorizer(issuers=[{"issuer": idp, "audience": "api"}, {"issuer": other, "audience": "api"}],
                                 routes=routes)
    from_other = keys["ES256"].sign(claims_for(other, audience=RESOURCE, scope="orders:read"))
    assert not allowed(authorizer, mcp_event(from_other))
    assert allowed(authorizer, mcp_event(token()))
    assert reasons(logs) == ["resource_issuer_mismatch"]


# --- per method and per tool ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("simple", [False, True])
def test_each_tool_is_decided_by_its_own_rule_in_simple_and_iam_answers(mcp_authorizer, token, logs, simple):
    authorizer = mcp_authorizer(AUTH_RESPONSE="simple") if simple else mcp_authorizer()
    reader, writer = token("orders:read"), token("orders:read orders:write")
    assert allowed(authorizer, mcp_event(reader, name="list_orders"), simple)
    assert not allowed(authorizer, mcp_event(reader, name="create_order"), simple)
    assert allowed(authorizer, mcp_event(writer, name="create_order"), simple)
    assert allowed(authorizer, mcp_event(reader, name="unlisted_tool"), simple)  # no rule: the endpoint's own
    assert not allowed(authorizer, mcp_event(token("profile"), method="tools/list", name=None), simple)
    assert reasons(logs) == ["mcp_name_denied", "mcp_method_denied"]
    denial = [r for r in logs.records() if r.get("message") == "denied"][0]
    assert denial["claim"] == "scope"


def test_a_name_in_the_base64_sentinel_form_is_decoded_before_it_is_compared(mcp_authorizer, token, logs):
    authorizer = mcp_authorizer()
    sentinel = "=?base64?" + base64.b64encode(b"create_order").decode() + "?="
    assert not allowed(authorizer, mcp_event(token("orders:read"), name=sentinel))
    assert encode_value("orders://all") == "orders://all"
    assert not allowed(authorizer, mcp_event(token("profile"), method="resources/read", name="orders://all"))
    assert reasons(logs) == ["mcp_name_denied", "mcp_name_denied"]


@pytest.mark.parametrize("method, name, reason", [
    (None, "list_orders", "mcp_header_missing"),
    ("tools/call", None, "mcp_header_missing"),
    ("tools/invoke", "list_orders", "mcp_method_unknown"),
    ("tools/call,tools/call", "list_orders", "mcp_header_invalid"),  # repeated: API Gateway joins with a comma
    ("tools/call", "x" * 10_000, "mcp_header_invalid"),
    ("tools/call", "list\x00orders", "mcp_header_invalid"),
    ("tools/call", " list_orders", "mcp_header_invalid"),
    ("tools/call", "=?base64?not base64!?=", "mcp_header_invalid"),
    ("tools/call", "list_*", "mcp_header_invalid"),
    ("tools/call", "../create_order", "mcp_header_invalid"),
    ("tools/call", "create_order?", "mcp_header_invalid"),
    ("tools/call", "=?base64?" + base64.b64encode("créer".encode()).decode() + "?=", "mcp_header_invalid"),
])
def test_bad_mcp_headers_are_refused_each_with_a_reason(mcp_authorizer, token, logs, method, name, reason):
    authorizer = mcp_authorizer()
    answer = authorizer.authorize(mcp_event(token("orders:read orders:write"), method=method, name=name))
    assert not iam_allows(answer, MCP_ARN)
    assert reasons(logs) == [reason]
    assert "x" * 100 not in json.dumps(answer) and "\x00" not in json.dumps(answer)  # never in a policy


def test_a_version_header_that_is_no_version_is_refused(mcp_authorizer, token, logs):
    assert not allowed(mcp_authorizer(), mcp_event(token(), version="latest"))
    assert reasons(logs) == ["mcp_header_invalid"]


@pytest.mark.parametrize("version", [None, "2025-11-25", "2025-03-26"])
def test_an_earlier_revisions_client_must_meet_every_rule_whatever_headers_it_sends(mcp_authorizer, token, logs,
                                                                                     version):
    """Its server does not check headers against the body, so none is trusted: leaving them out, or sending ones
    that lie, never widens access."""
    authorizer = mcp_authorizer()
    lying = mcp_event(token("orders:read"), name="list_orders", version=version)  # the body may call create_order
    assert not allowed(authorizer, lying)
    everything = token("orders:read orders:write", tenants={"T1": {"roles": ["admin"]}})
    assert not allowed(authorizer, mcp_event(everything, method=None, name=None, version=version))  # tenant rule
    no_tenant_rule = {"POST /mcp": {"mcp": {**MCP, "tools": {"create_order": ["orders:write"]}}}}
    assert allowed(mcp_authorizer(no_tenant_rule), mcp_event(everything, method=None, name=None, version=version))
    assert reasons(logs) == ["mcp_older_client_denied", "mcp_older_client_denied"]


def test_a_tools_tenant_rule_reads_the_tenant_from_its_mcp_param_header(mcp_authorizer, token, logs):
    authorizer = mcp_authorizer()
    admin_of_t1 = token(tenants={"T1": {"roles": ["admin"]}, "T2": {"roles": ["viewer"]}})
    assert allowed(authorizer, mcp_event(admin_of_t1, name="tenant_report", mcp_param_tenantid="T1"))
    assert not allowed(authorizer, mcp_event(admin_of_t1, name="tenant_report", mcp_param_tenantid="T2"))
    assert not allowed(authorizer, mcp_event(admin_of_t1, name="tenant_report",
                                             mcp_param_tenantid=encode_value("T3 ")))
    assert not allowed(authorizer, mcp_event(admin_of_t1, name="tenant_report"))
    assert reasons(logs) == ["mcp_name_denied"] * 3


def test_claim_rules_decide_per_method_per_tool_and_per_prompt(mcp_authorizer, token, logs):
    """A method's, tool's or prompt's rule may hold claims as a route's does (any of the listed values)."""
    routes = {"POST /mcp": {"mcp": {"resource": RESOURCE,
                                    "methods": {"prompts/list": {"claims": {"plan": ["pro", "team"]}}},
                                    "tools": {"export": {"scopes": ["orders:read"], "claims": {"plan": "team"}}},
                                    "prompts": {"summarize": ["orders:read"], "audit": {"claims": {"role": "auditor"}}}}}}
    authorizer = mcp_authorizer(routes)
    team, pro = token(plan="team"), token(plan="pro")
    assert allowed(authorizer, mcp_event(team, name="export"))
    assert not allowed(authorizer, mcp_event(pro, name="export"))  # the tool's claim rule
    assert not allowed(authorizer, mcp_event(token("profile", plan="team"), name="export"))  # and its scope
    assert allowed(authorizer, mcp_event(pro, method="prompts/list", name=None))
    assert not allowed(authorizer, mcp_event(token(plan="free"), method="prompts/list", name=None))
    assert allowed(authorizer, mcp_event(token(plan="pro"), method="prompts/get", name="summarize"))
    assert not allowed(authorizer, mcp_event(token("profile"), method="prompts/get", name="summarize"))
    assert allowed(authorizer, mcp_event(token(role="auditor"), method="prompts/get", name="audit"))
    assert not allowed(authorizer, mcp_event(token(role="viewer"), method="prompts/get", name="audit"))
    # A prompt's rule is the prompt's: a tool of the same name is not held to it.
    assert allowed(authorizer, mcp_event(token(role="viewer"), method="tools/call", name="audit"))
    assert reasons(logs) == ["mcp_name_denied", "mcp_name_denied", "mcp_method_denied", "mcp_name_denied",
                             "mcp_name_denied"]
    claims_named = [r.get("claim") for r in logs.records() if r.get("message") == "denied"]
    assert claims_named == ["plan", "scope", "plan", "scope", "role"]


def test_a_name_decides_only_when_it_is_exactly_the_rules(mcp_authorizer, token, logs):
    """Compared exactly: no case folding or Unicode normalization gives one name another's rule, nor takes it away
    (a name the server does not have is its to refuse, and a header that differs from the body is its 400)."""
    authorizer = mcp_authorizer({"POST /mcp": {"mcp": {**MCP, "tools": {"Create_Order": ["orders:admin"],
                                                                        "create_order": ["orders:write"]}}}})
    writer = token("orders:read orders:write")
    assert allowed(authorizer, mcp_event(writer, name="create_order"))
    assert not allowed(authorizer, mcp_event(writer, name="Create_Order"))
    assert not allowed(authorizer, mcp_event(writer, name=encode_value("Create_Order")))
    assert reasons(logs) == ["mcp_name_denied", "mcp_name_denied"]


def test_the_denied_log_line_names_the_route_and_the_rule_it_missed_never_the_token(mcp_authorizer, token, logs):
    reader = token("orders:read")
    assert not allowed(mcp_authorizer(), mcp_event(reader, name="create_order"))
    [denial] = [r for r in logs.records() if r.get("message") == "denied"]
    assert (denial["reason"], denial["route"], denial["claim"]) == ("mcp_name_denied", "POST /mcp", "scope")
    assert "create_order" in denial["detail"]
    assert reader not in json.dumps(logs.records())


# --- never reused across tools -------------------------------------------------------------------------------------
@pytest.mark.parametrize("simple", [False, True])
def test_an_answer_decided_on_the_headers_is_refused_unless_it_cannot_be_reused_for_others(mcp_authorizer, token,
                                                                                          logs, simple):
    authorizer = mcp_authorizer(AUTH_RESPONSE="simple") if simple else mcp_authorizer()
    reader = token("orders:read")
    assert not allowed(authorizer, mcp_event(reader, per="route"), simple)  # reused on any tool of the route
    assert not allowed(authorizer, mcp_event(reader, per="shared"), simple)
    assert allowed(authorizer, mcp_event(reader, per="request"), simple)  # never reused
    assert allowed(authorizer, mcp_event(reader, per="headers"), simple)  # reused only with the same headers
    assert reasons(logs) == ["cache_key_too_wide", "cache_key_too_wide"]


# --- configuration -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mcp, field, words", [
    ({"tools": {}}, ".mcp.resource", "is required"),
    ({"resource": "http://api.example.com/mcp"}, ".mcp.resource", "https"),
    ({"resource": "https://api.example.com/mcp#x"}, ".mcp.resource", "fragment"),
    ({"resource": RESOURCE, "methods": {"tools/invoke": []}}, ".mcp.methods['tools/invoke']", "not a method"),
    ({"resource": RESOURCE, "tools": {"a/b": []}}, ".mcp.tools['a/b']", "tool or prompt name"),
    ({"resource": RESOURCE, "tools": {"t": "orders:read"}}, ".mcp.tools['t']", "must be a list"),
    ({"resource": RESOURCE, "tools": {"t": {"tenant": {"param": "a b"}}}}, ".mcp.tools['t'].tenant.param", "token"),
    ({"resource": RESOURCE, "prompts": {"p": {"tenant": {"param": "x"}}}}, ".mcp.prompts['p'].tenant", "known"),
    ({"resource": RESOURCE, "serverUrl": "x"}, ".mcp.serverUrl", "not a known field"),
])
def test_a_bad_mcp_rule_is_a_configuration_error_naming_its_field(mcp, field, words):
    with pytest.raises(ConfigError) as failure:
        parse_routes({"POST /mcp": {"mcp": mcp}})
    assert failure.value.field == "AUTH_ROUTES['POST /mcp']" + field and words in failure.value.problem


def test_an_mcp_endpoint_is_a_post_route():
    with pytest.raises(ConfigError, match="POST"):
        parse_routes({"GET /mcp": {"mcp": {"resource": RESOURCE}}})


def test_the_metadata_never_names_an_issuer_the_configuration_does_not_trust(idp):
    issuers = json.dumps([{"issuer": idp, "audience": "api"}])
    config = load_config({"AUTH_ISSUERS": issuers, "AUTH_ROUTES": json.dumps(ROUTES)})
    assert config.routes["POST /mcp"].mcp.authorization_servers == (idp,)  # by default, the configured issuers
    assert config.issuers[0].resource_audiences == (RESOURCE,)
    foreign = {"POST /mcp": {"mcp": {**MCP, "authorization_servers": ["https://evil.example.com"]}}}
    with pytest.raises(ConfigError) as failure:
        load_config({"AUTH_ISSUERS": issuers, "AUTH_ROUTES": json.dumps(foreign)})
    assert failure.value.field == "routes['POST /mcp'].mcp.authorization_servers[0]"


def test_descopes_agentic_issuer_serves_an_mcp_server_whose_url_is_the_audience(make_authorizer, server, keys, logs):
    """Descope's Agentic Identity Hub: iss .../v1/apps/agentic/<project>/<server-id>, aud the MCP server's URL."""
    project = "P2mcp"
    base = server.root + "/descope"
    server.put(f"/descope/v2/keys/{project}", {"keys": [keys["ES256"].public_jwk]})
    agentic = f"{base}/v1/apps/agentic/{project}/MS2orders"
    routes = {"POST /mcp": {"mcp": {**MCP, "authorization_servers": [agentic]}}}
    authorizer = make_authorizer(issuers=[{"provider": "descope", "project_id": project, "base_url": base}],
                                 routes=routes)
    agentic_token = keys["ES256"].sign({**claims_for(agentic, audience=RESOURCE, scope="orders:read"),
                                        "azp": "mcp-client"})
    assert allowed(authorizer, mcp_event(agentic_token))
    other_server = keys["ES256"].sign(claims_for(f"{base}/v1/apps/agentic/{project}/MS2other", audience=RESOURCE,
                                                 scope="orders:read"))
    assert not allowed(authorizer, mcp_event(other_server))  # the project trusts it, the resource does not
    assert reasons(logs) == ["resource_issuer_mismatch"]
