"""Building what API Gateway expects back: cache-safe IAM policies, simple responses, and the claims context.

A policy may be cached by the Authorization header alone and reused on every route of the API, so it never
describes just the current request: it allows the whole stage and explicitly denies each configured route
whose rule the token does not meet. Explicit Deny wins in IAM evaluation, so reuse stays correct.

    >>> arn = MethodArn.parse("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/$default/GET/orders")
    >>> arn.route_resource("POST /orders/{id}")
    'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/$default/POST/orders/*'
    >>> MethodArn.parse("arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/").stage_prefix
    'arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*'
    >>> MethodArn.parse("arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/$default").verb
    '$default'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from .config import RouteRule
from .rules import Unmet
from .text import clean_text, is_clean

#: Every ARN form API Gateway sends: stage ``$default``, a named stage, or ``*`` (the console's test events);
#: ``<VERB>/<path>`` (the path may hold ``*``, ``?`` or percent-encoded bytes), or the ``$default`` route with no verb.
_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):execute-api:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<api>[A-Za-z0-9]+)/(?P<stage>\*|[^/*?]+)/(?:(?P<default>\$default)|(?P<verb>[A-Z]+|\*)(?:/(?P<path>.*))?)"
)
#: ``claims``: API Gateway rejects a context holding it. ``authorized_tenant*``: set only by a tenant rule
#: (``authorizer.tenancy``), so a token's own claim of that name never reaches the backend.
TENANT_CONTEXT_KEYS = ("authorized_tenant", "authorized_tenant_roles", "authorized_tenant_permissions")
RESERVED_CONTEXT_KEYS = frozenset({"claims", *TENANT_CONTEXT_KEYS})
_RESERVED_OR_EMPTY = RESERVED_CONTEXT_KEYS | {""}
_PLAIN = frozenset({str, int, bool})  # what json decodes most claims as, and what the context keeps as they are
MAX_RESOURCE_LENGTH = 512  # API Gateway's limit on a policy's Resource ARN


class MethodArn(NamedTuple):
    """The parts of a ``methodArn``/``routeArn``; the partition is kept (aws-cn, aws-us-gov).

    A NamedTuple, not a frozen dataclass: as immutable (parsed ARNs are shared by the cache below), and it costs a
    fraction at import.
    """

    partition: str
    region: str
    account: str
    api: str
    stage: str
    verb: str
    path: str
    stage_prefix: str  # arn:<partition>:execute-api:<region>:<account>:<api>/<stage>, computed once per ARN

    @classmethod
    def parse(cls, arn: Any) -> MethodArn | None:
        if not isinstance(arn, str) or len(arn) > 2048:
            return None
        return _parse_arn(arn)

    def route_resource(self, route_key: str) -> str:
        """``{param}`` and ``{proxy+}`` become ``*``, ``ANY`` becomes ``*``; ``$default`` is the whole stage."""
        return route_resource(self.stage_prefix, route_key)


@lru_cache(maxsize=1024)
def _parse_arn(arn: str) -> MethodArn | None:
    # A warm function sees the same few route ARNs over and over: the regex runs once per ARN, not per request.
    match = _ARN.fullmatch(arn)
    if match is None:
        return None
    prefix = f"arn:{match['partition']}:execute-api:{match['region']}:{match['account']}:{match['api']}/{match['stage']}"
    verb = match["default"] or match["verb"]  # "$default": the $default route, which names no verb or path
    return MethodArn(match["partition"], match["region"], match["account"], match["api"], match["stage"],
                     verb, "/" + (match["path"] or ""), prefix)


@lru_cache(maxsize=1024)
def route_resource(stage_prefix: str, route_key: str) -> str:
    # Every allowed request lists a Deny for each route its token may not call: the same few strings each time.
    if route_key == "$default":
        return f"{stage_prefix}/*"
    method, _, path = route_key.partition(" ")
    verb = "*" if method == "ANY" else method
    segments = ["*" if s.startswith("{") else s for s in path.split("/")[1:]]
    return f"{stage_prefix}/{verb}/{'/'.join(segments)}"


def resource_matches(pattern: str, arn: str | None) -> bool:
    """IAM's matching of an execute-api resource: ``*`` is any run of characters (``/`` included), ``?`` one.

    Not a regular expression: ``.*`` per ``*`` backtracks polynomially on an ARN of many slashes (a Deny pattern
    with four parameters took seconds on a 2,000-character path). The pieces between ``*``s are matched left to
    right, each at its first place (greedy is exact for ``*``-only wildcards), each piece a string compare or, when
    it holds ``?``, a regular expression without repetition.
    """
    if arn is None:
        return False
    head, middle, tail = _glob_pieces(pattern)
    if tail is None:  # no * at all
        return len(arn) == len(head) and _piece_at(head, arn, 0)
    if len(arn) < len(head) + len(tail) or not _piece_at(head, arn, 0) or not _piece_at(tail, arn, len(arn) - len(tail)):
        return False
    position, end = len(head), len(arn) - len(tail)
    for piece in middle:
        found = _find_piece(piece, arn, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


@lru_cache(maxsize=1024)
def _glob_pieces(pattern: str) -> tuple[str, tuple[str, ...], str | None]:
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern, (), None
    return parts[0], tuple(p for p in parts[1:-1] if p), parts[-1]


def _piece_at(piece: str, text: str, at: int) -> bool:
    if "?" not in piece:
        return text.startswith(piece, at)
    return _piece_regex(piece).match(text, at, at + len(piece)) is not None


def _find_piece(piece: str, text: str, start: int, end: int) -> int:
    if "?" not in piece:
        return text.find(piece, start, end)
    found = _piece_regex(piece).search(text, start, end)
    return -1 if found is None else found.start()


@lru_cache(maxsize=1024)
def _piece_regex(piece: str) -> re.Pattern[str]:
    return re.compile("".join("." if c == "?" else re.escape(c) for c in piece), re.S)


def statement(effect: str, resource: str | list[str]) -> dict[str, Any]:
    return {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}


def iam_response(principal_id: str, statements: list[dict[str, Any]],
                 context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An IAM answer: the principal (as clean text: it may come from a token), the statements, the context."""
    response: dict[str, Any] = {
        "principalId": clean_text(principal_id),
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
    }
    if context:
        response["context"] = dict(context)
    return response


