"""The request the doctor judges tenant routes for: ``--tenant ID`` or ``--path [METHOD] /path``.

A tenant rule compares the tenant the request names, as API Gateway passes it in ``pathParameters``. ``--tenant``
gives that value for every tenant route; ``--path`` resolves a request path as API Gateway does (the local gateway's
``select_route``: decoded once, ``%2F`` separates segments, the most specific route wins), so the routes it selects
are judged with the parameters they would get::

    request = request_for_path(setup, "/tenants/%41/orders")
    request.route_keys, request.path_parameters
    # (('GET /tenants/{tenantId}/orders',), {'GET /tenants/{tenantId}/orders': {'tenantId': 'A'}})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from local.apigateway.model import ROUTE_METHODS
from local.apigateway.model import Route as GatewayRoute
from local.apigateway.routing import select_route

from .model import DoctorError, LambdaSetup, Setup


class DoctorRequest(NamedTuple):
    """The routes a request is judged on (the exit status; empty: none in particular) and the path parameters each
    would get."""

    route_keys: tuple[str, ...]
    path_parameters: Mapping[str, Mapping[str, str]]


def request_for_tenant(setup: Setup, tenant: str) -> DoctorRequest:
    """``--tenant``: every tenant route of every Lambda authorizer, with ``tenant`` as its tenant parameter."""
    if not tenant:
        raise DoctorError("--tenant needs a tenant ID")
    parameters: dict[str, dict[str, str]] = {}
    for authorizer in setup.authorizers.values():
        if isinstance(authorizer, LambdaSetup):
            for key, rule in authorizer.config.routes.items():
                if rule.tenant is not None:
                    parameters[key] = {rule.tenant.param: tenant}
    if not parameters:
        raise DoctorError("--tenant: no route has a tenant rule")
    return DoctorRequest(tuple(parameters), parameters)


def request_for_path(setup: Setup, text: str) -> DoctorRequest:
    """``--path``: ``/tenants/A/orders`` (every method) or ``GET /tenants/A/orders``, as it would be sent (raw)."""
    method, _, path = text.strip().rpartition(" ")
    method = method.strip().upper()
    if not path.startswith("/") or (method and method not in ROUTE_METHODS - {"ANY"}):
        raise DoctorError(f"--path {text!r}: expected a path such as /tenants/A/orders, optionally after a method "
                          "(GET /tenants/A/orders)")
    routes = [GatewayRoute(route.route_key, route.route_key) for route in setup.routes]
    methods = [method] if method else sorted({route.method for route in routes} - {"", "ANY"}) or ["GET"]
    parameters: dict[str, Mapping[str, str]] = {}
    for candidate in methods:
        match = select_route(routes, candidate, path)
        if match is not None:
            parameters.setdefault(match.route.route_key, match.path_parameters)
    if not parameters:
        hint = " (a %2F is a '/' that separates path segments)" if "%2f" in path.lower() else ""
        raise DoctorError(f"--path {text!r} selects no configured route: API Gateway answers 404{hint}")
    return DoctorRequest(tuple(parameters), parameters)
