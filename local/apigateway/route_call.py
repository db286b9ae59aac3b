"""One request matched to a stage and a route, and the pieces every Lambda event built from it shares.

``RouteCall`` knows where the request goes (stage, route, path parameters, the route ARN an IAM policy is evaluated
against), answers ``$context``/``$request``/``$stageVariables`` identity sources, and renders the parts that the
authorizer events (``local/lambda_authorizer.py``) and the integration events (``local/integration.py``) have in
common: payload 2.0 headers and query, the 1.0 multi-value maps, both ``requestContext`` shapes, the body.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import time
from collections.abc import Sequence
from typing import Any

from local.apigateway.messages import GatewayRequest
from local.apigateway.model import HttpApi, RouteMatch, Stage
from local.cloudformation.intrinsics import ACCOUNT_ID

# Headers API Gateway writes itself (or rewrites): payload 1.0 events name them in this case whatever the client
# sent (a captured 1.0 event: "Host", "User-Agent", "Content-Length", "X-Forwarded-For" beside the client's "accept").
CANONICAL_V1_HEADERS = {name.lower(): name for name in (
    "Host", "User-Agent", "Content-Length", "X-Amzn-Trace-Id", "X-Forwarded-For", "X-Forwarded-Port",
    "X-Forwarded-Proto")}

# Bodies of these types reach the function as text; any other body is base64-encoded.
TEXT_CONTENT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|ecmascript|x-javascript|graphql|.*\+json|.*\+xml))$"
)


def _format_time(epoch: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))


def omit_empty(event: dict[str, Any], *names: str) -> dict[str, Any]:
    """Drop the named fields when empty: API Gateway leaves them out of payload 2.0 events rather than send ``{}``."""
    for name in names:
        if not event.get(name):
            event.pop(name, None)
    return event


class RouteCall:
    """One request on its way through the API: where it goes and the pieces every event shares."""

    def __init__(self, api: HttpApi, request: GatewayRequest, stage: Stage, path_in_stage: str, match: RouteMatch,
                 domain_name: str) -> None:
        self.api = api
        self.request = request
        self.stage = stage.name
        self.stage_variables = dict(stage.variables)
        self.route = match.route
        self.path_parameters = match.path_parameters
        self.domain_name = domain_name
        # The ARN's path leaves the stage out; rawPath keeps it (for a named stage).
        self.route_arn = api.route_arn(stage.name, request.method, path_in_stage)

    @property
    def domain_prefix(self) -> str:
        host = self.domain_name.rsplit(":", 1)[0]
        try:
            ipaddress.ip_address(host)
            return self.api.api_id
        except ValueError:
            return host.split(".")[0]

    @property
    def resource(self) -> str:
        return self.route.path or self.route.route_key

    def context_variable(self, name: str) -> str | None:
        request = self.request
        values = {
            "routeKey": self.route.route_key,
            "httpMethod": request.method,
            "path": request.raw_path,
            "stage": self.stage,
            "apiId": self.api.api_id,
            "accountId": ACCOUNT_ID,
            "requestId": request.request_id,
            "domainName": self.domain_name,
            "domainPrefix": self.domain_prefix,
            "protocol": request.protocol,
            "identity.sourceIp": request.source_ip,
            "identity.userAgent": request.user_agent,
            "requestTime": _format_time(request.time),
            "requestTimeEpoch": str(int(request.time * 1000)),
        }
        return values.get(name)

    def identity_values(self, sources: Sequence[str]) -> list[str] | None:
        """The identity-source values in order, or None when any is missing or empty."""
        values = []
        for source in sources:
            value: str | None = None
            if source.startswith("$request.header."):
                value = self.request.header(source[len("$request.header."):])
            elif source.startswith("$request.querystring."):
                found = self.request.query.get(source[len("$request.querystring."):])
                value = ",".join(found) if found else None
            elif source.startswith("$context."):
                value = self.context_variable(source[len("$context."):])
            elif source.startswith("$stageVariables."):
                value = self.stage_variables.get(source[len("$stageVariables."):])
            if not value:
                return None
            values.append(value)
        return values

    # -- event parts

    def header_list(self) -> list[tuple[str, str]]:
        """The request's headers as API Gateway passes them on: with ``content-length`` always (``0`` without a
        body: captured events of bodiless GET and POST requests carry ``"content-length": "0"``)."""
        headers = list(self.request.header_list)
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("content-length", str(len(self.request.body))))
        return headers

    def headers_v2(self) -> dict[str, str]:
        """Payload 2.0 headers: lower-case names, repeated ones joined with commas; the cookie header becomes the
        ``cookies`` list instead."""
        merged: dict[str, str] = {}
        for name, value in self.header_list():
            key = name.lower()
            if key != "cookie":
                merged[key] = f"{merged[key]},{value}" if key in merged else value
        return merged

    def query_v2(self) -> dict[str, str]:
        return {name: ",".join(values) for name, values in self.request.query.items()}

    def request_context_v2(self) -> dict[str, Any]:
        request = self.request
        return {
            "accountId": ACCOUNT_ID,
            "apiId": self.api.api_id,
            "domainName": self.domain_name,
            "domainPrefix": self.domain_prefix,
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.user_agent,
            },
            "requestId": request.request_id,
            "routeKey": self.route.route_key,
            "stage": self.stage,
            "time": _format_time(request.time),
            "timeEpoch": int(request.time * 1000),
        }

    def request_context_v1(self) -> dict[str, Any]:
        request = self.request
        return {
            "accountId": ACCOUNT_ID,
            "apiId": self.api.api_id,
            "domainName": self.domain_name,
            "domainPrefix": self.domain_prefix,
            "extendedRequestId": request.request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                "cognitoAmr": None, "principalOrgId": None, "sourceIp": request.source_ip, "user": None,
                "userAgent": request.user_agent, "userArn": None,
            },
            "path": request.raw_path,
            "protocol": request.protocol,
            "requestId": request.request_id,
            "requestTime": _format_time(request.time),
            "requestTimeEpoch": int(request.time * 1000),
            "resourceId": self.route.route_key,
            "resourcePath": self.resource,
            "stage": self.stage,
        }

    def multi_value_parts_v1(self) -> dict[str, Any]:
        """Payload 1.0 headers and query: names as the client sent them (API Gateway's own headers in their
        canonical case), a repeated header's last value and a repeated parameter's first, as the docs' 1.0 sample
        shows (``"header2": "value2"``, ``"parameter1": "value1"``), all values in the multi-value maps."""
        request = self.request
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in self.header_list():
            name = CANONICAL_V1_HEADERS.get(name.lower(), name)
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query = {name: values[0] for name, values in request.query.items()}
        return {
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": dict(request.query) or None,
            "pathParameters": self.path_parameters or None,
            "stageVariables": self.stage_variables or None,
        }

    def body_fields(self) -> tuple[str | None, bool]:
        body = self.request.body
        if not body:
            return None, False
        content_type = (self.request.header("content-type") or "").split(";")[0].strip().lower()
        if TEXT_CONTENT_TYPES.match(content_type):
            try:
                return body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(body).decode(), True
