"""The route rules' stage of one decision: ``RouteGuard.decide`` — is the route API Gateway matched allowed, how far
may the answer be reused, and which other routes' Denies must stay out of it.

**The matched route's rule decides.** When the event names its route (``routeKey``), that route's rule is the one
judged: API Gateway matched it on the decoded path, so a ``GET /orders`` rule does not apply to a request API
Gateway matched to ``ANY /orders`` — in simple answers and IAM answers alike. Events that name no route (REST,
payload 1.0 without ``routeKey``) are judged as API Gateway will evaluate the policy: by the Deny patterns that cover
the request's ARN.

**No other route's Deny may cover what the matched route allows.** A policy writes routes as IAM patterns, whose
``*`` spans ``/`` (``overlaps``): the Deny of ``GET /orders/{id}`` covers ``GET /orders/1/items``. Where the answer
is evaluated only against its own route's requests (``reuse.ROUTE``/``REQUEST``: the construct's identity
sources), the routes that overlap the matched one are *spared* — the answer carries none of their Denies. Where it
may be reused on any route (``reuse.SHARED``), it must carry them all; when one of them covers this request, or the
answer is a simple one (which says nothing about its route), the request is refused with ``cache_key_too_wide``,
so that logs say what API Gateway does and no cached answer opens what it was not decided for.

The reuse scope is read from the event only when it matters: tenant rules, a simple answer with route rules, or an
unmet rule that overlaps the matched route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .config import RouteRule
from .errors import AuthorizationError, CacheKeyTooWideError, UnknownRouteError
from .events import AuthRequest
from .overlaps import RouteOverlaps
from .policy import MethodArn, resource_matches
from .reuse import REQUEST, SHARED, cache_scope
from .rules import Unmet, deny_verb, granted_scopes, rule_problem

_NOTHING: frozenset[str] = frozenset()


class RouteVerdict(NamedTuple):
    problem: AuthorizationError | None = None  # why the request is refused, or None
    scope: str | None = None  # how far the answer may be reused (reuse.*), when it was read
    spared: frozenset[str] = _NOTHING  # routes whose Denies stay out of the answer


_ALLOWED = RouteVerdict()  # the usual verdict, built once


class RouteGuard:
    def __init__(self, routes: Mapping[str, RouteRule], *, tenants: bool = False,
                 scoped: frozenset[str] = frozenset()) -> None:
        self.routes = routes
        self.tenants = tenants  # with tenant rules the scope is always read (tenant_guard needs it)
        self.scoped = scoped  # routes whose answers depend on more than the route (MCP's headers): likewise
        self.overlaps = RouteOverlaps(routes)

    def decide(self, request: AuthRequest, event: Any, arn: MethodArn | None, unmet: Unmet,
               claims: Mapping[str, Any], simple: bool) -> RouteVerdict:
        route_key = request.route_key
        if route_key is None:
            scope = self._scope(request, event) if self.tenants else None
            if simple:
                unknown = UnknownRouteError("route rules are configured but the event names no route")
                return RouteVerdict(unknown if self.routes else None, scope)
            covering = _covering(unmet, arn, request.arn, None)
            return RouteVerdict(None if covering is None else _problem(covering, claims), scope)

        rule = self.routes.get(route_key)
        problem: AuthorizationError | None = None
        if rule is not None and route_key in unmet.keys:
            problem = rule_problem(rule, claims, granted_scopes(claims))
        overlapping = self.overlaps.of(route_key)
        covering = None
        if not (self.tenants or (simple and self.routes) or route_key in self.scoped):
            if simple or not unmet:
                return _ALLOWED if problem is None else RouteVerdict(problem)
            if overlapping.isdisjoint(unmet.keys):
                # A Deny for a route of another verb cannot match this ARN (its verb segment is literal).
                if arn is not None and (arn.verb in unmet.verbs or "*" in unmet.verbs):
                    covering = _covering(unmet, arn, request.arn, rule)
                if covering is None:  # nothing that could be reused elsewhere covers this route: no scope needed
                    return _ALLOWED if problem is None else RouteVerdict(problem)
        scope = self._scope(request, event)
        if scope != SHARED:  # evaluated only against this route's requests: its own rule decides
            spared = overlapping if covering is None else overlapping | {covering.route_key}
            return RouteVerdict(problem, scope, spared)
        if problem is None and not self.tenants:
            if simple:
                problem = CacheKeyTooWideError(f"{route_key}: a simple answer cached by the token alone holds on every "
                                               "route; with route rules, the identity sources need $context.routeKey")
            else:
                covering = covering or _covering(unmet, arn, request.arn, rule)
                if covering is not None:
                    problem = CacheKeyTooWideError(
                        f"{route_key}: the answer may be reused on any route, so it denies {covering.route_key}, "
                        "whose pattern covers this request; the identity sources need $context.routeKey")
        return RouteVerdict(problem, scope)

    @staticmethod
    def _scope(request: AuthRequest, event: Any) -> str:
        return REQUEST if request.per_request else cache_scope(event, request.route_key)


def _covering(unmet: Iterable[RouteRule], arn: MethodArn | None, request_arn: str | None,
              own: RouteRule | None) -> RouteRule | None:
    """The first unmet route (not the matched one) whose Deny pattern covers this request's ARN."""
    if arn is None:
        return None
    for rule in unmet:
        if rule is own:
            continue
        # A Deny for a route of another verb cannot match this ARN (its verb segment is literal): no matching then.
        if deny_verb(rule.route_key) in ("*", arn.verb) and resource_matches(arn.route_resource(rule.route_key),
                                                                          request_arn):
            return rule
    return None


def _problem(rule: RouteRule, claims: Mapping[str, Any]) -> AuthorizationError | None:
    return rule_problem(rule, claims, granted_scopes(claims))

