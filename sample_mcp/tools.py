"""The sample MCP server's tools, on the official SDK's low-level ``Server``: who may call which, and what they do.

=================  ===============  ==========================================================================
tool               scope            what it answers
=================  ===============  ==========================================================================
``list_orders``    ``orders:read``  the caller's orders (created in this execution environment), and who called
``create_order``   ``orders:write`` a new order for the caller; its ``warehouse`` argument is mirrored into the
                                    ``Mcp-Param-Warehouse`` header (``x-mcp-header``), which the server checks
=================  ===============  ==========================================================================

The caller is the one the authorizer established (``requestContext.authorizer`` of the API Gateway event, read by
``sample_backend.handler.caller_from``: the same reading as the sample backend's); every answer says who called.
Orders live in this execution environment's memory only: a sample, not a store.

    >>> sorted(TOOL_SCOPES.items())
    [('create_order', 'orders:write'), ('list_orders', 'orders:read')]
    >>> sorted(caller_scopes(caller_from({"lambda": {"sub": "u1", "scope": "orders:read orders:write"}})))
    ['orders:read', 'orders:write']
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from authorizer.mcp_headers import param_headers_of
from sample_backend.handler import Caller, caller_from

SERVER_NAME = "orders-mcp"
#: Tool → the scope a caller needs for it (any-of is not needed here: one scope each).
TOOL_SCOPES = {"list_orders": "orders:read", "create_order": "orders:write"}
MAX_ITEM_LENGTH = 200
MAX_QUANTITY = 1000

TOOLS = [
    types.Tool(
        name="list_orders",
        description="The caller's orders. Needs the scope orders:read.",
        input_schema={"type": "object", "properties": {}, "additionalProperties": False},
    ),
    types.Tool(
        name="create_order",
        description="Create an order for the caller. Needs the scope orders:write.",
        input_schema={
            "type": "object",
            "properties": {
                "item": {"type": "string", "minLength": 1, "maxLength": MAX_ITEM_LENGTH},
                "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
                "warehouse": {"type": "string", "x-mcp-header": "Warehouse",
                              "description": "mirrored into the Mcp-Param-Warehouse header"},
            },
            "required": ["item", "quantity"],
            "additionalProperties": False,
        },
    ),
]
#: ``tool_param_headers`` for ``authorizer.mcp_headers.header_mismatch``, from the tools' own schemas.
PARAM_HEADERS = param_headers_of(tool.model_dump(by_alias=True) for tool in TOOLS)
_SCHEMAS = {tool.name: tool.input_schema for tool in TOOLS}

#: principal → orders, for this execution environment's lifetime.
ORDERS: dict[str, list[dict[str, Any]]] = {}


def caller_scopes(caller: Caller) -> frozenset[str]:
    """The scopes the authorizer gave: ``scope`` (a space-separated string, RFC 6749 §3.3, or a list) and ``scp``
    (Entra's) from a Lambda authorizer's context, or the native JWT authorizer's ``scopes``."""
    found: set[str] = set(caller.scopes or ())
    for claim in ("scope", "scp"):
        value = caller.claims.get(claim)
        if isinstance(value, str):
            found.update(part for part in value.split(" ") if part)
        elif isinstance(value, list):
            found.update(part for part in value if isinstance(part, str))
    return frozenset(found)


def request_caller(ctx: ServerRequestContext[Any, Any]) -> Caller:
    """The caller of the request being served, from the API Gateway event the Lambda adapter put in the ASGI scope."""
    scope = getattr(ctx.request, "scope", None) or {}
    event = scope.get("aws.event") or {}
    return caller_from((event.get("requestContext") or {}).get("authorizer"))


def caller_summary(caller: Caller) -> dict[str, Any]:
    """Who called, as the answers show it (never the token: the authorizer's context holds claims, not tokens)."""
    client = caller.claims.get("azp") or caller.claims.get("client_id")
    return {"principal": caller.principal, "client": client, "authorizer": caller.authorizer,
            "scopes": sorted(caller_scopes(caller))}


async def list_tools(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None,
                     ) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    caller = request_caller(ctx)
    arguments = params.arguments or {}
    if params.name == "list_orders":
        return _result({"caller": caller_summary(caller), "orders": ORDERS.get(caller.principal or "", [])})
    if params.name == "create_order":
        problem = _order_problem(arguments)
        if problem is not None:
            return _error(problem)
        order = {"id": uuid.uuid4().hex, "item": arguments["item"], "quantity": arguments["quantity"],
                 "warehouse": arguments.get("warehouse"), "owner": caller.principal}
        ORDERS.setdefault(caller.principal or "", []).append(order)
        return _result({"caller": caller_summary(caller), "order": order})
    return _error(f"unknown tool {params.name!r}")


def input_schema(name: str) -> dict[str, Any] | None:
    """A tool's input schema (the SDK checks ``Mcp-Param-*`` headers against it too)."""
    return _SCHEMAS.get(name)


def build_server() -> Server[Any]:
    """The SDK server with these tools (tools only: no resources or prompts)."""
    return Server(SERVER_NAME, version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool,
                  get_tool_input_schema=input_schema)


def _order_problem(arguments: dict[str, Any]) -> str | None:
    unknown = set(arguments) - {"item", "quantity", "warehouse"}
    item, quantity, warehouse = arguments.get("item"), arguments.get("quantity"), arguments.get("warehouse")
    if unknown:
        return f"unknown arguments: {', '.join(sorted(unknown))}"
    if not isinstance(item, str) or not 1 <= len(item) <= MAX_ITEM_LENGTH:
        return f"item must be a string of 1 to {MAX_ITEM_LENGTH} characters"
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        return f"quantity must be a whole number from 1 to {MAX_QUANTITY}"
    if warehouse is not None and not isinstance(warehouse, str):
        return "warehouse must be a string"
    return None


def _result(content: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(content))],
                                structured_content=content)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)
