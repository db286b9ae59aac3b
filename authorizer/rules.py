"""Route rules against verified claims: which configured routes a token may not call. Pure functions.

Scopes are any-of, as with the native JWT authorizer; ``scope`` and ``scp`` both count, each a string separated by
U+0020 only (RFC 6749 §3.3: a tab or a no-break space is part of a scope) or a list of strings (WSO2's "JWT scope as
array", Okta's ``scp``). Claim rules must all hold; a list-valued claim holds when any element is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from .config import RouteRule
from .errors import ABSENT, AuthorizationError, ClaimRuleError, InsufficientScopeError


def granted_scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """``scope`` and ``scp``, each a space-separated string or a list of strings."""
    scope, scp = claims.get("scope"), claims.get("scp")
    if scp is None and type(scope) is str:  # the usual token: one space-separated string (the hot path)
        return frozenset(_space_separated(scope))
    scopes: list[str] = []
    for value in (scope, scp):
        if isinstance(value, str):
            scopes += _space_separated(value)
        elif isinstance(value, list):
            scopes += [s for s in value if isinstance(s, str)]
    return frozenset(scopes)


def _space_separated(text: str) -> list[str]:
    """RFC 6749 §3.3: scopes are separated by U+0020 only (a tab or a no-break space is part of a scope)."""
    parts = text.split(" ")
    return parts if "" not in parts else [part for part in parts if part]  # the usual case builds no second list


def rule_problem(rule: RouteRule, claims: Mapping[str, Any], scopes: frozenset[str]) -> AuthorizationError | None:
    """Why this token does not meet the rule, or None when it does: the first unmet part, as data.

    Scopes: ``claim`` ``"scope"``, ``expected`` the rule's scopes (any one), ``actual`` the granted scopes (from
    ``scope`` and ``scp``). A claim rule: ``claim`` its name, ``expected`` the accepted values, ``actual`` what the
    token holds (unset when it lacks the claim).
    """
    if rule.scopes and scopes.isdisjoint(rule.scopes):
        return InsufficientScopeError(f"{rule.route_key} needs one of the scopes {list(rule.scopes)}",
                                      claim="scope", expected=rule.scopes, actual=tuple(sorted(scopes)))
    unmet = _unmet_claim(rule, claims)
    if unmet is not None:
        name, accepted = unmet
        return ClaimRuleError(f"{rule.route_key} needs claim {name!r} to be one of {list(accepted)}",
                              claim=name, expected=accepted, actual=claims.get(name, ABSENT))
    return None


def rule_met(rule: RouteRule, claims: Mapping[str, Any], scopes: frozenset[str]) -> bool:
    return not (rule.scopes and scopes.isdisjoint(rule.scopes)) and _unmet_claim(rule, claims) is None


def unmet_rules(rules: Iterable[RouteRule], claims: Mapping[str, Any]) -> list[RouteRule]:
    """The rules this token does not meet. (The reasons are built only where needed: see ``rule_problem``.)"""
    scopes = granted_scopes(claims)
    return [rule for rule in rules if not rule_met(rule, claims, scopes)]


def _unmet_claim(rule: RouteRule, claims: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
    for name, accepted in rule.claims:
        value = claims.get(name)
        values = value if isinstance(value, list) else [value]
        if not any(_same(v, a) for v in values for a in accepted):
            return name, accepted
    return None


def _same(value: Any, accepted: Any) -> bool:
    # True == 1 in Python; a claim rule for 1 must not accept true.
    return value == accepted and isinstance(value, bool) == isinstance(accepted, bool)


#: At most this many distinct signatures (see ``RuleBook``) are remembered: a bound against tokens made to differ.
MAX_SIGNATURES = 1024


class Unmet:
    """The routes a token may not call, with what the later stages ask of them, worked out once.

    ``rules`` in configuration order; ``keys`` their route keys; ``verbs`` the verb segments of their Deny patterns
    (``*`` for ``ANY`` and ``$default``). ``statements`` is where ``policy`` keeps the policy statements it builds for
    them, per stage: a remembered ``Unmet`` is shared by every token of its signature.
    """

    __slots__ = ("rules", "keys", "verbs", "statements")

    def __init__(self, rules: tuple[RouteRule, ...]) -> None:
        self.rules = rules
        self.keys = frozenset(rule.route_key for rule in rules)
        self.verbs = frozenset(deny_verb(rule.route_key) for rule in rules)
        self.statements: dict[str, tuple[dict[str, Any], ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __iter__(self) -> Iterator[RouteRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


@lru_cache(maxsize=1024)
def deny_verb(route_key: str) -> str:
    """The verb segment of a route's Deny pattern: ``*`` for ``ANY`` and for ``$default`` (the whole stage)."""
    method = route_key.partition(" ")[0]
    return "*" if method in ("ANY", "$default") else method


NOTHING_UNMET = Unmet(())


class RuleBook:
    """The route rules, compiled: which ones a token misses, remembered by what the rules read of it.

    A rule reads ``scope``/``scp`` and its claim rules' claims, nothing else; so tokens alike in those — every token a
    client gets, usually — miss the same rules. ``unmet(claims)`` looks them up by that *signature* (each value with
    its JSON type: ``1`` and ``true`` stay apart), and works them out (``unmet_rules``) only for a new one. Values the
    signature cannot hold (an object) are worked out every time.

        >>> book = RuleBook([RouteRule("GET /orders", scopes=("orders:read",))])
        >>> [r.route_key for r in book.unmet({"scope": "profile"})], bool(book.unmet({"scope": "orders:read"}))
        (['GET /orders'], False)
    """

    def __init__(self, rules: Iterable[RouteRule]) -> None:
        self.rules = tuple(rules)
        self.claim_names = tuple(sorted({name for rule in self.rules for name, _ in rule.claims}))
        self._by_signature: dict[Any, Unmet] = {}

    def unmet(self, claims: Mapping[str, Any]) -> Unmet:
        get = claims.get
        scope = get("scope")
        if not self.claim_names and type(scope) is str and get("scp") is None:
            signature: Any = scope  # the usual token: one space-separated string
        else:
            signature = _signature(claims, self.claim_names)
            if signature is None:
                return self._work_out(claims)
        found = self._by_signature.get(signature)
        if found is None:
            found = self._work_out(claims)
            if len(self._by_signature) < MAX_SIGNATURES:
                self._by_signature[signature] = found
        return found

    def _work_out(self, claims: Mapping[str, Any]) -> Unmet:
        rules = tuple(unmet_rules(self.rules, claims))
        return Unmet(rules) if rules else NOTHING_UNMET


def _signature(claims: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """``scope``, ``scp`` and the named claims, typed and hashable; None when one of them cannot be."""
    parts = []
    for name in ("scope", "scp", *names):
        value = _typed(claims.get(name, _MISSING))
        if value is None:
            return None
        parts.append(value)
    return ("signature", *parts)


_MISSING = object()


def _typed(value: Any) -> Any:
    if value is _MISSING or value is None:
        return (type(value).__name__,)
    if isinstance(value, (str, bool, int, float)):
        return (type(value).__name__, value)
    if isinstance(value, list):
        items = [_typed(v) for v in value]
        return None if any(i is None for i in items) else ("list", *items)
    return None
