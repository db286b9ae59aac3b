"""The MCP header/body agreement check (``authorizer.mcp_headers.header_mismatch``), held to the 2026-07-28
Streamable HTTP "Server Validation" rules: every mismatch kind, the Base64 sentinel, hostile values as API Gateway
would deliver them, the protocol eras, and — as properties — the encode/decode round trip, totality over any input,
and agreement with the official Python SDK's own server-side validation on what it validates."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.shared.inbound import (
    classify_inbound_request,
    encode_header_value,
    mcp_param_headers,
    validate_mcp_param_headers,
    x_mcp_header_map,
)
from mcp_types.jsonrpc import HEADER_MISMATCH as SDK_HEADER_MISMATCH

from authorizer.mcp_headers import (
    DUPLICATED,
    HEADER_MISMATCH,
    INVALID,
    MAX_VALUE_LENGTH,
    MISMATCH,
    MISSING,
    TOO_LONG,
    UNDECODABLE,
    HeaderMismatch,
    decode_value,
    encode_value,
    header_mismatch,
    header_mismatch_error,
    param_headers_of,
    request_id,
)

VERSION = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": {}}
SQL_TOOL = {"name": "execute_sql", "inputSchema": {"type": "object", "properties": {
    "region": {"type": "string", "x-mcp-header": "Region"},
    "limit": {"type": "integer", "x-mcp-header": "Limit"},
    "dry_run": {"type": "boolean", "x-mcp-header": "Dry-Run"},
    "target": {"type": "object", "properties": {"shard": {"type": "string", "x-mcp-header": "Shard"}}},
    "query": {"type": "string"},
}}}
PARAMS = param_headers_of([SQL_TOOL])


def call(name="list_orders", arguments=None, *, id=1, version=VERSION):
    meta = {**META, "io.modelcontextprotocol/protocolVersion": version}
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments or {}, "_meta": meta}}


def headers_for(body, **extra):
    """What a conforming 2026-07-28 client sends for ``body`` (API Gateway's lower-cased names)."""
    params = body.get("params", {})
    headers = {"mcp-protocol-version": params["_meta"]["io.modelcontextprotocol/protocolVersion"],
               "mcp-method": body["method"]}
    named = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}.get(body["method"])
    if named:
        headers["mcp-name"] = encode_value(params[named])
    return {**headers, **extra}


def check(headers, body, tools=PARAMS):
    return header_mismatch(headers, body, tools)


# --- agreement ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    call(),
    {"jsonrpc": "2.0", "id": "a", "method": "tools/list", "params": {"_meta": META}},
    {"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": "file:///x/config.json", "_meta": META}},
    {"jsonrpc": "2.0", "id": 3, "method": "prompts/get", "params": {"name": "summarize", "_meta": META}},
    {"jsonrpc": "2.0", "id": 4, "method": "server/discover", "params": {"_meta": META}},
])
def test_headers_a_conforming_client_sends_agree_with_the_body(body):
    assert check(headers_for(body), body) is None


def test_header_names_are_matched_in_any_case():
    body = call()
    headers = {"MCP-Protocol-Version": VERSION, "Mcp-Method": "tools/call", "MCP-NAME": "list_orders"}
    assert check(headers, body) is None


def test_the_spec_example_with_a_mirrored_parameter_agrees():
    body = call("execute_sql", {"region": "us-west1", "query": "SELECT * FROM users"})
    assert check(headers_for(body, **{"Mcp-Param-Region": "us-west1"}), body) is None


# --- each kind of mismatch ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dropped", "header", "expected"), [
    ("mcp-protocol-version", "MCP-Protocol-Version", VERSION),
    ("mcp-method", "Mcp-Method", "tools/call"),
    ("mcp-name", "Mcp-Name", "list_orders"),
])
def test_a_required_header_that_is_missing_is_a_mismatch(dropped, header, expected):
    body = call()
    headers = headers_for(body)
    del headers[dropped]
    assert check(headers, body) == HeaderMismatch(header, MISSING, expected, None)


@pytest.mark.parametrize(("header", "value", "expected"), [
    ("mcp-protocol-version", "2026-07-29", VERSION),
    ("mcp-method", "tools/list", "tools/call"),
    ("mcp-method", "Tools/Call", "tools/call"),  # header values are case-sensitive
    ("mcp-name", "create_order", "list_orders"),
    ("mcp-name", "list_orders ", "list_orders"),  # not a value a client sends: trailing space is encoded
])
def test_a_header_that_differs_from_the_body_is_a_mismatch(header, value, expected):
    body = call()
    found = check({**headers_for(body), header: value}, body)
    assert found is not None and found.expected == expected and found.actual == value
    assert found.reason in (MISMATCH, INVALID) and found.code == HEADER_MISMATCH == -32020


