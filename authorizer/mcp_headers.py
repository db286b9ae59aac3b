"""The MCP Streamable HTTP request headers (revision 2026-07-28), read as the specification defines them: one source
for the authorizer (which decides per method and per tool on them) and for an MCP server (which must reject a request
whose headers disagree with its body). Standard library only.

From ``docs/specification/2026-07-28/basic/transports/streamable-http.mdx`` (modelcontextprotocol/modelcontextprotocol
at b0f60ba5409db7a6582440a7b473cc0398890f15): every POST carries ``MCP-Protocol-Version`` and ``Mcp-Method`` (the
JSON-RPC ``method``); ``tools/call`` and ``prompts/get`` carry ``Mcp-Name`` (``params.name``), ``resources/read``
carries it with ``params.uri``; tools may mark parameters with ``x-mcp-header``, mirrored as ``Mcp-Param-<name>``. A
value that is not plain printable ASCII without surrounding whitespace — or that reads like the sentinel — is sent
as ``=?base64?<standard base64 of its UTF-8>?=``, and is decoded before it is compared.

    >>> decode_value("=?base64?SGVsbG8sIOS4lueVjA==?=")
    'Hello, 世界'
    >>> decode_value("get_weather"), decode_value("=?base64?not base64?=") is None
    ('get_weather', True)

The server's side of the same rules is ``header_mismatch``: the spec's "Server Validation" (a required header
missing, a value that does not match the body once decoded, invalid characters: ``400 Bad Request`` with JSON-RPC
error ``-32020``), returned as data, never raised; ``header_mismatch_error`` is the JSON-RPC error body to send:

    >>> body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "create_order",
    ...         "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}
    >>> headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "list_orders"}
    >>> mismatch = header_mismatch(headers, body)
    >>> mismatch.header, mismatch.reason, mismatch.expected, mismatch.actual
    ('Mcp-Name', 'mismatch', 'create_order', 'list_orders')
    >>> header_mismatch_error(mismatch, body)["error"]["code"], header_mismatch({**headers, "Mcp-Name": "create_order"}, body)
    (-32020, None)
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION_HEADER = "mcp-protocol-version"
METHOD_HEADER = "mcp-method"
NAME_HEADER = "mcp-name"
PARAM_HEADER_PREFIX = "mcp-param-"
#: The first revision whose servers must validate the headers against the body (and whose clients send them).
HEADERS_VALIDATED_SINCE = "2026-07-28"
#: The methods of ``schema/2026-07-28/schema.ts`` a client sends (requests and notifications).
METHODS = frozenset({
    "server/discover", "tools/list", "tools/call", "resources/list", "resources/read", "resources/templates/list",
    "prompts/list", "prompts/get", "completion/complete", "subscriptions/listen",
    "notifications/cancelled", "notifications/progress", "notifications/roots/list_changed",
    # Earlier revisions' methods, still sent by their clients: known, so a rule can name them.
    "initialize", "notifications/initialized", "ping", "logging/setLevel", "resources/subscribe",
    "resources/unsubscribe",
})
#: Method → where ``Mcp-Name`` comes from in its ``params``.
NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
#: Which rule table of a configuration a named method's ``Mcp-Name`` is looked up in.
NAME_KIND = {"tools/call": "tools", "prompts/get": "prompts", "resources/read": "resources"}
SENTINEL_PREFIX, SENTINEL_SUFFIX = "=?base64?", "?="
#: Header values longer than this are refused before anything else is done with them.
MAX_VALUE_LENGTH = 1024
_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")  # printable ASCII, no surrounding blank


def decode_value(value: str) -> str | None:
    """A header value as the client meant it: the sentinel form decoded (standard base64 of UTF-8, padded), any
    other value as it is when it is plain printable ASCII (or empty: the SDKs send an empty string as it is). None
    when it is neither (not a value a client sends), and for Base64 that is not canonical (non-zero unused bits,
    ``YR==`` for ``YQ==``): one value has exactly one encoded text, as the Python SDK's decoder also insists."""
    if value.startswith(SENTINEL_PREFIX) and value.endswith(SENTINEL_SUFFIX) and len(value) >= 11:
        encoded = value[len(SENTINEL_PREFIX):-len(SENTINEL_SUFFIX)]
        try:
            raw = base64.b64decode(encoded.encode("ascii"), validate=True)
            if base64.b64encode(raw).decode("ascii") != encoded:
                return None
            return raw.decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError):
            return None
    return value if value == "" or _PLAIN.fullmatch(value) else None


