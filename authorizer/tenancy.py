"""Tenant rules: a route's ``{tenantId}`` must be one of the caller's tenants, in answers that are safe to cache.

A tenant route (``RouteRule.tenant``) names the path parameter that carries the tenant and the claim that holds the
caller's tenants. The request's tenant comes from ``pathParameters`` — the value API Gateway matched the route
with — never from re-parsing the path. The claim may be

- an object whose keys are tenant IDs (Descope's ``tenants``: ``{"T1": {"roles": [...], "permissions": [...]}}``),
- a list of tenant IDs, or
- one tenant ID (``org_id``, ``tid``, Descope's ``dct``).

Only tenant IDs matching ``TENANT_ID`` count (no ``*``, ``?``, ``/``, ``%``, dot-segment or non-ASCII, at most
128 characters): they are the only ones that can be written into a policy's Resource without widening it, so a
token or a path can never bring an IAM wildcard into a policy.

Why the policy is an allow-list
-------------------------------
A cached IAM answer may be evaluated against another tenant's path. "Allow the stage, Deny what is unmet" cannot
express "this route, for these tenants only" (an explicit Deny beats every Allow), so an answer that could be
evaluated on a tenant path it was not decided for **lists what it allows** (``allow_list``): every configured route
the token may call, with the token's qualifying tenants written into the tenant routes, and explicit Denies for the
routes it may not call. A request for any other tenant matches no Allow and is denied, whatever path it came from.
Routes whose pattern could cover a tenant route's resources (``ANY /{proxy+}``, ``$default``) are not listed: their
Allow would cover every tenant. How far an answer may be reused is read from the event (``cache_scope``);
``authorizer.tenant_guard`` chooses the answer by it. At most ``MAX_POLICY_TENANTS`` tenant resources go into one
policy (the request's tenant first); the construct decides tenant routes per request (a second authorizer without
a result cache), so a token with more tenants loses nothing there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from .config import RouteRule, TenantRule
from .errors import ABSENT, AuthorizationError, TenantMismatchError, TenantMissingError, TenantRoleError
from .overlaps import VERBS, RouteOverlaps
from .policy import MAX_RESOURCE_LENGTH, TENANT_CONTEXT_KEYS, request_resource, route_resource, statement

#: A tenant ID that may be written into a policy's Resource: no IAM wildcard (``*``, ``?``), no ``/``, no percent
#: sign, no dot-segment, at most 128 characters. Tenants outside it are never granted. Compiled here, with the tenant
#: code: the cold start of a configuration without tenant rules never compiles it.
TENANT_ID = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9_.~-]{0,127}")

#: How many tenant resources one policy carries at most (the request's tenant first). About 100 characters each.
MAX_POLICY_TENANTS = 50


class TenantGrant(NamedTuple):
    """What the token holds within one tenant (empty for the list and single-string shapes)."""

    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()


class Tenants(NamedTuple):
    """The caller's tenants as a claim holds them: the usable ones, and how many IDs were refused."""

    grants: dict[str, TenantGrant]
    refused: int


def tenants_of(claims: Mapping[str, Any], claim: str) -> Tenants:
    """The tenants ``claims[claim]`` names, in any of the three shapes; IDs outside ``TENANT_ID`` are refused."""
    value = claims.get(claim)
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        ids = [v for v in value if isinstance(v, str)]
        grants = {t: TenantGrant() for t in ids if TENANT_ID.fullmatch(t)}
        return Tenants(grants, len(value) - len(grants))
    if isinstance(value, dict):
        grants = {t: _grant(v) for t, v in value.items() if TENANT_ID.fullmatch(t)}
        return Tenants(grants, len(value) - len(grants))
    return Tenants({}, 0)


def requested_grant(claims: Mapping[str, Any], claim: str, requested: str | None) -> TenantGrant | None:
    """What the token holds in the one tenant the request names: ``tenants_of(claims, claim).grants.get(requested)``
    without reading the other tenants (a token may hold a hundred), or None."""
    if requested is None or not TENANT_ID.fullmatch(requested):
        return None
    value = claims.get(claim)
    if isinstance(value, dict):
        return _grant(value[requested]) if requested in value else None
    if isinstance(value, (str, list)):
        return TenantGrant() if requested == value or (isinstance(value, list) and requested in value) else None
    return None


def _grant(value: Any) -> TenantGrant:
    if not isinstance(value, dict):
        return TenantGrant()
    return TenantGrant(_strings(value.get("roles")), _strings(value.get("permissions")))


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def qualifies(rule: TenantRule, grant: TenantGrant) -> bool:
    """Any one of the rule's roles, and any one of its permissions, within the tenant (each only when required)."""
    return ((not rule.roles or not rule.role_set.isdisjoint(grant.roles))
            and (not rule.permissions or not rule.permission_set.isdisjoint(grant.permissions)))