def test_mcp_name_is_compared_with_the_uri_of_resources_read():
    body = {"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": "file:///a", "_meta": META}}
    found = check({**headers_for(body), "mcp-name": "file:///b"}, body)
    assert found == HeaderMismatch("Mcp-Name", MISMATCH, "file:///a", "file:///b")


def test_a_version_header_without_a_version_in_the_body_is_a_mismatch():
    body = call()
    del body["params"]["_meta"]
    found = check(headers_for(call()), body)
    assert found == HeaderMismatch("MCP-Protocol-Version", MISMATCH, None, VERSION)


def test_a_body_version_that_is_not_a_string_never_matches():
    body = call()
    body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = 20260728
    assert check(headers_for(call()), body).header == "MCP-Protocol-Version"


@pytest.mark.parametrize(("arguments", "headers", "expected"), [
    ({"region": "eu-west1"}, {"mcp-param-region": "us-west1"}, HeaderMismatch("Mcp-Param-Region", MISMATCH, "eu-west1", "us-west1")),
    ({"region": "eu-west1"}, {}, HeaderMismatch("Mcp-Param-Region", MISSING, "eu-west1", None)),
    ({}, {"mcp-param-region": "us-west1"}, HeaderMismatch("Mcp-Param-Region", MISMATCH, None, "us-west1")),
    ({"region": None}, {"mcp-param-region": "us-west1"}, HeaderMismatch("Mcp-Param-Region", MISMATCH, None, "us-west1")),
    ({"limit": 42}, {"mcp-param-limit": "43"}, HeaderMismatch("Mcp-Param-Limit", MISMATCH, "42", "43")),
    ({"limit": 42}, {"mcp-param-limit": "42.5"}, HeaderMismatch("Mcp-Param-Limit", MISMATCH, "42", "42.5")),
    ({"limit": 42}, {"mcp-param-limit": "4.2e1"}, HeaderMismatch("Mcp-Param-Limit", MISMATCH, "42", "4.2e1")),
    ({"dry_run": True}, {"mcp-param-dry-run": "True"}, HeaderMismatch("Mcp-Param-Dry-Run", MISMATCH, "true", "True")),
    ({"dry_run": False}, {"mcp-param-dry-run": "0"}, HeaderMismatch("Mcp-Param-Dry-Run", MISMATCH, "false", "0")),
    ({"target": {"shard": "a"}}, {"mcp-param-shard": "b"}, HeaderMismatch("Mcp-Param-Shard", MISMATCH, "a", "b")),
    ({"target": {"shard": "a"}}, {}, HeaderMismatch("Mcp-Param-Shard", MISSING, "a", None)),
    ({"region": ["us"]}, {"mcp-param-region": "us"}, HeaderMismatch("Mcp-Param-Region", MISMATCH, None, "us")),
])
def test_a_mirrored_parameter_must_agree_with_its_argument(arguments, headers, expected):
    body = call("execute_sql", arguments)
    assert check({**headers_for(body), **headers}, body) == expected


@pytest.mark.parametrize(("arguments", "headers"), [
    ({"limit": 42}, {"mcp-param-limit": "42"}),
    ({"limit": 42}, {"mcp-param-limit": "42.0"}),  # integers compare numerically (the spec's own example)
    ({"limit": 42.0}, {"mcp-param-limit": "42"}),
    ({"limit": -7}, {"mcp-param-limit": "-7"}),
    ({"limit": 2**60}, {"mcp-param-limit": str(2**60)}),
    ({"dry_run": True}, {"mcp-param-dry-run": "true"}),
    ({"dry_run": False}, {"mcp-param-dry-run": "false"}),
    ({"region": None}, {}),  # null: the client omits the header and the server must not expect it
    ({"query": "not mirrored"}, {"mcp-param-unknown": "whatever"}),  # unrecognized headers are ignored
    ({"target": {"shard": "a"}}, {"mcp-param-shard": "a"}),
    ({"region": "Hello, 世界"}, {"mcp-param-region": "=?base64?SGVsbG8sIOS4lueVjA==?="}),
])
def test_a_mirrored_parameter_that_agrees_passes(arguments, headers):
    body = call("execute_sql", arguments)
    assert check({**headers_for(body), **headers}, body) is None


