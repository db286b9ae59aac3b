"""How far API Gateway may reuse an answer, read from the event: the identity sources' values it caches it under.

| the identity sources hold                          | scope     | the answer is reused                         |
|----------------------------------------------------|-----------|----------------------------------------------|
| the request's ``requestId`` (``$context.requestId``) | ``request`` | never                                      |
| its ``routeKey`` (``$context.routeKey``)            | ``route``   | on this route only (any of its requests)     |
| neither; or a payload 1.0 or REST event             | ``shared``  | on any route the authorizer guards           |

An answer of scope ``request`` or ``route`` is only ever evaluated against requests API Gateway matched to its own
route, so it answers for that route alone; a ``shared`` one must be right on every route. The construct puts
``$context.routeKey`` among the identity sources whenever route rules exist, and ``$context.requestId`` on the tenant
routes' authorizer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

REQUEST, ROUTE, SHARED = "request", "route", "shared"


def cache_scope(event: Any, route_key: str | None) -> str:
    """``request``, ``route`` or ``shared``: where API Gateway may reuse this answer (see above).

    The construct puts ``$context.routeKey`` among the identity sources whenever tenant rules exist, and
    ``$context.requestId`` too on the tenant routes' authorizer. A value the client chose (a header, a query
    parameter, a cookie) that reads like the route key or the request id proves nothing: an authorizer keyed on such
    a value and the token caches across routes, so the answer is then taken to be ``shared``.
    """
    sources = event.get("identitySource") if isinstance(event, dict) else None
    if not isinstance(sources, list):  # payload 1.0 joins the values with commas: not read, never trusted
        return SHARED
    context = event.get("requestContext")
    request_id = context.get("requestId") if isinstance(context, dict) else None
    scope = (REQUEST if isinstance(request_id, str) and request_id and request_id in sources
             else ROUTE if route_key is not None and route_key in sources else SHARED)
    if scope != SHARED:
        marker = request_id if scope == REQUEST else route_key
        if marker is None or _echoed(marker, event):
            return SHARED
    return scope


def _echoed(marker: str, event: dict[str, Any]) -> bool:
    """Whether client-chosen text holds ``marker`` anywhere: a header value (API Gateway joins repeated ones with
    commas), a query parameter, a cookie (with or without ``=``), the raw query string. Any occurrence counts, so
    no joining or trimming of identity values can turn an echo into a marker."""
    texts = [event.get("rawQueryString")]
    for name in ("headers", "queryStringParameters", "multiValueHeaders", "multiValueQueryStringParameters"):
        field = event.get(name)
        if isinstance(field, dict):
            for value in field.values():
                texts += value if isinstance(value, list) else [value]
    cookies = event.get("cookies")
    if isinstance(cookies, list):
        texts += cookies
    return any(isinstance(text, str) and (marker in text or marker in unquote_plus(text)) for text in texts)
