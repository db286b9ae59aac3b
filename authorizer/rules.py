"""Route rules against verified claims: which configured routes a token may not call. Pure functions.

Scopes are any-of, as with the native JWT authorizer; ``scope`` (space-separated) and ``scp`` (a string or a
list) both count. Claim rules must all hold; a list-valued claim holds when any element is accepted.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable, Mapping

from .config import RouteRule
from .errors import AuthorizationError, ClaimRuleError, InsufficientScopeError


def granted_scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scopes = set(claims["scope"].split()) if isinstance(claims.get("scope"), str) else set()
    scp = claims.get("scp")
    if isinstance(scp, str):
        scopes.update(scp.split())
    elif isinstance(scp, list):
        scopes.update(s for s in scp if isinstance(s, str))
    return frozenset(scopes)


def rule_problem(rule: RouteRule, claims: Mapping[str, Any], scopes: frozenset[str]) -> AuthorizationError | None:
    """Why this token does not meet the rule, or None when it does."""
    if rule.scopes and scopes.isdisjoint(rule.scopes):
        return InsufficientScopeError(f"{rule.route_key} needs one of the scopes {list(rule.scopes)}")
    for name, accepted in rule.claims:
        value = claims.get(name)
        values = value if isinstance(value, list) else [value]
        if not any(_same(v, a) for v in values for a in accepted):
            return ClaimRuleError(f"{rule.route_key} needs claim {name!r} to be one of {list(accepted)}")
    return None


def unmet_rules(rules: Iterable[RouteRule], claims: Mapping[str, Any]) -> list[tuple[RouteRule, AuthorizationError]]:
    scopes = granted_scopes(claims)
    unmet = []
    for rule in rules:
        problem = rule_problem(rule, claims, scopes)
        if problem is not None:
            unmet.append((rule, problem))
    return unmet


def route_matches(rule: RouteRule, method: str, path: str) -> bool:
    """Does a request (``GET``, ``/orders/42``) fall under this rule's route key? ``$default`` matches all."""
    if rule.route_key == "$default":
        return True
    if rule.method not in ("ANY", method):
        return False
    return _route_pattern(rule.path).fullmatch(path) is not None


@lru_cache(maxsize=256)
def _route_pattern(path: str) -> re.Pattern[str]:
    parts = []
    for segment in path.split("/")[1:]:
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(".+")
        elif segment.startswith("{"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


def _same(value: Any, accepted: Any) -> bool:
    # True == 1 in Python; a claim rule for 1 must not accept true.
    return value == accepted and isinstance(value, bool) == isinstance(accepted, bool)
