"""Reading an authorizer event of any of the four shapes into one ``AuthRequest``. Never raises.

| shape          | how it is recognized                     | token from                                   |
|----------------|------------------------------------------|----------------------------------------------|
| ``http-2.0``   | ``version == "2.0"``                     | ``headers.authorization``, then the cookie   |
| ``http-1.0``   | ``version == "1.0"``                     | the Authorization header, then the cookie    |
| ``rest-token`` | no version, ``type == "TOKEN"``          | ``authorizationToken``                       |
| ``rest-request``| no version, ``type == "REQUEST"``       | the Authorization header, then the cookie    |

Anything else is ``unknown`` and is denied. The event is untrusted input: every field is type-checked.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .errors import (
    AuthorizationError,
    IdentitySourceMismatchError,
    MalformedEventError,
    MalformedTokenError,
    MissingTokenError,
)
from .reuse import REQUEST, cache_scope

HTTP_V2, HTTP_V1, REST_TOKEN, REST_REQUEST, UNKNOWN = "http-2.0", "http-1.0", "rest-token", "rest-request", "unknown"


class AuthRequest(NamedTuple):
    # A NamedTuple, not a frozen dataclass: as immutable, and it costs a fraction at import and per request.
    shape: str
    arn: str | None
    route_key: str | None  # HTTP APIs name the matched route; REST events do not
    token: str | None
    problem: AuthorizationError | None  # why there is no token
    per_request: bool = False  # keyed on $context.requestId: API Gateway never reuses the answer (read once here)


_new = tuple.__new__  # a NamedTuple's own __new__ is a Python function; this is every request
#: "Bearer " in any case (the scheme is case-insensitive, RFC 9110 §11.1): one set lookup instead of lower().
_BEARER = frozenset("".join(c.upper() if 1 << i & n else c for i, c in enumerate("bearer")) + " " for n in range(64))


def read_event(event: Any, cookie_name: str | None = None) -> AuthRequest:
    if type(event) is dict and event.get("version") == "2.0":
        # The usual request: a payload 2.0 event whose one identity source is "Bearer <token>". Read here in one
        # go; any other form takes the general path below, which decides it exactly as before.
        headers, sources = event.get("headers"), event.get("identitySource")
        value = headers.get("authorization") if type(headers) is dict else None
        if (type(value) is str and value[:7] in _BEARER and value.isascii() and _blank_free(token := value[7:])
                and token and type(sources) is list and len(sources) == 1 and type(sources[0]) is str):
            # An ASCII token with no whitespace at all is what str.split() would give (read_any_event).
            source = sources[0]
            arn, route_key = event.get("routeArn"), event.get("routeKey")
            arn = arn if type(arn) is str else None
            route_key = route_key if type(route_key) is str else None
            if source and not (source.endswith(token) or token in source):
                return _new(AuthRequest, (HTTP_V2, arn, route_key, None, IdentitySourceMismatchError(
                    "the token is not in the request's identity source"), False))
            return _new(AuthRequest, (HTTP_V2, arn, route_key, token, None, False))
    return read_any_event(event, cookie_name)


def _blank_free(text: str) -> bool:
    """No ASCII whitespace (what ``str.split()`` splits on, for ASCII text) anywhere in ``text``: ten memchr scans."""
    return not (" " in text or "\t" in text or "\n" in text or "\r" in text or "\x0b" in text or "\x0c" in text
                or "\x1c" in text or "\x1d" in text or "\x1e" in text or "\x1f" in text)


def read_any_event(event: Any, cookie_name: str | None = None) -> AuthRequest:
    """Any event, any form: what ``read_event`` does for all but the usual one (and the reference it is held to)."""
    if not isinstance(event, dict):
        return AuthRequest(UNKNOWN, None, None, None, MalformedEventError("the event is not an object"))
    version, kind = event.get("version"), event.get("type")
    if version == "2.0":
        shape, arn = HTTP_V2, event.get("routeArn")
        route_key = event.get("routeKey")
    elif version == "1.0":
        shape, arn = HTTP_V1, event.get("methodArn")
        context = event.get("requestContext")
        route_key = context.get("routeKey") if isinstance(context, dict) else None
    elif version is None and kind == "TOKEN":
        shape, arn, route_key = REST_TOKEN, event.get("methodArn"), None
    elif version is None and kind == "REQUEST":
        shape, arn, route_key = REST_REQUEST, event.get("methodArn"), None
    else:
        return AuthRequest(UNKNOWN, None, None, None, MalformedEventError("unrecognized event shape"))
    if not isinstance(arn, str):
        arn = None
    if not isinstance(route_key, str):
        route_key = None
    try:
        token = _token_of(event, shape, cookie_name)
        per_request = _check_identity_source(event, shape, token)
    except AuthorizationError as problem:
        return AuthRequest(shape, arn, route_key, None, problem)
    return AuthRequest(shape, arn, route_key, token, None, per_request)


def _check_identity_source(event: dict[str, Any], shape: str, token: str) -> bool:
    """API Gateway caches the answer under the identity-source values: the token verified must be among them,
    unless the key holds the request id (then it is never reused, and True is returned).

    Otherwise an Allow for a token in one header could be cached under another value (a cookie, say) and handed
    to every request that carries only that value. Events without identity values (no caching) are not checked.
    """
    if shape == HTTP_V2:
        sources = event.get("identitySource")
        if type(sources) is list and len(sources) == 1 and type(sources[0]) is str:  # the usual event: one value
            value = sources[0]
            if value and not (value.endswith(token) or token in value):
                raise IdentitySourceMismatchError("the token is not in the request's identity source")
            return False
        values = [v for v in sources if isinstance(v, str) and v] if isinstance(sources, list) else []
        if cache_scope(event, None) == REQUEST:
            return True  # keyed on $context.requestId: never reused, so the token need not be in the key
    elif shape == HTTP_V1:
        source = event.get("identitySource")
        values = [source] if isinstance(source, str) and source else []
    else:
        return False  # REST TOKEN: the token is the identity; REST REQUEST events do not carry the values
    # endswith first: "Bearer <token>" is the usual value, and a suffix compare is a memcmp where `in` on a long
    # needle pays for a substring search's set-up.
    if values and not any(value.endswith(token) or token in value for value in values):
        raise IdentitySourceMismatchError("the token is not in the request's identity source")
    return False


def _token_of(event: dict[str, Any], shape: str, cookie_name: str | None) -> str:
    if shape == REST_TOKEN:
        value = event.get("authorizationToken")
        if not isinstance(value, str):
            raise MissingTokenError("no authorizationToken")
        return token_from_authorization(value)
    headers = event.get("headers")
    headers = headers if isinstance(headers, dict) else {}
    authorization = _header(headers, "authorization")
    if authorization is not None:
        return token_from_authorization(authorization)
    if cookie_name:
        token = _cookie(event, headers, cookie_name)
        if token:
            return token
    raise MissingTokenError("no Authorization header" + (f" and no {cookie_name} cookie" if cookie_name else ""))


def token_from_authorization(value: str) -> str:
    """``Bearer <t>`` (any case) or a bare ``<t>``; anything else (Basic, extra words, Bearer alone) is refused."""
    words = value.split()
    if not words:
        raise MissingTokenError("empty Authorization header")
    if words[0].lower() == "bearer":
        if len(words) != 2:
            raise MalformedTokenError("expected 'Bearer <token>'")
        return words[1]
    if len(words) != 1:
        raise MalformedTokenError("expected 'Bearer <token>' or a bare token")
    return words[0]


def _header(headers: dict[Any, Any], name: str) -> str | None:
    value = headers.get(name)  # HTTP API 2.0 lower-cases header names
    if value is None:
        for key, candidate in headers.items():  # REST and 1.0 keep the client's case
            if isinstance(key, str) and key.lower() == name:
                value = candidate
                break
    return value if isinstance(value, str) else None


def _cookie(event: dict[str, Any], headers: dict[Any, Any], name: str) -> str | None:
    cookies = event.get("cookies")  # payload 2.0 splits cookies into a list
    pairs = [c for c in cookies if isinstance(c, str)] if isinstance(cookies, list) else []
    header = _header(headers, "cookie")
    if header:
        pairs += header.split(";")
    for pair in pairs:
        key, sep, value = pair.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"') or None
    return None
