"""Building what API Gateway expects back: cache-safe IAM policies, simple responses, and the claims context.

A policy may be cached by the Authorization header alone and reused on every route of the API, so it never
describes just the current request: it allows the whole stage and explicitly denies each configured route
whose rule the token does not meet. Explicit Deny wins in IAM evaluation, so reuse stays correct.

    >>> arn = MethodArn.parse("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/$default/GET/orders")
    >>> arn.route_resource("POST", "/orders/{id}")
    'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/$default/POST/orders/*'
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .config import RouteRule

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):execute-api:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<api>[A-Za-z0-9]+)/(?P<stage>[^/*?]+)/(?P<verb>[A-Z]+|\*)(?:/(?P<path>.*))?"
)
RESERVED_CONTEXT_KEYS = frozenset({"claims"})  # API Gateway rejects a context holding it


@dataclass(frozen=True)
class MethodArn:
    """The parts of a ``methodArn``/``routeArn``; the partition is kept (aws-cn, aws-us-gov)."""

    partition: str
    region: str
    account: str
    api: str
    stage: str
    verb: str
    path: str

    @classmethod
    def parse(cls, arn: Any) -> MethodArn | None:
        match = _ARN.fullmatch(arn) if isinstance(arn, str) and len(arn) <= 2048 else None
        if match is None:
            return None
        return cls(match["partition"], match["region"], match["account"], match["api"], match["stage"],
                   match["verb"], "/" + (match["path"] or ""))

    @property
    def stage_prefix(self) -> str:
        return f"arn:{self.partition}:execute-api:{self.region}:{self.account}:{self.api}/{self.stage}"

    def route_resource(self, method: str, path: str | None) -> str:
        """``{param}`` and ``{proxy+}`` become ``*``, ``ANY`` becomes ``*``; ``$default`` is the whole stage."""
        if path is None:
            return f"{self.stage_prefix}/*"
        verb = "*" if method == "ANY" else method
        segments = ["*" if s.startswith("{") else s for s in path.split("/")[1:]]
        return f"{self.stage_prefix}/{verb}/{'/'.join(segments)}"


def statement(effect: str, resource: str | list[str]) -> dict[str, Any]:
    return {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}


def iam_response(principal_id: str, statements: list[dict[str, Any]],
                 context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "principalId": principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
    }
    if context:
        response["context"] = dict(context)
    return response


def allow_policy(arn: MethodArn, principal_id: str, denied_routes: Iterable[RouteRule],
                 context: Mapping[str, Any]) -> dict[str, Any]:
    """Allow the stage, Deny every configured route this token may not call (one statement each)."""
    statements = [statement("Allow", f"{arn.stage_prefix}/*")]
    statements += [statement("Deny", arn.route_resource(rule.method, rule.path)) for rule in denied_routes]
    return iam_response(principal_id, statements, context)


def deny_policy(arn: MethodArn | None, principal_id: str = "anonymous") -> dict[str, Any]:
    """Deny the whole stage; with no usable ARN, deny everything (still a well-formed policy)."""
    return iam_response(principal_id, [statement("Deny", f"{arn.stage_prefix}/*" if arn else "*")])


def simple_response(authorized: bool, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"isAuthorized": authorized}
    if authorized and context:
        response["context"] = dict(context)
    return response


def encode_context(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Claims as an authorizer context: scalars as they are, lists and objects as compact JSON, nulls left out."""
    context: dict[str, Any] = {}
    for name, value in claims.items():
        if value is None or name in RESERVED_CONTEXT_KEYS:
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