def test_parameters_are_not_checked_for_a_tool_that_declares_none():
    body = call("list_orders", {"region": "x"})
    assert check({**headers_for(body), "mcp-param-region": "y"}, body) is None


# --- the Base64 sentinel ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "sent"), [
    ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
    (" padded ", "=?base64?IHBhZGRlZCA=?="),
    ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
    ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
    ("list_orders", "=?base64?bGlzdF9vcmRlcnM=?="),  # encoding a plain value is not required, but it decodes
])
def test_the_spec_sentinel_examples_decode_to_the_body_value(name, sent):
    body = call(name)
    assert check({**headers_for(body), "mcp-name": sent}, body) is None
    assert decode_value(sent) == name


@pytest.mark.parametrize("sent", [
    "=?base64?not base64?=",
    "=?base64?SGVsbG8?=",  # unpadded
    "=?base64?YR==?=",  # non-canonical: unused bits set (YQ== is "a")
    "=?base64?/w==?=",  # decodes to a byte that is not UTF-8
    "=?base64?bGlzdF9vcmRlcnM=\n?=",
])
def test_a_sentinel_that_does_not_decode_is_refused(sent):
    body = call("a")
    found = check({**headers_for(body), "mcp-name": sent}, body)
    assert found is not None and found.reason == UNDECODABLE and found.header == "Mcp-Name"
    assert decode_value(sent) is None


def test_the_sentinel_markers_are_case_sensitive():
    body = call("a")
    found = check({**headers_for(body), "mcp-name": "=?BASE64?YQ==?="}, body)
    assert found == HeaderMismatch("Mcp-Name", MISMATCH, "a", "=?BASE64?YQ==?=")


def test_the_literal_sentinel_sent_unencoded_is_not_taken_as_its_text():
    body = call("=?base64?literal?=")
    found = check({**headers_for(body), "mcp-name": "=?base64?literal?="}, body)
    assert found is not None and found.reason == UNDECODABLE


# --- hostile values -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["mcp-protocol-version", "mcp-method", "mcp-name"])
def test_a_ten_kilobyte_value_is_refused_before_it_is_decoded(header):
    body = call("x" * 10_000)
    value = "=?base64?" + base64.b64encode(b"x" * 10_000).decode() + "?=" if header == "mcp-name" else "y" * 10_240
    found = check({**headers_for(call()), header: value}, body)
    assert found is not None and found.reason == TOO_LONG and len(value) > MAX_VALUE_LENGTH


def test_a_ten_kilobyte_parameter_header_is_refused():
    body = call("execute_sql", {"region": "r" * 10_240})
    found = check({**headers_for(body), "mcp-param-region": "r" * 10_240}, body)
    assert found == HeaderMismatch("Mcp-Param-Region", TOO_LONG, "r" * 10_240, "r" * 10_240)


@pytest.mark.parametrize(("header", "value"), [
    ("mcp-method", "tools/call\x00"),
    ("mcp-method", "tools/call\r\nX-Injected: 1"),
    ("mcp-name", "list_orders\x7f"),
    ("mcp-name", "list\torders"),
    ("mcp-protocol-version", "2026-07-28\x0b"),
    ("mcp-name", "lïst_orders"),  # not ASCII: a client would have encoded it
])
def test_control_and_non_ascii_characters_are_invalid(header, value):
    body = call()
    found = check({**headers_for(body), header: value}, body)
    assert found is not None and found.reason in (INVALID, MISMATCH) and found.actual == value


def test_control_characters_are_invalid_even_when_the_body_holds_the_same_text():
    body = {**call(), "method": "tools/call\x00"}
    found = check({**headers_for(call()), "mcp-method": "tools/call\x00"}, body)
    assert found == HeaderMismatch("Mcp-Method", INVALID, "tools/call\x00", "tools/call\x00")


@pytest.mark.parametrize(("header", "joined"), [
    ("mcp-method", "tools/call,tools/call"),
    ("mcp-name", "list_orders,list_orders"),
    ("mcp-name", "create_order,list_orders"),
    ("mcp-protocol-version", "2026-07-28,2026-07-28"),
])
def test_a_repeated_header_joined_with_commas_by_api_gateway_never_matches(header, joined):
    body = call()
    found = check({**headers_for(body), header: joined}, body)
    assert found is not None and found.reason == MISMATCH and found.actual == joined


