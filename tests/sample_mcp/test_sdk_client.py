"""The official MCP Python SDK client against the sample MCP server, through the local stack: the synthesized
template served by the local API Gateway (routes, a Lambda authorizer, payload 2.0 events) and the server's real
Lambda handler in a warm worker process, all on 127.0.0.1. No mocks. Raw HTTP where the SDK client would not send
what is being tested (a mismatching header, GET, a foreign Origin) or to read what it hides (status and challenge)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
import requests
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from local.apigateway.service import LocalHttpApi
from tests.sample_mcp.stack import ALLOWED_ORIGIN, MCP_PATH, STACK, synthesize

pytestmark = pytest.mark.slow

VERSION = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": {}}
ACCEPT = "application/json, text/event-stream"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHttpApi]:
    outdir = synthesize(tmp_path_factory.mktemp("sample-mcp") / "cdk.out")
    served = LocalHttpApi.from_assembly(outdir, STACK, log_sink=tmp_path_factory.mktemp("logs") / "functions.log",
                                        concurrency=1)
    served.start()
    yield served
    served.close()


@dataclass
class Wire:
    """What went over HTTP: each request's method and headers, and each response's status and headers."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    responses: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    async def on_request(self, request: httpx2.Request) -> None:
        self.requests.append((request.method, {k.lower(): v for k, v in request.headers.items()}))

    async def on_response(self, response: httpx2.Response) -> None:
        self.responses.append((response.status_code, {k.lower(): v for k, v in response.headers.items()}))

    def posted(self, header: str) -> list[str | None]:
        return [headers.get(header) for method, headers in self.requests if method == "POST"]


def with_sdk(api: LocalHttpApi, bearer: str, work, *, mode: str = "auto") -> tuple[Any, Wire]:
    """Run ``work(client)`` with an SDK client connected as the caller ``bearer`` names; (its result, the wire)."""
    wire = Wire()

    async def run() -> Any:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, trust_env=False, timeout=30,
                                  event_hooks={"request": [wire.on_request], "response": [wire.on_response]})
        async with http, Client(streamable_http_client(api.url + MCP_PATH, http_client=http), mode=mode) as client:
            return await work(client)

    return asyncio.run(run()), wire


def post(api: LocalHttpApi, body: Any, headers: dict[str, str], path: str = MCP_PATH) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return session.post(api.url + path, data=data, timeout=30,
                            headers={"Content-Type": "application/json", "Accept": ACCEPT, **headers})


def tools_call(name: str, arguments: dict[str, Any], id: int = 7) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": META}}


def modern_headers(method: str, name: str | None = None, bearer: str = "reader-1;orders:read") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {bearer}", "MCP-Protocol-Version": VERSION, "Mcp-Method": method}
    return {**headers, "Mcp-Name": name} if name else headers


# --- the official client, 2026-07-28 ---------------------------------------------------------------------------


def test_sdk_client_connects_statelessly_and_lists_both_tools(api):
    async def work(client):
        return client.protocol_version, await client.list_tools()

    (version, listed), wire = with_sdk(api, "reader-1;orders:read", work)
    assert version == VERSION
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == {"list_orders", "create_order"}
    assert tools["create_order"].input_schema["properties"]["warehouse"]["x-mcp-header"] == "Warehouse"
    assert all(headers.get("mcp-session-id") is None for _, headers in wire.responses)  # no session minted
    assert "tools/list" in wire.posted("mcp-method")


def test_sdk_client_calls_list_orders_with_orders_read_and_the_answer_names_the_caller(api):
    result, wire = with_sdk(api, "reader-1;orders:read", lambda client: client.call_tool("list_orders", {}))
    assert not result.is_error
    assert result.structured_content["caller"] == {"principal": "reader-1", "client": "test-client",
                                                   "authorizer": "lambda", "scopes": ["orders:read"]}
    assert result.structured_content["orders"] == []
    calls = [h for m, h in wire.requests if m == "POST" and h.get("mcp-method") == "tools/call"]
    assert [(h["mcp-name"], h["mcp-protocol-version"]) for h in calls] == [("list_orders", VERSION)]


