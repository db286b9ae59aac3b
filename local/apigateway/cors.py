"""CORS as an HTTP API with a CORS configuration does it: preflights answered by the gateway, headers on responses.

``cors`` is the API's ``CorsConfiguration`` from the template (``AllowOrigins``, ``AllowMethods``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.apigateway.messages import GatewayRequest, GatewayResponse


def _cors_origin_allowed(cors: Mapping[str, Any], origin: str) -> str | None:
    origins = cors.get("AllowOrigins") or []
    if "*" in origins:
        return "*" if not cors.get("AllowCredentials") else origin
    return origin if origin in origins else None


def cors_preflight(cors: Mapping[str, Any], request: GatewayRequest) -> GatewayResponse | None:
    """API Gateway answers CORS preflight requests itself when the API has a CORS configuration."""
    origin = request.header("origin")
    requested_method = request.header("access-control-request-method")
    if request.method != "OPTIONS" or not origin or not requested_method:
        return None
    headers: list[tuple[str, str]] = []
    allowed_origin = _cors_origin_allowed(cors, origin)
    methods = [m.upper() for m in cors.get("AllowMethods") or []]
    if allowed_origin and ("*" in methods or requested_method.upper() in methods):
        headers.append(("access-control-allow-origin", allowed_origin))
        headers.append(("access-control-allow-methods", ",".join(methods)))
        if cors.get("AllowHeaders"):
            headers.append(("access-control-allow-headers", ",".join(cors["AllowHeaders"])))
        if cors.get("MaxAge") is not None:
            headers.append(("access-control-max-age", str(cors["MaxAge"])))
        if cors.get("AllowCredentials"):
            headers.append(("access-control-allow-credentials", "true"))
    return GatewayResponse(204, headers)


def add_cors_headers(cors: Mapping[str, Any], request: GatewayRequest, response: GatewayResponse) -> None:
    origin = request.header("origin")
    allowed_origin = _cors_origin_allowed(cors, origin) if origin else None
    if not allowed_origin:
        return
    # The API's CORS configuration overrides whatever the function said.
    response.headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
    response.headers.append(("access-control-allow-origin", allowed_origin))
    if cors.get("ExposeHeaders"):
        response.headers.append(("access-control-expose-headers", ",".join(cors["ExposeHeaders"])))
    if cors.get("AllowCredentials"):
        response.headers.append(("access-control-allow-credentials", "true"))
