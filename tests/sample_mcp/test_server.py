"""The sample MCP server's Lambda handler, invoked in this process as Lambda invokes it (one payload 2.0 event per
call, many calls on one warm module): the SDK's own answers where the request reaches it, clear refusals where it
must not, and — for any event at all — an answer, never an exception or a 500."""

from __future__ import annotations

import asyncio
import base64
import doctest
import json
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sample_mcp import admission, server, tools
from sample_mcp.server import Settings, handler

VERSION = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": {}}


def event(body: Any = None, headers: dict[str, str] | None = None, *, method: str = "POST",
          claims: dict[str, Any] | None = None, raw_body: str | None = None, base64_body: bool = False,
          ) -> dict[str, Any]:
    text = raw_body if raw_body is not None else json.dumps(body)
    if base64_body:
        text = base64.b64encode(text.encode()).decode()
    authorizer = {"lambda": claims if claims is not None else {"sub": "u1", "scope": "orders:read"}}
    return {
        "version": "2.0", "routeKey": "ANY /mcp", "rawPath": "/mcp", "rawQueryString": "",
        "headers": {"content-type": "application/json", "accept": "application/json, text/event-stream",
                    "host": "abc123.execute-api.eu-west-1.amazonaws.com", "authorization": "Bearer secret-token",
                    **(headers or {})},
        "requestContext": {"http": {"method": method, "path": "/mcp", "sourceIp": "192.0.2.1", "protocol": "HTTP/1.1",
                                    "userAgent": "test"},
                           "domainName": "abc123.execute-api.eu-west-1.amazonaws.com", "requestId": "r1",
                           "routeKey": "ANY /mcp", "stage": "$default", "authorizer": authorizer},
        "body": text, "isBase64Encoded": base64_body,
    }


def request(method: str, params: dict[str, Any] | None = None, id: int | None = 1) -> tuple[dict, dict]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": {**(params or {}), "_meta": META}}
    if id is not None:
        body["id"] = id
    headers = {"mcp-protocol-version": VERSION, "mcp-method": method}
    if method == "tools/call":
        headers["mcp-name"] = body["params"]["name"]
    return body, headers


