"""Which routes' policy resources overlap: worked out once per configuration, read per request.

A policy names routes by IAM resource patterns, in which ``*`` is any run of characters, ``/`` included. So a
route's pattern can cover requests API Gateway matches to another route: ``GET /orders/{id}`` is
``.../GET/orders/*``, which also matches ``.../GET/orders/1/items`` (the route ``GET /orders/{id}/items``). API
Gateway decides by the most specific route; a policy cannot, so wherever an answer is evaluated only against its
own route's requests (``reuse.ROUTE``, ``reuse.REQUEST``), no other route's Deny that overlaps that route may be in
it. ``RouteOverlaps.of(route_key)`` names them.

``ANY`` is written verb by verb here, as API Gateway's requests are: ``ANY /misc/{item}`` is
``GET/misc/*``, ``POST/misc/*``..., never ``*/misc/*``, whose leading ``*`` would seem to cover every path that
ends in ``/misc/<x>``, ``GET/tenants/A/misc/x`` included.

    >>> RouteOverlaps(["GET /orders/{id}", "GET /orders/{id}/items", "GET /me"]).of("GET /orders/{id}/items")
    frozenset({'GET /orders/{id}'})
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from .config import HTTP_METHODS

VERBS = tuple(m for m in HTTP_METHODS if m != "ANY")
_MAX_REMEMBERED = 1024  # route keys not configured (an event's routeKey): bounded


@lru_cache(maxsize=4096)
def resource_globs(route_key: str) -> tuple[str, ...]:
    """The stage-relative resource patterns of a route's requests: ``{param}``/``{proxy+}`` as ``*``, ``ANY`` one
    per verb, ``$default`` everything (``/*``)."""
    if route_key == "$default":
        return ("/*",)
    method, _, path = route_key.partition(" ")
    tail = "/".join("*" if s.startswith("{") else s for s in path.split("/")[1:])
    return tuple(f"/{verb}/{tail}" for verb in (VERBS if method == "ANY" else (method,)))


def routes_overlap(a: str, b: str) -> bool:
    """Whether some request could match both routes' patterns."""
    return any(globs_intersect(x, y) for x in resource_globs(a) for y in resource_globs(b))


class RouteOverlaps:
    """The configured routes, and for any route key (configured or an event's), the others that overlap it."""

    def __init__(self, route_keys: Iterable[str]) -> None:
        self.route_keys = tuple(route_keys)
        self._of: dict[str, frozenset[str]] = {key: self._compute(key) for key in self.route_keys}

    def of(self, route_key: str) -> frozenset[str]:
        """The configured route keys other than ``route_key`` whose patterns overlap its own."""
        found = self._of.get(route_key)
        if found is None:
            found = self._compute(route_key)
            if len(self._of) < len(self.route_keys) + _MAX_REMEMBERED:
                self._of[route_key] = found
        return found

    def _compute(self, route_key: str) -> frozenset[str]:
        return frozenset(other for other in self.route_keys if other != route_key and routes_overlap(route_key, other))


@lru_cache(maxsize=4096)
def globs_intersect(a: str, b: str) -> bool:
    """Whether two IAM resource patterns (``*`` any run, ``?`` one character) can match one same string.

    A search over (position in ``a``, position in ``b``), iterative: route keys of any length are fine.
    """
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            stack.append((i + 1, j))
            if j < len(b):
                stack.append((i, j + 1))
        elif j < len(b) and b[j] == "*":
            stack.append((i, j + 1))
            if i < len(a):
                stack.append((i + 1, j))
        elif i < len(a) and j < len(b) and (a[i] == b[j] or "?" in (a[i], b[j])):
            stack.append((i + 1, j + 1))
    return False
