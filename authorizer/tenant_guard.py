"""The tenant side of one decision: ``TenantGuard.decide`` (is the path's tenant the token's?) and
``TenantGuard.policy`` (an IAM answer that stays right wherever API Gateway reuses it). See ``authorizer.tenancy``
for the rules and the design; this module applies them to one request.

Where an answer may be reused depends on the identity sources (``reuse.cache_scope``):

| scope     | tenant route                                  | other route                                        |
|-----------|-----------------------------------------------|----------------------------------------------------|
| request   | decided; context names the tenant             | the usual policy + Deny every tenant route         |
| route     | decided; allow-list; no tenant in the context | the usual policy + Deny every tenant route         |
| shared    | decided; allow-list; no tenant in the context | allow-list; a catch-all's Allow is refused         |

In scopes ``request`` and ``route`` the answer is evaluated only against its own route's requests, so no Deny of
another route that overlaps it (``route_guard``: *spared*) is written: the matched route's rule decides, as API
Gateway routes (the docs' ``/tenants/{t}/{section}`` for viewers beside ``/tenants/{t}/orders`` for admins). In
scope ``shared`` every Deny stays; a request that one of them would refuse although its own route allows it is
refused with ``cache_key_too_wide``, so the log says what API Gateway does.

A simple answer says nothing about route or tenant: on a tenant route it needs scope ``request``, elsewhere
``route`` at least; else it is refused (``cache_key_too_wide``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .config import RouteRule
from .errors import AuthorizationError, CacheKeyTooWideError, TenantMismatchError
from .overlaps import RouteOverlaps
from .policy import (
    MAX_RESOURCE_LENGTH,
    MethodArn,
    allow_policy,
    iam_response,
    resource_matches,
    statement,
)
from .reuse import REQUEST, SHARED
from .tenancy import (
    TenantPlan,
    allow_list,
    path_parameter,
    qualifies,
    requested_grant,
    tenant_context,
    tenant_problem,
    tenant_resource,
    tenant_resources,
    tenants_of,
)


class TenantDecision(NamedTuple):
    problem: AuthorizationError | None = None
    tenant: tuple[str, str] | None = None  # (route key, tenant) this request was allowed on
    context: dict[str, str] | None = None  # what the backend learns: only when the answer is never reused
    resource: str | None = None  # the policy resource decided for this request's tenant (IAM answers)


class TenantGuard:
    no_decision = TenantDecision()  # a route without a tenant rule, or a request refused before this stage
    def __init__(self, routes: Mapping[str, RouteRule], overlaps: RouteOverlaps | None = None) -> None:
        self.routes = routes
        self.plan = TenantPlan(routes, overlaps)

    def decide(self, event: Any, route_key: str | None, arn: MethodArn | None, request_arn: str | None,
               claims: Mapping[str, Any], scope: str) -> TenantDecision:
        """On a tenant route: the tenant ``pathParameters`` names must be one of the token's, with the rule's
        roles/permissions there. ``arn`` None: a simple answer.

        With an IAM answer, API Gateway matches the policy against the request's ARN, whose path may spell the
        tenant otherwise (``%41`` for ``A``): then no allow-list entry covers it, and the decision says so rather
        than log an allow that API Gateway turns into a 403.
        """
        rule = self.routes.get(route_key) if route_key is not None else None
        tenant_rule = rule.tenant if rule is not None else None
        if route_key is not None and (
                (arn is None and scope == SHARED)
                or (arn is None and tenant_rule is not None and scope != REQUEST)
                or (arn is not None and tenant_rule is None and scope == SHARED
                    and self.plan.covers_tenant_routes(route_key))):
            return TenantDecision(CacheKeyTooWideError(
                f"{route_key}: with tenant rules, this answer could be reused where it would be wrong (the identity "
                "sources need $context.routeKey, and a tenant route's simple answer $context.requestId)"))
        if rule is None or tenant_rule is None:
            return TenantDecision()
        requested = path_parameter(event, tenant_rule.param)
        # The requested tenant alone decides an allow; a refusal reads the whole claim for its reason and data.
        grant = requested_grant(claims, tenant_rule.claim, requested)
        if grant is None or requested is None or not qualifies(tenant_rule, grant):
            problem = tenant_problem(rule, tenants_of(claims, tenant_rule.claim), requested)
            return TenantDecision(problem or TenantMismatchError(  # never an allow should the two readings differ
                f"{rule.route_key}: the token's tenants could not be read", claim=tenant_rule.claim))
        resource = None
        if arn is not None and request_arn is not None:
            verb = arn.verb if rule.route_key.startswith("ANY ") else None
            resource = tenant_resource(arn.stage_prefix, rule.route_key, tenant_rule.param, requested, verb)
            if resource is None or len(resource) > MAX_RESOURCE_LENGTH or (resource != request_arn and not (
                    "*" in resource and resource_matches(resource, request_arn))):
                return TenantDecision(TenantMismatchError(
                    f"{rule.route_key}: no policy entry can cover this request's ARN for tenant parameter "
                    f"{tenant_rule.param!r} (percent-encoded, or over {MAX_RESOURCE_LENGTH} characters)",
                    claim=tenant_rule.claim, expected=(requested,)))
            if scope == SHARED:
                problem = self._nested_denial(rule, requested, arn, request_arn, claims)
                if problem is not None:
                    return TenantDecision(problem)
        context = tenant_context(requested, grant) if scope == REQUEST else None
        return TenantDecision(None, (rule.route_key, requested), context, resource)

    def _nested_denial(self, rule: RouteRule, tenant: str, arn: MethodArn, request_arn: str,
                       claims: Mapping[str, Any]) -> AuthorizationError | None:
        """In a shared answer, each tenant granted on one route is denied on the tenant routes that overlap it where
        it does not qualify (``tenancy.allow_list``); when such a Deny covers this very request, API Gateway refuses
        it though its own route allows it — say so."""
        for other in self.plan.nested.get(rule.route_key, ()):
            other_rule = other.tenant
            assert other_rule is not None
            grant = requested_grant(claims, other_rule.claim, tenant)
            if grant is not None and qualifies(other_rule, grant):
                continue
            if any(resource_matches(resource, request_arn)
                   for resource in tenant_resources(arn.stage_prefix, other.route_key, other_rule.param, tenant)):
                return CacheKeyTooWideError(
                    f"{rule.route_key}: the answer may be reused on any route, so it denies tenant {tenant} on "
                    f"{other.route_key}, whose pattern covers this request; the identity sources need "
                    "$context.routeKey")
        return None

    def policy(self, route_key: str | None, arn: MethodArn, principal_id: str, claims: Mapping[str, Any],
               unmet: Iterable[RouteRule], context: dict[str, Any], decision: TenantDecision,
               deny_request: str | None, scope: str, spared: frozenset[str] = frozenset()
               ) -> tuple[dict[str, Any], int]:
        """The IAM answer, and how many qualifying tenant resources did not fit in it. ``spared``: the routes that
        overlap this request's own, whose Denies stay out of an answer evaluated only against that route."""
        plan = self.plan
        rule = self.routes.get(route_key) if route_key is not None else None
        if scope == REQUEST and rule is not None and rule.tenant is not None:
            # On its tenant route, in an answer evaluated against this request alone: the decided tenant's resource
            # is all it allows (a cacheable answer lists every tenant the token qualifies for, below).
            if decision.resource is not None and deny_request is None:
                return iam_response(principal_id, [statement("Allow", [decision.resource])], context), 0
            return iam_response(principal_id, [statement("Deny", f"{arn.stage_prefix}/*")], context), 0
        other_route = route_key is not None and (rule is None or rule.tenant is None)
        if other_route and scope != SHARED:
            denied = [*unmet, *(r for r in plan.tenant_routes if not any(r is u for u in unmet))]
            denied = [r for r in denied if r.route_key not in spared]
            return allow_policy(arn, principal_id, denied, context, deny_request=deny_request), 0
        unlisted = route_key if other_route and rule is None and deny_request is None \
            and route_key is not None and not plan.covers_tenant_routes(route_key) else None
        statements, left_out = allow_list(arn.stage_prefix, plan, unmet, claims, decision.tenant, deny_request,
                                          unlisted, spared)
        return iam_response(principal_id, statements, context), left_out