def test_sdk_client_creates_an_order_with_orders_write_mirroring_a_non_ascii_warehouse(api):
    async def work(client):
        created = await client.call_tool("create_order", {"item": "widget", "quantity": 3, "warehouse": "東京 1"})
        listed = await client.call_tool("list_orders", {})
        return created, listed

    (created, listed), wire = with_sdk(api, "writer-1;orders:read+orders:write", work)
    assert not created.is_error, created.content
    order = created.structured_content["order"]
    assert (order["item"], order["quantity"], order["warehouse"], order["owner"]) == ("widget", 3, "東京 1", "writer-1")
    # The SDK mirrored the argument in the sentinel form, and the server checked it against the body.
    sentinel = "=?base64?" + base64.b64encode("東京 1".encode()).decode() + "?="
    assert sentinel in wire.posted("mcp-param-warehouse")
    assert order in listed.structured_content["orders"]  # the same warm execution environment answered both


def test_sdk_client_without_orders_write_is_refused_with_the_step_up_challenge(api):
    async def work(client):
        try:
            await client.call_tool("create_order", {"item": "x", "quantity": 1})
        except MCPError as error:
            return error
        return None

    refused, wire = with_sdk(api, "reader-2;orders:read", work)
    # Without an OAuth provider the SDK reports the status; with one, it steps up from the challenge below.
    assert isinstance(refused, MCPError) and refused.error.message == "Server returned an error response"
    [(status, headers)] = [(s, h) for s, h in wire.responses if s != 200]
    assert status == 403
    challenge = headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope", scope="orders:write", resource_metadata="')
    assert f'/.well-known/oauth-protected-resource{MCP_PATH}"' in challenge


def test_a_scope_list_from_the_authorizer_counts_like_a_scope_string(api):
    result, _ = with_sdk(api, "writer-2;orders:write;list", lambda client: client.call_tool(
        "create_order", {"item": "gear", "quantity": 1}))
    assert not result.is_error and result.structured_content["caller"]["scopes"] == ["orders:write"]


def test_sdk_client_in_legacy_mode_initializes_and_calls_like_a_2025_11_25_client(api):
    async def work(client):
        return client.protocol_version, await client.call_tool("list_orders", {})

    (version, result), wire = with_sdk(api, "reader-3;orders:read", work, mode="legacy")
    assert version == "2025-11-25"
    assert result.structured_content["caller"]["principal"] == "reader-3"
    # Like the TypeScript SDK 1.x: initialize without any MCP header, then only the version, no Mcp-Method/Mcp-Name.
    sent = [{k: v for k, v in headers.items() if k.startswith("mcp-")} for method, headers in wire.requests]
    assert sent[0] == {} and sent[1:] and all(h == {"mcp-protocol-version": "2025-11-25"} for h in sent[1:])
    assert all(headers.get("mcp-session-id") is None for _, headers in wire.responses)


# --- what the SDK client would not send ---------------------------------------------------------------------------


def test_a_header_that_disagrees_with_the_body_is_refused_with_400_and_header_mismatch(api):
    response = post(api, tools_call("create_order", {"item": "x", "quantity": 1}, id=41),
                    modern_headers("tools/call", "list_orders", "writer-3;orders:read+orders:write"))
    assert response.status_code == 400
    assert response.json() == {"jsonrpc": "2.0", "id": 41, "error": {
        "code": -32020,
        "message": "Header mismatch: Mcp-Name header value 'list_orders' does not match body value 'create_order'",
        "data": {"header": "Mcp-Name", "reason": "mismatch"}}}


