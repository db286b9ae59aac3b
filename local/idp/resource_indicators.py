"""RFC 8707 resource indicators as the development authorization server reads them: the ``resource`` of an
authorization request becomes the access token's ``aud``, and a token request may only repeat it.

    check_resource("http://127.0.0.1:8080/mcp", None)     # 'http://127.0.0.1:8080/mcp'
    check_resource("/mcp", None)                          # InvalidTargetError: not an absolute URI
"""

from __future__ import annotations

import re
import urllib.parse

from authlib.oauth2.rfc6749 import OAuth2Error

# RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
MAX_RESOURCE_LENGTH = 2048


class InvalidTargetError(OAuth2Error):
    """RFC 8707 section 2: "The requested resource is invalid, missing, unknown, or malformed." """

    error = "invalid_target"


def check_resource(value: str | None, allowed: tuple[str, ...] | None) -> str:
    """The resource an authorization request names, checked: present, an absolute URI (RFC 8707 section 2: "MUST be
    an absolute URI ... MUST NOT include a fragment component"), printable ASCII, and one of ``allowed`` when the
    server was given a list. Compared as strings everywhere after this: no normalisation."""
    if not value:
        raise InvalidTargetError("Send the 'resource' parameter: the canonical URI of the MCP server (RFC 8707).")
    if len(value) > MAX_RESOURCE_LENGTH or not all(0x21 <= ord(c) <= 0x7E for c in value):
        raise InvalidTargetError("The 'resource' must be a URI of printable ASCII characters.")
    parts = urllib.parse.urlsplit(value)
    if not parts.scheme or not _SCHEME.fullmatch(parts.scheme) or not value.startswith(parts.scheme + ":"):
        raise InvalidTargetError("The 'resource' must be an absolute URI.")
    if "#" in value:
        raise InvalidTargetError("The 'resource' must not include a fragment.")
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        raise InvalidTargetError("The 'resource' must name a host.")
    if allowed is not None and value not in allowed:
        raise InvalidTargetError("The 'resource' is not one this authorization server issues tokens for.")
    return value


def check_same_resource(requested: str | None, authorized: str) -> None:
    """A token request may leave ``resource`` out (the grant's own applies) or repeat it exactly."""
    if requested is not None and requested != authorized:
        raise InvalidTargetError("The 'resource' differs from the one this grant was authorized for.")