def answer(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def test_the_modules_docstring_examples_hold():
    for module in (admission, tools):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_warm_invocations_reuse_one_loop_and_leave_nothing_running():
    body, headers = request("tools/call", {"name": "list_orders", "arguments": {}})
    threads = threading.active_count()
    for n in range(25):
        response = handler(event({**body, "id": n}, headers), None)
        assert response["statusCode"] == 200 and answer(response)["id"] == n
        loop = asyncio.get_event_loop()
        assert not [task for task in asyncio.all_tasks(loop) if not task.done()]
    assert threading.active_count() == threads


def test_an_asyncio_run_elsewhere_in_the_process_leaves_the_handler_working():
    async def nothing() -> None:
        return None

    asyncio.run(nothing())  # ends by unsetting asyncio's current loop in this thread
    body, headers = request("tools/call", {"name": "list_orders", "arguments": {}})
    response = handler(event({**body, "id": 7}, headers), None)
    assert response["statusCode"] == 200 and answer(response)["id"] == 7


def test_the_sdk_answers_an_unknown_method_with_404_and_method_not_found():
    body, headers = request("resources/list")  # the server has tools only
    response = handler(event(body, headers), None)
    assert response["statusCode"] == 404 and answer(response)["error"]["code"] == -32601


def test_an_unsupported_protocol_version_is_the_sdks_400_listing_what_it_supports():
    body, headers = request("tools/list")
    body["params"]["_meta"] = {**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
    response = handler(event(body, {**headers, "mcp-protocol-version": "2099-01-01"}), None)
    assert response["statusCode"] == 400
    error = answer(response)["error"]
    assert error["code"] == -32022 and VERSION in error["data"]["supported"]


def test_a_modern_notification_is_accepted_with_202():
    body, headers = request("notifications/cancelled", {"requestId": 3}, id=None)
    assert handler(event(body, headers), None)["statusCode"] == 202


def test_invalid_arguments_are_a_tool_error_not_a_crash():
    body, headers = request("tools/call", {"name": "create_order", "arguments": {"item": "", "quantity": True}})
    response = handler(event(body, headers, claims={"sub": "w", "scope": "orders:write"}), None)
    assert response["statusCode"] == 200
    result = answer(response)["result"]
    assert result["isError"] is True and "item must be" in result["content"][0]["text"]


def test_a_base64_body_is_read_and_one_that_does_not_decode_is_a_parse_error():
    body, headers = request("tools/list")
    assert handler(event(body, headers, base64_body=True), None)["statusCode"] == 200
    broken = handler(event(headers=headers, raw_body="***", base64_body=False) | {"isBase64Encoded": True}, None)
    assert broken["statusCode"] == 400 and answer(broken)["error"]["code"] == -32700


def test_absurdly_nested_json_is_a_parse_error():
    response = handler(event(raw_body="[" * 100_000 + "]" * 100_000, headers=request("tools/list")[1]), None)
    assert response["statusCode"] == 400 and answer(response)["error"]["code"] == -32700


def test_an_event_that_is_not_payload_2_0_is_refused_with_400():
    assert handler({"httpMethod": "POST", "path": "/mcp"}, None)["statusCode"] == 400
    assert handler({"requestContext": "x"}, None)["statusCode"] == 400


@pytest.mark.parametrize("hostile", [{"host": "a:b:c"}, {"host": "a:port"}, {"x-forwarded-port": "not-a-port"}])
def test_a_malformed_host_or_forwarded_port_never_reaches_the_adapter(hostile):
    body, headers = request("tools/list")
    assert handler(event(body, {**headers, **hostile}), None)["statusCode"] == 200


def test_credentials_are_removed_before_the_sdk_sees_the_request():
    original = event(*request("tools/list"))
    original["headers"]["cookie"] = "session=abc"
    original["cookies"] = ["session=abc"]
    headers = {k.lower(): v for k, v in original["headers"].items()}
    given_to_sdk = server._for_sdk(original, headers, original["requestContext"])
    assert "authorization" not in given_to_sdk["headers"] and "cookie" not in given_to_sdk["headers"]
    assert given_to_sdk["cookies"] == [] and "secret-token" not in json.dumps(given_to_sdk)
    assert original["headers"]["authorization"] == "Bearer secret-token"  # the event itself is left as it was


def test_the_challenge_names_the_configured_metadata_url_or_the_one_on_the_apis_domain(monkeypatch):
    body, headers = request("tools/call", {"name": "create_order", "arguments": {"item": "x", "quantity": 1}})
    derived = handler(event(body, headers), None)["headers"]["WWW-Authenticate"]
    assert ('resource_metadata="https://abc123.execute-api.eu-west-1.amazonaws.com'
            '/.well-known/oauth-protected-resource/mcp"') in derived
    monkeypatch.setattr(server, "SETTINGS", Settings(frozenset(), "https://mcp.example.com/.well-known/x"))
    configured = handler(event(body, headers), None)["headers"]["WWW-Authenticate"]
    assert 'resource_metadata="https://mcp.example.com/.well-known/x"' in configured


@pytest.mark.parametrize(("forwarded", "scheme"), [("https", "https"), ("http", "http"), (None, "https"),
                                                   ("gopher", "https")])
def test_the_derived_metadata_url_keeps_the_scheme_the_client_used(forwarded, scheme):
    """The local stack serves plain HTTP and says so in X-Forwarded-Proto, as API Gateway says https: a challenge
    naming https there sent the TypeScript SDK's step-up to a TLS handshake with an HTTP server."""
    body, headers = request("tools/call", {"name": "create_order", "arguments": {"item": "x", "quantity": 1}})
    if forwarded is not None:
        headers["x-forwarded-proto"] = forwarded
    challenge = handler(event(body, headers), None)["headers"]["WWW-Authenticate"]
    assert (f'resource_metadata="{scheme}://abc123.execute-api.eu-west-1.amazonaws.com'
            '/.well-known/oauth-protected-resource/mcp"') in challenge


@pytest.mark.parametrize(("raw", "origins"), [
    ("", set()), ('["https://a.example", "https://b.example"]', {"https://a.example", "https://b.example"}),
    ("https://a.example, https://b.example", {"https://a.example", "https://b.example"}),
])
def test_allowed_origins_are_read_as_a_json_list_or_comma_separated(raw, origins):
    assert Settings.from_environment({"MCP_ALLOWED_ORIGINS": raw}).allowed_origins == origins


@pytest.mark.parametrize("raw", ['["https://a.example"', '[1, 2]'])
def test_malformed_allowed_origins_fail_the_cold_start_naming_the_variable(raw):
    with pytest.raises(ValueError, match="MCP_ALLOWED_ORIGINS"):
        Settings.from_environment({"MCP_ALLOWED_ORIGINS": raw})


# Any event API Gateway could deliver to the route: the answer is always an HTTP answer the spec names, never a 500.
header_names = st.sampled_from(["mcp-protocol-version", "mcp-method", "mcp-name", "mcp-param-warehouse", "origin",
                                "host", "x-forwarded-port", "content-type", "accept"])
header_values = st.sampled_from([VERSION, "2025-11-25", "tools/call", "tools/list", "list_orders", "create_order",
                                 "=?base64?YQ==?=", "=?base64?%%?=", "a:b:c", "", "application/json"]) | st.text(max_size=30)
bodies = st.one_of(
    st.builds(lambda m, n, a: request(m, {"name": n, "arguments": a})[0],
              st.sampled_from(["tools/call", "tools/list", "server/discover", "initialize", "resources/read"]),
              st.sampled_from(["list_orders", "create_order", "nope"]) | st.text(max_size=10),
              st.dictionaries(st.sampled_from(["item", "quantity", "warehouse", "x"]),
                              st.none() | st.integers() | st.text(max_size=10) | st.booleans(), max_size=4)),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                 lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                 max_leaves=10),
)


@st.composite
def events(draw):
    """Either a conforming request (so the SDK answers) with some headers added or replaced, or anything at all."""
    extra = draw(st.dictionaries(header_names, header_values, max_size=3))
    if draw(st.booleans()):
        method = draw(st.sampled_from(["tools/call", "tools/list", "server/discover", "prompts/get"]))
        params = {"name": draw(st.sampled_from(["list_orders", "create_order", "nope"]) | st.text(max_size=10)),
                  "arguments": draw(st.dictionaries(st.sampled_from(["item", "quantity", "warehouse", "x"]),
                                                    st.none() | st.integers() | st.text(max_size=10) | st.booleans(),
                                                    max_size=4))}
        body, headers = request(method, params, id=draw(st.integers(0, 5)))
        headers = {**headers, **(extra if draw(st.booleans()) else {})}
    else:
        body, headers = draw(bodies), extra
    return body, headers


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(), st.sampled_from(["POST", "POST", "POST", "GET", "DELETE", "PUT"]),
       st.sampled_from([{"sub": "u", "scope": "orders:read orders:write"}, {"sub": "u"}, {"sub": "u", "scope": 5}]))
def test_any_event_gets_an_answer_and_never_a_500(body_and_headers, method, claims):
    body, headers = body_and_headers
    response = handler(event(body, {"accept": "application/json, text/event-stream", **headers}, method=method,
                             claims=claims), None)
    assert response["statusCode"] in {200, 202, 400, 401, 403, 404, 405, 406}, response
    json.dumps(response)  # what the Lambda runtime serializes