def test_the_same_header_under_two_cases_is_refused_as_duplicated():
    body = call()
    headers = {**headers_for(body), "Mcp-Name": "create_order"}
    assert check(headers, body) == HeaderMismatch("Mcp-Name", DUPLICATED, None, "create_order")


def test_a_header_value_that_is_not_text_is_invalid():
    body = call()
    found = check({**headers_for(body), "mcp-method": 7}, body)  # type: ignore[dict-item]
    assert found == HeaderMismatch("Mcp-Method", INVALID, "tools/call", None)


@pytest.mark.parametrize("body", [None, "tools/call", 7, [call()], {"method": ["tools/call"]}, {"params": "x"}])
def test_a_body_that_is_not_a_request_object_never_agrees_with_modern_headers(body):
    found = check(headers_for(call()), body)
    assert found is not None and found.code == -32020


# --- protocol eras ----------------------------------------------------------------------------------------------


def test_a_legacy_initialize_without_any_header_is_left_alone():
    body = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "ts", "version": "1"}}}
    assert check({"content-type": "application/json"}, body) is None


@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18", "2025-03-26"])
def test_an_earlier_revision_needs_no_mirrored_headers(version):
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_orders", "arguments": {}}}
    assert check({"mcp-protocol-version": version}, body) is None


def test_mirrored_headers_an_earlier_client_sends_must_still_agree():
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "create_order", "arguments": {}}}
    headers = {"mcp-protocol-version": "2025-11-25", "mcp-method": "tools/call", "mcp-name": "list_orders"}
    assert check(headers, body) == HeaderMismatch("Mcp-Name", MISMATCH, "create_order", "list_orders")


def test_a_modern_body_without_the_version_header_is_missing_it():
    body = call()
    headers = headers_for(body)
    del headers["mcp-protocol-version"]
    assert check(headers, body) == HeaderMismatch("MCP-Protocol-Version", MISSING, VERSION, None)


def test_an_earlier_version_header_on_a_modern_body_is_a_mismatch():
    body = call()
    found = check({**headers_for(body), "mcp-protocol-version": "2025-11-25"}, body)
    assert found == HeaderMismatch("MCP-Protocol-Version", MISMATCH, VERSION, "2025-11-25")


def test_a_version_header_that_is_no_version_is_not_taken_for_an_earlier_revision():
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_orders"}}
    found = check({"mcp-protocol-version": "latest"}, body)
    assert found == HeaderMismatch("MCP-Protocol-Version", MISMATCH, None, "latest")


def test_a_modern_notification_needs_no_method_header_but_one_it_sends_must_agree():
    body = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"_meta": META}}
    assert check({"mcp-protocol-version": VERSION}, body) is None
    found = check({"mcp-protocol-version": VERSION, "mcp-method": "tools/call"}, body)
    assert found == HeaderMismatch("Mcp-Method", MISMATCH, "notifications/cancelled", "tools/call")


# --- the error response -----------------------------------------------------------------------------------------


def test_the_error_response_carries_the_request_id_code_and_header():
    body = call(id="req-7")
    mismatch = check({**headers_for(body), "mcp-name": "create_order"}, body)
    assert header_mismatch_error(mismatch, body) == {
        "jsonrpc": "2.0", "id": "req-7",
        "error": {"code": -32020,
                  "message": "Header mismatch: Mcp-Name header value 'create_order' does not match body value "
                             "'list_orders'",
                  "data": {"header": "Mcp-Name", "reason": "mismatch"}}}


@pytest.mark.parametrize(("body", "expected"), [
    ({"id": 0}, 0), ({"id": "x"}, "x"), ({"id": True}, None), ({"id": 1.5}, None), ({"id": None}, None),
    ({}, None), ([], None), ({"id": {"a": 1}}, None),
])
def test_the_error_response_id_is_the_request_id_only_when_it_is_a_valid_one(body, expected):
    assert request_id(body) == expected


def test_the_error_message_clips_and_escapes_what_the_client_sent():
    hostile = "\x1b[31m" + "A" * 500 + "\ud800"
    message = HeaderMismatch("Mcp-Name", MISMATCH, "list_orders", hostile).message
    assert len(message) < 200 and "\x1b" not in message and "\\x1b" in message
    assert message.isascii() and message.isprintable()  # what the handler sends, whatever the client sent


