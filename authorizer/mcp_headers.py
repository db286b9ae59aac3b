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
"""

from __future__ import annotations

import base64
import binascii
import re

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
    other value as it is when it is plain printable ASCII. None when it is neither (not a value a client sends)."""
    if value.startswith(SENTINEL_PREFIX) and value.endswith(SENTINEL_SUFFIX) and len(value) >= 11:
        encoded = value[len(SENTINEL_PREFIX):-len(SENTINEL_SUFFIX)]
        try:
            return base64.b64decode(encoded.encode("ascii"), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError):
            return None
    return value if _PLAIN.fullmatch(value) else None


def encode_value(value: str) -> str:
    """What a client sends for ``value`` (the sentinel form when the specification requires it)."""
    if _PLAIN.fullmatch(value) and not (value.startswith(SENTINEL_PREFIX) and value.endswith(SENTINEL_SUFFIX)):
        return value
    return SENTINEL_PREFIX + base64.b64encode(value.encode("utf-8")).decode("ascii") + SENTINEL_SUFFIX


def validates_headers(version: str | None) -> bool:
    """Whether a client of this ``MCP-Protocol-Version`` sends the headers and its server must check them against
    the body: 2026-07-28 and later. (Dates compare as text.)"""
    return version is not None and _VERSION.fullmatch(version) is not None and version >= HEADERS_VALIDATED_SINCE


def is_version(value: str) -> bool:
    return _VERSION.fullmatch(value) is not None