def encode_value(value: str) -> str:
    """What a client sends for ``value`` (the sentinel form when the specification requires it)."""
    if value == "" or _PLAIN.fullmatch(value) and not (value.startswith(SENTINEL_PREFIX)
                                                      and value.endswith(SENTINEL_SUFFIX)):
        return value
    return SENTINEL_PREFIX + base64.b64encode(value.encode("utf-8")).decode("ascii") + SENTINEL_SUFFIX


def validates_headers(version: str | None) -> bool:
    """Whether a client of this ``MCP-Protocol-Version`` sends the headers and its server must check them against
    the body: 2026-07-28 and later. (Dates compare as text.)"""
    return version is not None and _VERSION.fullmatch(version) is not None and version >= HEADERS_VALIDATED_SINCE


def is_version(value: str) -> bool:
    return _VERSION.fullmatch(value) is not None


# --- The server's check: do the headers agree with the body? -------------------------------------------------------

#: JSON-RPC error code of ``HeaderMismatch`` (2026-07-28; ``-32001`` in drafts before it), sent with HTTP 400.
HEADER_MISMATCH = -32020
#: The ``params._meta`` key whose value ``MCP-Protocol-Version`` must equal.
PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
#: Header names as the specification writes them, for messages and ``HeaderMismatch.header``.
PROTOCOL_VERSION_NAME, METHOD_NAME, NAME_NAME, PARAM_NAME_PREFIX = (
    "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Mcp-Param-")
#: ``HeaderMismatch.reason`` codes, stable for logs and tests.
MISSING, MISMATCH, INVALID, UNDECODABLE, TOO_LONG, DUPLICATED = (
    "missing", "mismatch", "invalid", "undecodable", "too_long", "duplicated")
_SHOWN_LENGTH = 64  # how much of a value a message quotes
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # what an integer's header may read as (the SDK's gate too)
_ABSENT: Any = object()  # a body field that is not there (distinct from one that holds null)


@dataclass(frozen=True)
class HeaderMismatch:
    """Why a request's MCP headers and body disagree: the spec's ``HeaderMismatch`` (``code`` -32020, HTTP 400).

    ``header``: the header's name as the specification writes it (``Mcp-Name``, ``Mcp-Param-Region``);
    ``reason``: one of ``missing``, ``mismatch``, ``invalid`` (characters no client sends), ``undecodable`` (a Base64
    sentinel that does not decode to UTF-8), ``too_long`` (over ``MAX_VALUE_LENGTH``), ``duplicated`` (given twice
    under names that differ only in case); ``expected``: the body's value as the header should carry it, decoded
    (None when the body has none); ``actual``: the header as received (None when missing).
    """

    header: str
    reason: str
    expected: str | None
    actual: str | None
    code: int = HEADER_MISMATCH

    @property
    def message(self) -> str:
        """The JSON-RPC error message, worded like the specification's example; values are clipped and escaped."""
        if self.reason == MISSING:
            return f"Header mismatch: required {self.header} header is missing (body value {_shown(self.expected)})"
        if self.reason == MISMATCH:
            return (f"Header mismatch: {self.header} header value {_shown(self.actual)} does not match body value "
                    f"{_shown(self.expected)}")
        explained = {INVALID: "contains characters a client never sends unencoded",
                     UNDECODABLE: "is not a valid =?base64?...?= value (standard Base64 of UTF-8)",
                     TOO_LONG: f"is longer than {MAX_VALUE_LENGTH} characters",
                     DUPLICATED: "is given more than once"}[self.reason]
        return f"Header mismatch: {self.header} header value {explained}"


