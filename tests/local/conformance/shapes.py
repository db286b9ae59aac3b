"""Comparing what the local stack produced with one of AWS's samples, field by field.

A sample is a schema and an example at once: its keys and their JSON types are API Gateway's shape, its values
are one request's. So ``compare`` checks, at every dotted path (``requestContext.http.method``):

- the keys: each key of the sample is in ours (``missing`` otherwise) and each of ours is in the sample (``extra``);
- the JSON type (null, boolean, number, string, array, object) of each value (``type``);
- the values that describe the request, against what the test sent (``expected``: ``value``), since the local
  request reproduces the sample's only as far as local routes allow;
- the values that vary per request (ids, times, ARNs), against API Gateway's format (``formats``: ``format``); a
  format is also checked against the captured samples' values (``test_formats_are_those_of_captured_events``), so
  it is AWS's format and not ours.

Maps whose keys are the request's (``headers``, ``queryStringParameters``, ...) are compared by value type only
(``maps``); ``opaque`` paths (an authorizer's own ``context``) by JSON type only.

    compare(sample, ours, maps={"headers"}, formats={"requestContext.requestId": REQUEST_ID}, expected={...})
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

# API Gateway's formats, as its captured events show them (shapes' own test checks them against those values).
REQUEST_ID = r"[A-Za-z0-9_-]{15}="  # "LV7fzho-PHcEJPw=", "NIKr1jmIFiAEJmw=": 11 bytes, base64url
REQUEST_TIME = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000"  # "21/Apr/2020:15:08:21 +0000"
EPOCH_MS = r"\d{13}"  # 1587481701067
API_ID = r"[a-z0-9]{10}"  # "aaaaaaaaaa", "9pyofn5yi9"
ROUTE_ARN = r"arn:aws:execute-api:[a-z0-9-]+:\d{12}:[a-z0-9]+/[^/]+/([A-Z]+/.*|\$default)"
TRACE_ID = r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}"  # "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c"


@dataclass(frozen=True)
class Difference:
    path: str
    kind: str  # missing | extra | type | value | format
    detail: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.path, self.kind


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not JSON: {type(value).__name__}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(sample: Any, ours: Any, path: str, maps: Collection[str], opaque: Collection[str],
          found: list[Difference]) -> None:
    sample_type, our_type = json_type(sample), json_type(ours)
    if sample_type != our_type:
        found.append(Difference(path, "type", f"sample {sample_type}, ours {our_type}"))
        return
    if sample_type != "object" or path in opaque:
        return
    if path in maps:
        expected_types = {json_type(v) for v in sample.values()}
        for key, value in ours.items():
            if expected_types and json_type(value) not in expected_types:
                found.append(Difference(_join(path, key), "type", f"ours {json_type(value)}, "
                                                                  f"sample's values {sorted(expected_types)}"))
        return
    for key in sample:
        if key not in ours:
            found.append(Difference(_join(path, key), "missing"))
    for key in ours:
        if key not in sample:
            found.append(Difference(_join(path, key), "extra"))
        else:
            _walk(sample[key], ours[key], _join(path, key), maps, opaque, found)


def value_at(document: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(document, dict) or key not in document:
            raise KeyError(path)
        document = document[key]
    return document


def compare(sample: Any, ours: Any, *, maps: Collection[str] = (), opaque: Collection[str] = (),
            formats: Mapping[str, str] | None = None, expected: Mapping[str, Any] | None = None) -> list[Difference]:
    """Every difference between ``ours`` and ``sample``, in path order (empty when they conform)."""
    found: list[Difference] = []
    _walk(sample, ours, "", maps, opaque, found)
    for path, pattern in (formats or {}).items():
        try:
            value = value_at(ours, path)
        except KeyError:
            continue  # reported as missing, if the sample has it
        if not re.fullmatch(pattern, str(value)):
            found.append(Difference(path, "format", f"{value!r} is not {pattern}"))
    for path, wanted in (expected or {}).items():
        try:
            value = value_at(ours, path)
        except KeyError:
            found.append(Difference(path, "value", f"absent, expected {wanted!r}"))
            continue
        if value != wanted:
            found.append(Difference(path, "value", f"{value!r}, expected {wanted!r}"))
    return sorted(found, key=lambda d: (d.path, d.kind))