def test_a_missing_mcp_method_header_is_refused_before_the_scope_is_looked_at(api):
    headers = modern_headers("tools/call", "create_order", "reader-4;orders:read")
    del headers["Mcp-Method"]
    response = post(api, tools_call("create_order", {"item": "x", "quantity": 1}), headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == -32020


def test_a_mirrored_parameter_that_disagrees_is_refused(api):
    headers = {**modern_headers("tools/call", "create_order", "writer-4;orders:write"), "Mcp-Param-Warehouse": "A"}
    response = post(api, tools_call("create_order", {"item": "x", "quantity": 1, "warehouse": "B"}), headers)
    assert response.status_code == 400
    assert response.json()["error"]["data"] == {"header": "Mcp-Param-Warehouse", "reason": "mismatch"}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_are_405_with_allow_post(api, method):
    with requests.Session() as session:
        session.trust_env = False
        response = session.request(method, api.url + MCP_PATH, timeout=30,
                                   headers={"Authorization": "Bearer reader-5;orders:read", "Accept": ACCEPT,
                                            "Mcp-Session-Id": "from-an-older-client"})
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert "Mcp-Session-Id" not in response.headers


def test_a_foreign_origin_is_refused_and_an_allowed_one_is_served(api):
    body = tools_call("list_orders", {})
    foreign = post(api, body, {**modern_headers("tools/call", "list_orders"), "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"]["message"] == "Origin not allowed"
    allowed = post(api, body, {**modern_headers("tools/call", "list_orders"), "Origin": ALLOWED_ORIGIN})
    assert allowed.status_code == 200 and allowed.json()["result"]["structuredContent"]["caller"]["principal"]


def test_a_body_that_is_not_json_is_a_parse_error(api):
    response = post(api, "{not json", modern_headers("tools/call", "list_orders"))
    assert response.status_code == 400
    assert response.json() == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}


def test_a_route_left_without_an_authorizer_gets_the_bearer_challenge(api):
    response = post(api, tools_call("list_orders", {}), modern_headers("tools/call", "list_orders"), "/public-mcp")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer resource_metadata="')


def test_a_2025_11_25_client_without_any_mcp_header_is_served_as_the_typescript_1x_sdk_talks(api):
    """The exchange ``@modelcontextprotocol/sdk`` 1.32 makes: initialize without MCP-Protocol-Version, then every
    request with ``MCP-Protocol-Version: 2025-11-25`` and no ``Mcp-Method``/``Mcp-Name``, and a GET for the
    standalone SSE stream (a 405 tells it there is none, which it accepts)."""
    auth = {"Authorization": "Bearer reader-6;orders:read"}
    initialize = post(api, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "ts-1.x", "version": "1.32.2"}}},
        auth)
    assert initialize.status_code == 200 and initialize.json()["result"]["protocolVersion"] == "2025-11-25"
    assert "Mcp-Session-Id" not in initialize.headers
    legacy = {**auth, "MCP-Protocol-Version": "2025-11-25"}
    assert post(api, {"jsonrpc": "2.0", "method": "notifications/initialized"}, legacy).status_code == 202
    listed = post(api, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, legacy)
    assert {t["name"] for t in listed.json()["result"]["tools"]} == {"list_orders", "create_order"}
    called = post(api, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                        "params": {"name": "list_orders", "arguments": {}}}, legacy)
    assert called.status_code == 200 and called.json()["result"]["structuredContent"]["caller"]["principal"] == "reader-6"
    refused = post(api, {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                         "params": {"name": "create_order", "arguments": {"item": "x", "quantity": 1}}}, legacy)
    assert refused.status_code == 403  # the scope is judged from the body, headers or not


def test_every_call_was_answered_by_warm_environments_without_a_second_cold_start(api):
    for n in range(11):  # its own calls, so that it holds run alone as after the module's others
        answered = post(api, tools_call("list_orders", {}, id=n), modern_headers("tools/call", "list_orders"))
        assert answered.status_code == 200, answered.text
    stats = {name: s for name, s in api.function_stats().items() if "SampleMcpServer" in name}
    (server,) = stats.values()
    assert server["invocations"] > 10 and server["cold_starts"] == 1