def header_mismatch(headers: Mapping[str, str], body: Any,
                    tool_param_headers: Mapping[str, Mapping[str, str | tuple[str, ...]]] | None = None,
                    ) -> HeaderMismatch | None:
    """The first way ``headers`` disagree with the decoded JSON-RPC ``body``, or None when they agree.

    ``headers``: the request's headers, names in any case (API Gateway's payload 2.0 lower-cases them and joins a
    repeated header's values with commas, so a repeated ``Mcp-Name`` never equals the body's name). ``body``: the
    parsed JSON, whatever its shape. ``tool_param_headers``: tool name → ``x-mcp-header`` token → the argument it
    mirrors (a name, or a path of ``properties`` keys as a tuple); ``param_headers_of(tools)`` builds it from the
    server's ``tools/list``.

    Which rules apply is decided by the protocol era of the request:

    - 2026-07-28 and later (the body's ``_meta`` names a protocol version, or ``MCP-Protocol-Version`` is not an
      earlier revision): ``MCP-Protocol-Version`` and, on a request (a body with ``id``), ``Mcp-Method`` are
      required; ``Mcp-Name`` is required when the body has the name of a ``tools/call``/``prompts/get`` or the uri
      of a ``resources/read``; ``Mcp-Param-<token>`` is required exactly when the mirrored argument is present and
      not null. Notifications have no header requirements in 2026-07-28: only the headers they carry are compared.
    - Earlier revisions (no ``MCP-Protocol-Version`` and no version in the body — a server that serves them MAY
      take that as 2025-03-26 — or a version before 2026-07-28): their clients send none of these headers, and the
      revision they speak (2025-11-25 Streamable HTTP) requires none, so none is required. Any of them that *is*
      sent must still agree with the body: something in front of the server may have routed on it.

    Values compare exactly (header values are case-sensitive), after decoding the Base64 sentinel for ``Mcp-Name``
    and ``Mcp-Param-*``; an integer argument compares numerically (``42`` matches ``42.0``), a boolean as ``true``
    or ``false``. Never raises.
    """
    folded: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str):
            continue
        key = name.lower()
        if key in folded and (key in _ROUTING or key.startswith(PARAM_HEADER_PREFIX)):
            return HeaderMismatch(_display_name(key), DUPLICATED, None, value if isinstance(value, str) else None)
        folded[key] = value
    fields = body if isinstance(body, dict) else {}
    params = fields.get("params")
    params = params if isinstance(params, dict) else {}
    meta = params.get("_meta")
    body_version = meta.get(PROTOCOL_VERSION_META_KEY, _ABSENT) if isinstance(meta, dict) else _ABSENT
    version_header = folded.get(PROTOCOL_VERSION_HEADER)
    earlier = isinstance(version_header, str) and is_version(version_header) and not validates_headers(version_header)
    modern = body_version is not _ABSENT or (version_header is not None and not earlier)
    is_request = "id" in fields

    if modern:
        found = _compare(PROTOCOL_VERSION_NAME, version_header, _text(body_version), required=True, encoded=False)
        if found is not None:
            return found
    method = fields.get("method")
    found = _compare(METHOD_NAME, folded.get(METHOD_HEADER), method if isinstance(method, str) else None,
                     required=modern and is_request, encoded=False)
    if found is not None:
        return found
    if not isinstance(method, str) or method not in NAMED:
        return None
    named = params.get(NAMED[method], _ABSENT)
    found = _compare(NAME_NAME, folded.get(NAME_HEADER), named if isinstance(named, str) else None,
                     required=modern, encoded=True)
    if found is not None or method != "tools/call" or not tool_param_headers:
        return found
    tool = params.get("name")
    mirrored = tool_param_headers.get(tool) if isinstance(tool, str) else None
    arguments = params.get("arguments")
    for token, path in (mirrored or {}).items():
        value = _value_at(arguments, (path,) if isinstance(path, str) else path)
        found = _compare_argument(PARAM_NAME_PREFIX + token, folded.get(PARAM_HEADER_PREFIX + token.lower()), value,
                                  required=modern)
        if found is not None:
            return found
    return None


def header_mismatch_error(mismatch: HeaderMismatch, body: Any) -> dict[str, Any]:
    """The JSON-RPC error response for ``mismatch`` (send it with HTTP 400), with the request's id when it has a
    valid one (else ``null``, as JSON-RPC asks for a request whose id cannot be read)."""
    return {"jsonrpc": "2.0", "id": request_id(body),
            "error": {"code": mismatch.code, "message": mismatch.message,
                      "data": {"header": mismatch.header, "reason": mismatch.reason}}}


def request_id(body: Any) -> str | int | None:
    """A JSON-RPC request's ``id`` when it is a string or an integer (the types the specification allows), else
    None."""
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)) else None