def tenant_problem(route: RouteRule, tenants: Tenants, requested: Any) -> AuthorizationError | None:
    """Why the tenant the request names is refused on ``route`` (or None), as data: claim, expected, actual."""
    rule = route.tenant
    assert rule is not None
    if not tenants.grants:
        refused = f" ({tenants.refused} tenant IDs not usable: see TENANT_ID)" if tenants.refused else ""
        return TenantMissingError(f"{route.route_key} needs a tenant, and the token's {rule.claim!r} names none"
                                  + refused, claim=rule.claim, actual=ABSENT if not tenants.refused else ())
    if not isinstance(requested, str) or requested not in tenants.grants:
        what = "names no tenant" if not isinstance(requested, str) else "names a tenant that is not one of the token's"
        return TenantMismatchError(f"{route.route_key}: the path parameter {rule.param!r} {what}", claim=rule.claim,
                                   expected=(requested,) if isinstance(requested, str) else (),
                                   actual=tuple(sorted(tenants.grants)))
    grant = tenants.grants[requested]
    if rule.roles and rule.role_set.isdisjoint(grant.roles):
        return TenantRoleError(f"{route.route_key} needs one of the roles {list(rule.roles)} in the tenant",
                               claim=f"{rule.claim}.roles", expected=rule.roles, actual=grant.roles)
    if rule.permissions and rule.permission_set.isdisjoint(grant.permissions):
        return TenantRoleError(f"{route.route_key} needs one of the permissions {list(rule.permissions)} in the "
                               "tenant", claim=f"{rule.claim}.permissions", expected=rule.permissions,
                               actual=grant.permissions)
    return None


def path_parameter(event: Any, name: str) -> str | None:
    """The value API Gateway matched ``{name}`` with (``pathParameters``), or None."""
    parameters = event.get("pathParameters") if isinstance(event, dict) else None
    value = parameters.get(name) if isinstance(parameters, dict) else None
    return value if isinstance(value, str) else None


def tenant_context(tenant: str, grant: TenantGrant) -> dict[str, str]:
    """The tenant this request was authorized for, and its roles/permissions (lists as compact JSON, as claims)."""
    tenant_key, roles_key, permissions_key = TENANT_CONTEXT_KEYS
    return {tenant_key: tenant, roles_key: _compact_json(grant.roles), permissions_key: _compact_json(grant.permissions)}


@lru_cache(maxsize=256)
def _compact_json(strings: tuple[str, ...]) -> str:
    # A role or permission list as compact JSON, once per distinct list (callers share a handful of them).
    return json.dumps(list(strings), separators=(",", ":"))


# --- policies -----------------------------------------------------------------------------------------------
class TenantPlan:
    """What the allow-list needs from the route table, worked out once per configuration."""

    def __init__(self, routes: Mapping[str, RouteRule], overlaps: RouteOverlaps | None = None) -> None:
        self.routes = tuple(routes.values())
        self.tenant_routes = tuple(r for r in self.routes if r.tenant is not None)
        self.overlaps = overlaps or RouteOverlaps(routes)
        tenant_keys = frozenset(r.route_key for r in self.tenant_routes)
        self._tenant_keys = tenant_keys
        #: Routes without a tenant rule whose Allow could cover some tenant route's resources: never listed.
        self.covers_tenants = frozenset(key for key, rule in routes.items()
                                        if rule.tenant is None and self.overlaps.of(key) & tenant_keys)
        #: Tenant route → the other tenant routes whose resources its Allows could cover (or be covered by).
        self.nested: dict[str, tuple[RouteRule, ...]] = {
            rule.route_key: tuple(routes[other] for other in sorted(self.overlaps.of(rule.route_key) & tenant_keys))
            for rule in self.tenant_routes}

    def covers_tenant_routes(self, route_key: str) -> bool:
        """Whether this route's Allow (configured or not: an event's ``routeKey``) could cover a tenant route."""
        return route_key in self.covers_tenants or bool(self.overlaps.of(route_key) & self._tenant_keys
                                                        - {route_key})


def tenant_resources(stage_prefix: str, route_key: str, param: str, tenant: str) -> list[str]:
    """The route's resources for one tenant: ``{param}`` replaced by the tenant ID (a ``TENANT_ID``), the parameters
    after it ``*``. ``ANY`` is written as one resource per verb: a ``*`` before the tenant's segment would span ``/``
    and let ``.../GET/tenants/B/tenants/A/x`` match tenant A's resource. (No parameter comes before the tenant's
    segment: ``parse_tenant_rule`` refuses such routes, for the same reason.)"""
    return [tenant.join(_tenant_template(stage_prefix, route_key, param, verb)) for verb in _verbs(route_key)]


def tenant_resource(stage_prefix: str, route_key: str, param: str, tenant: str, verb: str | None = None) -> str | None:
    """The resource of one tenant for ``verb`` (default: the route's own, or ``GET`` for ``ANY``); None when the
    route has no such verb."""
    verbs = _verbs(route_key)
    wanted = verb if verb is not None else verbs[0]
    return tenant.join(_tenant_template(stage_prefix, route_key, param, wanted)) if wanted in verbs else None


