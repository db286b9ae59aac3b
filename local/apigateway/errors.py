"""Every way the local API Gateway refuses a request or fails to map a function's answer, in one place.

Like moto's exceptions, each class carries API Gateway's answer: ``status`` and ``message`` (the body is
``{"message": ...}``), plus the headers an instance adds. The module that decides raises it (``iam.py``,
``authorizers/``, ``integration.py``, the pipeline in ``service.py``); the pipeline turns any of them into its
response in one place (:meth:`GatewayError.response`), so no handler maps errors to statuses by hand. ``log`` is the
line the gateway writes to its log (never a token), or None.

    raise Forbidden()                                   # 403 {"message":"Forbidden"}
    raise BadRequest("Content-Length '-5' is not ...")  # 400, from the HTTP server, before the pipeline
    raise InternalServerError("route GET /x: no integration")   # 500, and the reason in the log
"""

from __future__ import annotations

from local.apigateway.messages import GatewayResponse, message_response


class GatewayError(Exception):
    """A request API Gateway answers with an error response."""

    status = 500
    message = "Internal Server Error"

    def __init__(self, log: str | None = None, *headers: tuple[str, str]) -> None:
        super().__init__(log or self.message)
        self.log = log
        self.headers = headers

    def response(self) -> GatewayResponse:
        return message_response(self.status, self.message, *self.headers)


class BadRequest(GatewayError):
    """A request whose body cannot be delimited (RFC 9112 §6.3: invalid Content-Length or chunked framing); the
    server answers it and closes the connection."""

    status = 400
    message = "Bad Request"


class NotFound(GatewayError):
    """No stage or route for the request (and no ``$default`` route)."""

    status = 404
    message = "Not Found"


class Unauthorized(GatewayError):
    """An identity source is missing, or the JWT authorizer refuses the token."""

    status = 401
    message = "Unauthorized"


class Forbidden(GatewayError):
    """A Deny policy, ``isAuthorized: false``, scopes not met, or an ``AWS_IAM`` route."""

    status = 403
    message = "Forbidden"


class RequestEntityTooLarge(GatewayError):
    """A body over API Gateway's 10 MB quota."""

    status = 413
    message = "Request Entity Too Large"


class InternalServerError(GatewayError):
    """An authorizer or integration function failed, or answered what API Gateway cannot use."""


class LambdaThrottled(InternalServerError):
    """Lambda refused to invoke the authorizer or integration function: it already ran as many invocations as its
    concurrency limit (429 ``TooManyRequestsException``). API Gateway answers 500 (the Lambda Developer Guide's
    "Handling Lambda errors with an API Gateway API": "If the Lambda API rejects the invocation request, API Gateway
    returns a 500 error code"; the HTTP API authorizer page: "If API Gateway can't invoke your Lambda authorizer ...
    clients receive a 500 Internal Server Error")."""


class ServiceUnavailable(GatewayError):
    """The integration timeout (``TimeoutInMillis``) passed before the function answered."""

    status = 503
    message = "Service Unavailable"


class MalformedAuthorizerResponse(InternalServerError):
    """An authorizer response API Gateway would not accept (it answers 500)."""


class MalformedIntegrationResponse(InternalServerError):
    """A Lambda proxy response API Gateway cannot map (it answers 500)."""


class JwtRejected(Unauthorized):
    """A token the JWT authorizer refuses (401); ``description`` goes into www-authenticate.

    The answer is the one the JWT troubleshooting page shows byte for byte: ``{"message":"Unauthorized"}`` (26
    bytes), ``www-authenticate: Bearer scope="" error="invalid_token" error_description="..."``, and no
    content-type. Only the audience's description is documented ("the token does not have a valid audience");
    the others are this emulator's words. ``reason`` is a stable code for the log (``expired``, ``bad_signature``,
    ``unknown_kid``, ...).
    """

    def __init__(self, reason: str, description: str) -> None:
        challenge = f'Bearer scope="" error="invalid_token" error_description="{description}"'
        super().__init__(description, ("www-authenticate", challenge))
        self.reason = reason
        self.description = description

    def response(self) -> GatewayResponse:
        response = super().response()
        response.headers = [(name, value) for name, value in response.headers if name != "content-type"]
        return response


class InsufficientScope(Forbidden):
    """A valid token without any of the route's scopes (403, with the scopes in www-authenticate).

    The 403 is documented; its www-authenticate challenge is not (docs/local-stack.md lists it as a choice to
    check on a real deployment)."""

    def __init__(self, scopes: tuple[str, ...]) -> None:
        challenge = (
            f'Bearer scope="{" ".join(scopes)}" error="insufficient_scope" '
            'error_description="the token does not have the required scopes"'
        )
        super().__init__(None, ("www-authenticate", challenge))


class KeysUnavailable(Exception):
    """Discovery or the JWKS could not be fetched or was unusable (the JWT authorizer then rejects the token)."""