def test_param_headers_are_read_from_properties_chains_only():
    tools = [SQL_TOOL, {"name": "listy", "inputSchema": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "string", "x-mcp-header": "Item"}}}}},
        {"name": 7}, {"name": "no-schema"}]
    assert param_headers_of(tools) == {"execute_sql": {"Region": ("region",), "Limit": ("limit",),
                                                       "Dry-Run": ("dry_run",), "Shard": ("target", "shard")}}


# --- properties -------------------------------------------------------------------------------------------------

header_text = st.text(max_size=40)


@given(st.text(max_size=300))
def test_every_value_encodes_to_a_header_that_decodes_back_to_it(value):
    encoded = encode_value(value)
    assert decode_value(encoded) == value
    assert encoded.isascii() and all(" " <= c <= "~" for c in encoded)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
mcp_header_names = st.sampled_from(["mcp-protocol-version", "MCP-Protocol-Version", "mcp-method", "Mcp-Method",
                                    "mcp-name", "MCP-NAME", "mcp-param-region", "Mcp-Param-Limit", "x-other"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(mcp_header_names | st.text(max_size=12), header_text | st.text(min_size=1000, max_size=1100),
                       max_size=8),
       json_values | st.fixed_dictionaries({"id": json_values, "method": json_values, "params": json_values})
       | st.builds(lambda name, args: call(name, args), st.text(max_size=20),
                   st.dictionaries(st.sampled_from(["region", "limit", "dry_run", "target"]), json_values)))
def test_any_headers_and_any_body_give_an_answer_never_an_exception(headers, body):
    found = header_mismatch(headers, body, PARAMS)
    if found is not None:
        assert found.code == -32020 and found.reason in (MISSING, MISMATCH, INVALID, UNDECODABLE, TOO_LONG, DUPLICATED)
        json.dumps(header_mismatch_error(found, body), allow_nan=False)  # the 400's body: always JSON


# The official SDK's server validates the same rules (mcp.shared.inbound): on well-formed 2026-07-28 requests whose
# values fit the length bound, both must reach the same verdict, whatever the headers say.
sdk_methods = st.sampled_from(["tools/call", "tools/list", "resources/read", "prompts/get", "server/discover"])
names = st.text(max_size=60)
arguments = st.fixed_dictionaries({}, optional={
    "region": st.none() | st.text(max_size=40), "limit": st.none() | st.integers(-(2**53) + 1, 2**53 - 1),
    "dry_run": st.none() | st.booleans(), "query": st.text(max_size=10)})


@st.composite
def requests_and_headers(draw):
    method = draw(sdk_methods)
    params = {"_meta": META}
    if method in ("tools/call", "prompts/get"):
        params["name"] = draw(st.sampled_from(["execute_sql"]) | names)
    if method == "resources/read":
        params["uri"] = draw(names)
    if method == "tools/call":
        params["arguments"] = draw(arguments)
    body = {"jsonrpc": "2.0", "id": draw(st.integers(0, 9)), "method": method, "params": params}
    headers = headers_for(body)
    if method == "tools/call" and params["name"] == "execute_sql":
        headers.update({k.lower(): v for k, v in
                        mcp_param_headers(x_mcp_header_map(SQL_TOOL["inputSchema"]), params["arguments"]).items()})
    # Perturb: drop a header, replace one with another plausible value, or leave them as a client sent them.
    action = draw(st.sampled_from(["keep", "drop", "replace"]))
    if action != "keep" and headers:
        key = draw(st.sampled_from(sorted(headers)))
        if action == "drop":
            del headers[key]
        else:
            headers[key] = draw(st.sampled_from([encode_header_value(draw(names)), "tools/list", "2025-11-25",
                                                 "42.0", "true", headers[key].upper(), "=?base64?YR==?="]))
    return body, headers


@settings(max_examples=400)
@given(requests_and_headers())
def test_the_verdict_agrees_with_the_official_sdks_server_validation(request_and_headers):
    body, headers = request_and_headers
    sdk = classify_inbound_request(body, headers=headers)
    sdk_refuses = getattr(sdk, "code", None) == SDK_HEADER_MISMATCH
    if not sdk_refuses and body["params"].get("name") == "execute_sql" and body["method"] == "tools/call":
        sdk_refuses = validate_mcp_param_headers(SQL_TOOL["inputSchema"], body["params"]["arguments"],
                                                 headers) is not None
    ours = header_mismatch(headers, body, PARAMS)
    assert (ours is not None) == sdk_refuses, (ours, sdk)
