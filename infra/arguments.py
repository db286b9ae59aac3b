"""Checks of the Python arguments a CDK user passes, with errors in their words: the argument's name, what it
accepts and a hint, never a ``cdk.json`` key, an object's repr or a traceback from inside jsii.

    >>> describe(Duration.minutes(5)), describe("x"), describe({"a": 1})
    ('a Duration (5 minutes)', "the string 'x'", 'a dict')
    >>> string_list("items:read", "scopes")
    Traceback (most recent call last):
    ...
    authorizer.errors.ConfigError: scopes: must be a list or tuple of strings, got the string 'items:read' (a bare string would be read one character at a time): write ['items:read']
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from aws_cdk import Duration

from .lambda_sources import ConfigError


def describe(value: object) -> str:
    """How an error shows what it got: plain values as Python writes them, a ``Duration`` by its length, anything
    else by its type (a jsii object's repr is ``<aws_cdk.X object at 0x...>``)."""
    if isinstance(value, Duration):
        return f"a Duration ({value.to_human_string()})" if not value.is_unresolved() else "an unresolved Duration"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    kind = type(value)
    if kind in (dict, list, tuple, set):
        return f"a {kind.__name__}"
    module = kind.__module__.split("._")[0]  # aws_cdk.aws_lambda._jsii -> aws_cdk.aws_lambda
    return f"a {module}.{kind.__qualname__}" if module != "builtins" else f"a {kind.__qualname__}"


def string_list(value: object, argument: str) -> tuple[str, ...]:
    """A list or tuple of strings; a bare string is refused (it is a sequence of one-character strings)."""
    if isinstance(value, str):
        raise ConfigError(argument, f"must be a list or tuple of strings, got {describe(value)} (a bare string would "
                                    f"be read one character at a time): write [{value!r}]")
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ConfigError(argument, f"must be a list or tuple of strings, got {describe(value)}")
    return tuple(value)


def whole_int(value: object, argument: str, minimum: int, maximum: int, unit: str, *, duration_hint: str = "") -> int:
    """A whole number from ``minimum`` to ``maximum``; ``duration_hint`` names the argument to use for a Duration."""
    if isinstance(value, Duration) and duration_hint:
        raise ConfigError(argument, f"must be a whole number of {unit} from {minimum} to {maximum}, got "
                                    f"{describe(value)}: pass a Duration as {duration_hint} instead")
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(argument, f"must be a whole number of {unit} from {minimum} to {maximum}, got "
                                    f"{describe(value)}")
    return value


def one_of(value: object, argument: str, enum: type[Enum], values: Sequence[str]) -> str:
    """An ``enum`` member or its plain value (``AuthorizerMode.JWT`` or ``"jwt"``); the hint finds a miscased one."""
    plain = value.value if isinstance(value, enum) else value
    if isinstance(plain, str) and plain in values:
        return plain
    accepted = " or ".join(f"{enum.__name__}.{member.name}" for member in enum)
    hint = ""
    if isinstance(plain, str) and plain.strip().lower() in values:
        hint = f"; did you mean {plain.strip().lower()!r}?"
    raise ConfigError(argument, f"must be {accepted} (or {', '.join(map(repr, values))}), got {describe(value)}"
                                f"{hint}")


def whole_seconds(value: object, argument: str, minimum: int, maximum: int, example: str) -> int:
    """A concrete ``Duration`` of whole seconds from ``minimum`` to ``maximum``."""
    if not isinstance(value, Duration):
        raise ConfigError(argument, f"must be an aws_cdk.Duration such as {example}, got {describe(value)}")
    if value.is_unresolved():
        raise ConfigError(argument, "must be a concrete Duration, not a token known only at deploy time")
    milliseconds = value.to_milliseconds()
    if milliseconds % 1000 or not minimum * 1000 <= milliseconds <= maximum * 1000:
        raise ConfigError(argument, f"must be whole seconds from {minimum} to {maximum}, got {describe(value)}")
    return int(milliseconds // 1000)