def allow_policy(arn: MethodArn, principal_id: str, denied_routes: Iterable[RouteRule],
                 context: dict[str, Any], deny_request: str | None = None) -> dict[str, Any]:
    """Allow the stage, Deny every configured route this token may not call (one statement each).

    ``deny_request``: the exact ARN of this request, when its matched route's rule is not met. Its path may be
    spelt in a way no route pattern covers (``ord%65rs``), so it gets a Deny of its own — or, when it is too long
    for a policy or not clean text, the whole stage is denied. ``context`` becomes the answer's (not copied).

    The statements for an ``Unmet`` are built once per stage and kept on it (a remembered ``Unmet`` is every token
    of its signature's): each answer gets its own list of them. The statements are never changed once built.
    """
    prefix = arn.stage_prefix
    kept = denied_routes.statements if type(denied_routes) is Unmet else None
    built = kept.get(prefix) if kept is not None else None
    if built is None:
        built = (statement("Allow", prefix + "/*"),
                 *(statement("Deny", route_resource(prefix, rule.route_key)) for rule in denied_routes))
        if kept is not None and len(kept) < 64:  # an API has a few stages: a bound, nothing more
            kept[prefix] = built
    statements = list(built)
    if deny_request is not None:
        statements.append(statement("Deny", request_resource(prefix, deny_request)))
    # iam_response's dict, built here: this is every allowed request's last step, and a call costs.
    return {"principalId": principal_id if principal_id.isascii() else clean_text(principal_id),
            "policyDocument": {"Version": "2012-10-17", "Statement": statements}, "context": context}


def request_resource(stage_prefix: str, arn: str) -> str:
    """A Deny resource for one request: its exact ARN, or the whole stage when that is too long or not clean text."""
    return arn if len(arn) <= MAX_RESOURCE_LENGTH and is_clean(arn) else stage_prefix + "/*"


def deny_policy(arn: MethodArn | None, principal_id: str = "anonymous") -> dict[str, Any]:
    """Deny the whole stage; with no usable ARN, deny everything (still a well-formed policy)."""
    return iam_response(principal_id, [statement("Deny", f"{arn.stage_prefix}/*" if arn else "*")])


def simple_response(authorized: bool, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"isAuthorized": authorized}
    if authorized and context:
        response["context"] = dict(context)
    return response


def encode_context(claims: Mapping[str, Any], dropped: list[str] | None = None, *,
                   known_clean: bool = False) -> dict[str, Any]:
    """Claims as an authorizer context: scalars as they are, lists and objects as compact JSON, nulls left out.

    A claim holding text that is not valid UTF-8 (a lone surrogate), in its name or anywhere in its value, is left
    out, and its name appended to ``dropped``: it would make the runtime's or the backend's serialization fail.
    ``known_clean``: the token's payload cannot hold such text (``UnverifiedToken.claims_clean``), so nothing is
    checked — the usual case, and the hot path.
    """
    if not known_clean:
        claims = _clean_claims(claims, dropped)
    elif _PLAIN.issuperset(map(type, claims.values())) and _RESERVED_OR_EMPTY.isdisjoint(claims):
        return dict(claims)  # the usual token: strings, integers and booleans under ordinary names, all kept as is
    context: dict[str, Any] = {}
    for name, value in claims.items():
        kind = type(value)
        if (kind is str or kind is int or kind is bool) and name and name not in RESERVED_CONTEXT_KEYS:
            context[name] = value  # most claims, decoded by json as exactly these types: one test each
            continue
        if value is None or name in RESERVED_CONTEXT_KEYS or not name:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue  # NaN/Infinity are not JSON; API Gateway would reject the response
        if isinstance(value, (str, bool, int, float)):
            context[name] = value
        else:
            try:
                context[name] = json.dumps(value, separators=(",", ":"), allow_nan=False)
            except (ValueError, RecursionError):
                continue  # a nested NaN or a pathologically deep value: leave the claim out
    return context


def _clean_claims(claims: Mapping[str, Any], dropped: list[str] | None) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in claims.items():
        if is_clean(name) and is_clean(value):
            kept[name] = value
        elif dropped is not None:
            dropped.append(clean_text(name))
    return kept
