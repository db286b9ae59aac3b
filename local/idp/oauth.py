"""The OAuth 2.0 client-credentials grant (RFC 6749 section 4.4) as the development issuer's token endpoint runs
it: client authentication, the form, granted scopes, and errors as RFC 6749 error responses.

    client = authenticate(clients_by_id, "Basic b3JkZXJzLW9pZGM6ZGV2LXNlY3JldC1vaWRj", {})
    granted_scopes(client, "orders:read")           # ['orders:read']
"""

from __future__ import annotations

import base64
import binascii
import hmac
import urllib.parse
import uuid
from collections.abc import Mapping

from local.idp.clients import Client


class OAuthError(Exception):
    """An RFC 6749 error response: status, ``error`` code and a description safe to show the client."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def granted_scopes(client: Client, requested: str | None) -> list[str]:
    if requested is None or not requested.strip():
        return list(client.scopes)
    asked = list(dict.fromkeys(requested.split()))
    refused = [scope for scope in asked if scope not in client.scopes]
    if refused:
        raise OAuthError(400, "invalid_scope", f"not allowed for this client: {' '.join(refused)}")
    return asked


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, secret) from an HTTP Basic header; None without an Authorization header."""
    if authorization is None:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError(401, "invalid_client", "only HTTP Basic client authentication is supported")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise OAuthError(401, "invalid_client", "malformed HTTP Basic credentials") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise OAuthError(401, "invalid_client", "malformed HTTP Basic credentials")
    # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


def _same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_form(content_type: str | None, body: bytes) -> dict[str, str]:
    if media_type(content_type) != "application/x-www-form-urlencoded":
        raise OAuthError(400, "invalid_request", "send application/x-www-form-urlencoded")
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(400, "invalid_request", "malformed form body") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # RFC 6749 section 3.2: parameters must not be repeated
            raise OAuthError(400, "invalid_request", f"parameter {name!r} is repeated")
        form[name] = value
    return form


def authenticate(clients: Mapping[str, Client], authorization: str | None, form: Mapping[str, str]) -> Client:
    """The client, by HTTP Basic or by client_id/client_secret form fields (both allowed when they agree)."""
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    basic = basic_credentials(authorization)
    if basic is not None:
        client_id, secret = basic
        if (form_id is not None and form_id != client_id) or (
            form_secret is not None and not _same_secret(form_secret, secret)
        ):
            raise OAuthError(401, "invalid_client", "HTTP Basic and form credentials disagree")
    elif form_id is not None and form_secret is not None:
        client_id, secret = form_id, form_secret
    else:
        raise OAuthError(401, "invalid_client", "client authentication is required")
    client = clients.get(client_id)
    # Compare even for an unknown client, so both failures take the same time.
    expected = client.client_secret if client is not None else "unknown-client-" + uuid.uuid4().hex
    if not _same_secret(secret, expected) or client is None:
        raise OAuthError(401, "invalid_client", "unknown client or wrong secret")
    return client
