"""Every way the local API Gateway refuses a request or fails to map a function's answer, in one place.

Each is raised by the module that decides (``local/iam.py``, ``local/lambda_authorizer.py``, ``local/jwt_keys.py``,
``local/jwt_authorizer.py``, ``local/integration.py``) and turned into API Gateway's status code by the request
pipeline in ``local/gateway.py``; callers branch on the type, never on the message.
"""

from __future__ import annotations


class MalformedAuthorizerResponse(Exception):
    """An authorizer response API Gateway would not accept (it answers 500)."""


class JwtRejected(Exception):
    """A token the JWT authorizer refuses (401); ``description`` goes into www-authenticate.

    ``reason`` is a stable code for the log (``expired``, ``bad_signature``, ``unknown_kid``, ...).
    """

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


class KeysUnavailable(Exception):
    """Discovery or the JWKS could not be fetched or was unusable."""


class MalformedIntegrationResponse(Exception):
    """A Lambda proxy response API Gateway cannot map (it answers 500)."""
