"""IAM policies as API Gateway applies a Lambda authorizer's answer: validating the document, evaluating a request.

Pure functions: ``validate_policy_document`` says whether API Gateway would accept a ``policyDocument`` (else
``MalformedAuthorizerResponse``, which becomes a 500); ``policy_allows`` decides one route ARN::

    policy_allows([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:...:abc/$default/*"}],
                  "arn:...:abc/$default/GET/orders")   # True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from local.apigateway.errors import MalformedAuthorizerResponse


def _wildcard(pattern: str, *, ignore_case: bool = False) -> _Wildcard:
    """IAM wildcards: ``*`` any run of characters (``/`` included), ``?`` exactly one."""
    return _Wildcard(pattern.lower() if ignore_case else pattern, ignore_case)


class _Wildcard:
    """``fullmatch`` by dynamic programming over (pattern, text): time bounded by their lengths' product. (A regular
    expression with one ``.*`` per ``*`` backtracks for seconds on an ARN of many slashes.) Deliberately another
    algorithm than the authorizer's matcher, so that this emulator judges its policies independently."""

    def __init__(self, pattern: str, ignore_case: bool) -> None:
        self.pattern, self.ignore_case = pattern, ignore_case

    def fullmatch(self, text: str) -> bool:
        pattern, text = self.pattern, text.lower() if self.ignore_case else text
        row = [True] + [False] * len(text)  # row[j]: pattern[:i] matches text[:j]
        for char in pattern:
            if char == "*":
                for j in range(1, len(row)):
                    row[j] = row[j] or row[j - 1]
            else:
                row = [False] + [row[j - 1] and (char == "?" or char == text[j - 1]) for j in range(1, len(row))]
        return row[-1]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def validate_policy_document(document: Any) -> list[Mapping[str, Any]]:
    """The statements of a policy document, or MalformedAuthorizerResponse."""
    if not isinstance(document, dict):
        raise MalformedAuthorizerResponse("policyDocument is not an object")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedAuthorizerResponse("policyDocument.Statement is missing or empty")
    for statement in statements:
        if not isinstance(statement, dict):
            raise MalformedAuthorizerResponse("a policy statement is not an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise MalformedAuthorizerResponse("a policy statement's Effect is not Allow or Deny")
        for key, alternative in (("Action", "NotAction"), ("Resource", "NotResource")):
            value = statement.get(key, statement.get(alternative))
            if not (isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))):
                raise MalformedAuthorizerResponse(f"a policy statement's {key} is missing or not a string (list)")
    return statements


def policy_allows(statements: Iterable[Mapping[str, Any]], resource_arn: str, action: str = "execute-api:Invoke") -> bool:
    """IAM evaluation of one request: an explicit Deny wins, then an Allow; nothing matching means deny.

    Statements with a ``Condition`` never apply (conditions are not evaluated here).
    """
    allowed = False
    for statement in statements:
        if "Condition" in statement:
            continue
        if "Action" in statement:
            action_matches = any(_wildcard(a, ignore_case=True).fullmatch(action) for a in _as_list(statement["Action"]))
        else:
            action_matches = not any(_wildcard(a, ignore_case=True).fullmatch(action) for a in _as_list(statement["NotAction"]))
        if not action_matches:
            continue
        if "Resource" in statement:
            resource_matches = any(_wildcard(r).fullmatch(resource_arn) for r in _as_list(statement["Resource"]))
        else:
            resource_matches = not any(_wildcard(r).fullmatch(resource_arn) for r in _as_list(statement["NotResource"]))
        if not resource_matches:
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed
