"""Small checks of ``cdk.json`` context values, each raising ``ConfigError`` naming the key.

``-c key=value`` arrives as a string and ``cdk.json`` as JSON, so each check takes both:

    >>> whole_number("300", "cacheTtlSeconds", 0, 3600), boolean("true", "tracing")
    (300, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .lambda_sources import ConfigError, is_claim_value, parse_json


def json_value(value: Any, key: str, expected: type) -> Any:
    """``-c key='[...]'`` gives a JSON string; ``cdk.json`` gives the value itself."""
    if isinstance(value, str) and expected is not str:
        value = parse_json(value, key)  # a key given twice is an error, as in AUTH_ROUTES
    if expected is list and isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, expected):
        raise ConfigError(key, f"must be a JSON {'list' if expected is list else 'object'}")
    return value


def choice(value: Any, key: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(key, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def boolean(value: Any, key: str) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value


def whole_number(value: Any, key: str, minimum: int, maximum: int) -> int:
    number: object = value
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise ConfigError(key, f"must be a whole number, got {value!r}") from None
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int) or not minimum <= number <= maximum:
        raise ConfigError(key, f"must be a whole number from {minimum} to {maximum}, got {value!r}")
    return number


def scope_names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s and " " not in s for s in value):
        raise ConfigError(where, "must be a list of scope names (non-empty strings without spaces)")
    return tuple(dict.fromkeys(value))


def claim_rules(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(where, "must be an object of claim name → accepted value or list of accepted values")
    for name, accepted in value.items():
        values = accepted if isinstance(accepted, list) else [accepted]
        if not name or not values or not all(is_claim_value(v) for v in values):
            raise ConfigError(f"{where}.{name}", "must be a string, number or boolean, or a non-empty list of them")
    return dict(value)
