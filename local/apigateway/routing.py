"""How API Gateway picks the stage and the route of a request (the path is decoded once before matching).

    match = select_route(api.routes, "GET", "/orders/42")
    match.route.route_key, match.path_parameters   # ('GET /orders/{id}', {'id': '42'})
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from local.apigateway.model import DEFAULT_STAGE, PathSegment, Route, RouteMatch, Stage


def _match_path(template: Sequence[PathSegment], request: Sequence[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, segment in enumerate(template):
        if segment.greedy:
            if index >= len(request):
                return None  # "/files" is not under "/files/{proxy+}"
            # "/files/" is, with an empty value: a captured payload 1.0 event shows "/handler/" matched by
            # "ANY /handler/{proxy+}" with {"proxy": ""} (tests/local/conformance).
            parameters[segment.parameter or "proxy"] = "/".join(request[index:])
            return parameters
        if index >= len(request):
            return None
        part = request[index]
        if segment.parameter:
            if not part:
                return None
            parameters[segment.parameter] = part
        elif part != segment.text:
            return None
    return parameters if len(request) == len(template) else None


def select_route(routes: Iterable[Route], method: str, path: str) -> RouteMatch | None:
    """The route API Gateway picks for ``method path`` (the path without a stage prefix, as the client sent it).

    The path is percent-decoded once, then matched, as API Gateway does: ``/ord%65rs`` is ``/orders``, and a
    ``%2F`` is a ``/`` that separates segments (``/a%2Fb`` is two segments, not one parameter); path parameters are
    the decoded text (decoded once: ``%2532`` is ``%32``). The most specific path wins, compared segment by segment
    from the left (a literal beats ``{param}`` beats ``{proxy+}``); between equally specific paths, the route for
    the method beats ``ANY``; when no route matches, ``$default`` (if any). ``None`` means 404.
    """
    decoded = unquote(path)
    request_segments = decoded.split("/")[1:] if decoded.startswith("/") else decoded.split("/")
    best: RouteMatch | None = None
    best_rank: tuple[Any, ...] | None = None
    default: Route | None = None
    for route in routes:
        if route.is_default:
            default = route
            continue
        if route.method not in (method, "ANY"):
            continue
        segments = route.segments
        parameters = _match_path(segments, request_segments)
        if parameters is None:
            continue
        rank = (tuple(segment.rank for segment in segments), route.method == "ANY")
        if best_rank is None or rank < best_rank:
            best, best_rank = RouteMatch(route, parameters), rank
    if best is not None:
        return best
    return RouteMatch(default, {}) if default is not None else None


def stage_for(stages: Iterable[Stage], raw_path: str) -> tuple[Stage, str] | None:
    """The stage a path addresses (a named stage by its first segment, else $default) and the rest of it."""
    default = None
    for stage in stages:
        if stage.name == DEFAULT_STAGE:
            default = stage
            continue
        prefix = "/" + stage.name
        if raw_path == prefix or raw_path.startswith(prefix + "/"):
            return stage, raw_path[len(prefix):] or "/"
    return (default, raw_path) if default is not None else None