def _verbs(route_key: str) -> tuple[str, ...]:
    method = route_key.partition(" ")[0]
    return VERBS if method == "ANY" else (method,)


def route_resources(stage_prefix: str, route_key: str) -> list[str]:
    """A route's Allow resources: ``ANY`` verb by verb (as ``overlaps`` judges it), so that its leading ``*`` never
    spans into another route's path (``*/misc/*`` matches ``GET/tenants/A/misc/x``)."""
    if route_key == "$default" or not route_key.startswith("ANY "):
        return [route_resource(stage_prefix, route_key)]
    path = route_key.partition(" ")[2]
    return [route_resource(stage_prefix, f"{verb} {path}") for verb in VERBS]


@lru_cache(maxsize=1024)
def _tenant_template(stage_prefix: str, route_key: str, param: str, verb: str) -> list[str]:
    # The route's resource (``route_resource``, for one verb) split where the tenant goes: a policy with 50 tenants
    # joins 50 strings, nothing more. The placeholder is no {param}, so route_resource keeps it as it is.
    path = route_key.partition(" ")[2].replace("{" + param + "}", "\0")
    return route_resource(stage_prefix, f"{verb} {path}").split("\0")


def allow_list(stage_prefix: str, plan: TenantPlan, unmet: Iterable[RouteRule], claims: Mapping[str, Any],
               first: tuple[str, str] | None = None, deny_request: str | None = None,
               matched: str | None = None, spared: frozenset[str] = frozenset()
               ) -> tuple[list[dict[str, Any]], int]:
    """The statements of an allow-list policy, and how many qualifying tenant resources did not fit.

    ``first``: (route key, tenant) of this request, put first so that a truncated policy still answers it.
    ``matched``: the route of this request when it has no rule (not configured) and covers no tenant route.
    ``spared``: routes that get no Deny here — the others that overlap this request's own route, when the answer is
    evaluated against that route's requests alone (``reuse.ROUTE``/``REQUEST``): there its own rule decides.
    Tenants are listed in the token's order (the same token gets the same policy); a resource over API Gateway's
    512 characters is left out (a longer one would make API Gateway reject the whole answer).
    """
    known: dict[str, Tenants] = {}  # claim name → its Tenants: each claim is read once per answer
    unmet_keys = {rule.route_key for rule in unmet}
    allows: list[str] = route_resources(stage_prefix, matched) if matched is not None else []
    denies: list[str] = []
    for rule in plan.routes:
        if rule.route_key in unmet_keys:
            if rule.route_key not in spared:
                denies.append(route_resource(stage_prefix, rule.route_key))
        elif rule.tenant is None and rule.route_key not in plan.covers_tenants:
            allows += route_resources(stage_prefix, rule.route_key)
    budget, left_out = MAX_POLICY_TENANTS, 0
    granted: list[tuple[RouteRule, str]] = []
    ordered = sorted(plan.tenant_routes, key=lambda r: first is None or r.route_key != first[0])
    for rule in ordered:
        if rule.route_key in unmet_keys:
            continue
        tenant_rule = rule.tenant
        assert tenant_rule is not None
        grants = _tenants(known, claims, tenant_rule.claim).grants
        qualifying = [t for t, g in grants.items() if qualifies(tenant_rule, g)]
        if first is not None and first[0] == rule.route_key and first[1] in grants:
            qualifying.sort(key=lambda t: t != first[1])  # stable: the request's tenant first, then the token's order
        for tenant in qualifying:
            resources = [r for r in tenant_resources(stage_prefix, rule.route_key, tenant_rule.param, tenant)
                         if len(r) <= MAX_RESOURCE_LENGTH]
            if budget < len(resources) or not resources:
                left_out += 1
                continue
            budget -= len(resources)
            allows += resources
            granted.append((rule, tenant))
    # Where one tenant route's resources can cover another's (``/tenants/{t}/{section}`` and ``/tenants/{t}/orders``),
    # each tenant granted on one is denied on the other unless it qualifies there too, whatever claim each reads.
    for rule, tenant in granted:
        for other in plan.nested.get(rule.route_key, ()):
            other_rule = other.tenant
            assert other_rule is not None
            grant = _tenants(known, claims, other_rule.claim).grants.get(tenant)
            if other.route_key not in unmet_keys and other.route_key not in spared and (
                    grant is None or not qualifies(other_rule, grant)):
                denies += tenant_resources(stage_prefix, other.route_key, other_rule.param, tenant)
    if deny_request is not None:
        denies.append(request_resource(stage_prefix, deny_request))
    statements = [statement("Allow", allows)] if allows else []
    statements += [statement("Deny", resource) for resource in denies]
    return statements or [statement("Deny", stage_prefix + "/*")], left_out


def _tenants(known: dict[str, Tenants], claims: Mapping[str, Any], claim: str) -> Tenants:
    tenants = known.get(claim)
    if tenants is None:
        tenants = known[claim] = tenants_of(claims, claim)
    return tenants