def param_headers_of(tools: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, tuple[str, ...]]]:
    """``tool_param_headers`` for ``header_mismatch`` from tool definitions (``tools/list``'s ``tools``): for each
    tool, every ``x-mcp-header`` token of its ``inputSchema`` reachable through ``properties`` alone, with the path
    of the argument it mirrors.

    >>> param_headers_of([{"name": "execute_sql", "inputSchema": {"type": "object", "properties": {
    ...     "region": {"type": "string", "x-mcp-header": "Region"}, "query": {"type": "string"}}}}])
    {'execute_sql': {'Region': ('region',)}}
    """
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for tool in tools:
        name, schema = tool.get("name"), tool.get("inputSchema")
        if not isinstance(name, str):
            continue
        tokens: dict[str, tuple[str, ...]] = {}
        pending: list[tuple[tuple[str, ...], Any]] = [((), schema)]
        while pending:
            path, node = pending.pop()
            if not isinstance(node, dict):
                continue
            token = node.get("x-mcp-header")
            if path and isinstance(token, str):
                tokens[token] = path
            properties = node.get("properties")
            if isinstance(properties, dict):
                pending.extend(((*path, key), sub) for key, sub in properties.items() if isinstance(key, str))
        if tokens:
            found[name] = tokens
    return found


_ROUTING = frozenset({PROTOCOL_VERSION_HEADER, METHOD_HEADER, NAME_HEADER})


def _compare(name: str, actual: Any, expected: str | None, *, required: bool, encoded: bool) -> HeaderMismatch | None:
    """``actual`` (a header, or None) against the body's ``expected`` text (None: the body has no such value)."""
    if actual is None:
        return HeaderMismatch(name, MISSING, expected, None) if required and expected is not None else None
    problem = _unreadable(actual)
    if problem is not None:
        return HeaderMismatch(name, problem, expected, actual if isinstance(actual, str) else None)
    value = decode_value(actual) if encoded else (actual if _PLAIN.fullmatch(actual) else None)
    if value is None:
        reason = UNDECODABLE if encoded and actual.startswith(SENTINEL_PREFIX) and actual.endswith(SENTINEL_SUFFIX) \
            else INVALID
        return HeaderMismatch(name, reason, expected, actual)
    return None if value == expected else HeaderMismatch(name, MISMATCH, expected, actual)


def _compare_argument(name: str, actual: Any, value: Any, *, required: bool) -> HeaderMismatch | None:
    """An ``Mcp-Param-*`` header against the argument it mirrors (``_ABSENT`` or null: the header must be absent)."""
    expected = _rendered(value)
    if actual is None:
        present = value is not _ABSENT and value is not None and expected is not None
        return HeaderMismatch(name, MISSING, expected, None) if required and present else None
    problem = _unreadable(actual)
    if problem is not None:
        return HeaderMismatch(name, problem, expected, actual if isinstance(actual, str) else None)
    decoded = decode_value(actual)
    if decoded is None:
        reason = UNDECODABLE if actual.startswith(SENTINEL_PREFIX) and actual.endswith(SENTINEL_SUFFIX) else INVALID
        return HeaderMismatch(name, reason, expected, actual)
    if _is_integer(value) and _DECIMAL.fullmatch(decoded):
        whole, _, fraction = decoded.partition(".")
        if fraction.strip("0") == "" and int(whole) == int(value):
            return None
        return HeaderMismatch(name, MISMATCH, expected, actual)
    return None if expected is not None and decoded == expected else HeaderMismatch(name, MISMATCH, expected, actual)


def _unreadable(actual: Any) -> str | None:
    if not isinstance(actual, str):
        return INVALID
    return TOO_LONG if len(actual) > MAX_VALUE_LENGTH else None


def _is_integer(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _rendered(value: Any) -> str | None:
    """An argument as a client mirrors it into its header (before encoding), or None when it has no header form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if _is_integer(value):
        try:
            return str(int(value))
        except ValueError:  # more digits than int→str allows: only the numeric comparison can judge it
            return None
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _value_at(arguments: Any, path: tuple[str, ...]) -> Any:
    node = arguments
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _ABSENT
        node = node[key]
    return node


def _display_name(key: str) -> str:
    names = {PROTOCOL_VERSION_HEADER: PROTOCOL_VERSION_NAME, METHOD_HEADER: METHOD_NAME, NAME_HEADER: NAME_NAME}
    return names.get(key) or PARAM_NAME_PREFIX + key[len(PARAM_HEADER_PREFIX):]


def _shown(value: str | None) -> str:
    if value is None:
        return "(none)"
    clipped = value if len(value) <= _SHOWN_LENGTH else value[:_SHOWN_LENGTH] + "..."
    return ascii(clipped)
