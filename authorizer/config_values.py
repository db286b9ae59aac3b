"""The checks every configuration value goes through, wherever it comes from (``AUTH_*``, the SSM parameter, the
stack's ``cdk.json`` through ``infra``): JSON that cannot mean two things, lists of strings, known fields only, text
that is valid UTF-8. Each raises ``ConfigError`` naming the field.

    >>> string_list("api", "AUTH_ISSUERS[0].audience"), name_list(["orders:read"], "routes[0].scopes", "scopes")
    (('api',), ('orders:read',))
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Set
from typing import Any

from .errors import ConfigError
from .text import is_clean

#: A cookie name is an RFC 6265 token (``AUTH_TOKEN_COOKIE``, and the stack's ``tokenCookie``). A pattern, compiled
#: (and kept by ``re``) only when a configuration names a cookie.
COOKIE_NAME = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"


def parse_json(text: Any, field_name: str) -> Any:
    """JSON configuration text → its value. A key given twice in one object is an error, never "the last one wins":
    a second ``"GET /orders"`` without the first one's tenant rule would silently drop the tenant check.

    >>> parse_json('{"GET /orders": ["a"], "GET /orders": []}', "AUTH_ROUTES")
    Traceback (most recent call last):
    ...
    authorizer.errors.ConfigError: AUTH_ROUTES: names 'GET /orders' twice in one object; give each key once
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _RepeatedKey as repeated:
        raise ConfigError(field_name, f"names {repeated.key!r} twice in one object; give each key once") from None
    except (TypeError, ValueError, RecursionError) as problem:
        raise ConfigError(field_name, f"is not valid JSON ({problem})") from None


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return value


def name_list(value: Any, where: str, what: str) -> tuple[str, ...]:
    """``scopes``, ``roles``, ``permissions``: a list of strings, never a bare string — a program that iterates a
    string would read ``"items:read"`` as nine one-character names, and a token whose scope is ``a`` would pass."""
    if isinstance(value, str):
        raise ConfigError(where, f"{what} must be a list of strings, not a string: write [{json.dumps(value)}]")
    return string_list(value, where, allow_empty=True)


def string_list(value: Any, where: str, allow_empty: bool = False) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(where, "must be a non-empty string or a list of non-empty strings")
    if not items and not allow_empty:
        raise ConfigError(where, "must not be empty")
    return tuple(dict.fromkeys(items))


def is_claim_value(value: Any) -> bool:
    """What a claim rule may accept: a string, a boolean, or a finite number (compared by JSON type)."""
    return isinstance(value, (str, bool, int)) or (isinstance(value, float) and math.isfinite(value))


def is_cookie_name(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(COOKIE_NAME, value) is not None


def check_clean(value: Any, field_name: str) -> None:
    # Configured text reaches policies (Deny resources), logs and error messages: it must be valid UTF-8.
    if not is_clean(value):
        raise ConfigError(field_name, "holds text that is not valid UTF-8 (a lone surrogate such as \\ud800)")


def reject_unknown_fields(spec: Mapping[str, Any], allowed: Set[str], where: str) -> None:
    # A misspelt field ("audiance") would otherwise silently drop a check.
    for name in spec:
        if name not in allowed:
            raise ConfigError(f"{where}.{name}", f"is not a known field; expected some of {sorted(allowed)}")
