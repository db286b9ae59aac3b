"""Text from a token or a configuration, made safe for logs and for the authorizer's response: the one place.

A JSON string may hold a lone surrogate (``"\\ud800"``), which no UTF-8 writer can encode: in a log field it makes
the write fail (and the denial line is lost); in the response it makes the Lambda runtime's serialization fail (a
500). So:

- ``log_text`` / ``log_fields``: what goes to a log, unencodable characters replaced by U+FFFD;
- ``is_clean``: whether a value (nested lists and objects included, keys too) is all encodable text — the context
  keeps only claims that are, and a configuration must be.

    >>> log_text("user-\\ud800") == "user-\\ufffd"
    True
    >>> is_clean({"roles": ["admin", "\\udfff"]})
    False
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

REPLACEMENT = "\ufffd"
LOG_TEXT_LIMIT = 200


@cache
def _surrogates() -> re.Pattern[str]:
    """The only str characters UTF-8 cannot encode. Compiled when non-ASCII text first comes: often never."""
    return re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` with every unencodable character replaced by U+FFFD. ASCII text costs one flag check."""
    if value.isascii():
        return value
    return _surrogates().sub(REPLACEMENT, value)


def log_text(value: Any, limit: int = LOG_TEXT_LIMIT) -> str | None:
    """A string for a log field (at most ``limit`` characters, always encodable); anything else → None."""
    return clean_text(value[:limit]) if isinstance(value, str) else None


def log_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Log fields with every string, and every string in a list or tuple, made encodable. Others are kept."""
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, str):
            value = clean_text(value)
        elif isinstance(value, (list, tuple)):
            value = [clean_text(v) if isinstance(v, str) else v for v in value]
        cleaned[name] = value
    return cleaned


def is_clean(value: Any, depth: int = 0) -> bool:
    """Whether every string in ``value`` (object keys and nested values included) is encodable as UTF-8."""
    if isinstance(value, str):
        return value.isascii() or _surrogates().search(value) is None
    if depth > 64:
        return False  # a value this deep is refused elsewhere too (json.dumps recursion): never kept
    if isinstance(value, dict):
        return all(is_clean(k, depth + 1) and is_clean(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(is_clean(v, depth + 1) for v in value)
    return True
