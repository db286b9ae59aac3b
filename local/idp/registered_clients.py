"""The clients of the development authorization server: those that registered themselves (RFC 7591 dynamic client
registration) and those whose ``client_id`` is the URL of their client ID metadata document (the MCP specification's
preferred way since 2025-11-25; ``client_metadata_documents.py`` fetches them).

A client is public (``token_endpoint_auth_method: none``, PKCE its only proof) or, when it registered asking for
``client_secret_basic``/``client_secret_post`` (RFC 7591's default is ``client_secret_basic``), confidential with a
secret issued at registration. Either may use the authorization code and refresh token grants; redirect URIs match
exactly, loopback ones on any port (``redirect_uris.py``).

    registry = ClientRegistry(documents)
    client = registry.register({"redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"})
    registry.find(client.client_id) is client      # True
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import ClientMixin

from local.idp.redirect_uris import redirect_uri_matches

PUBLIC = "none"
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
CLIENT_GRANT_TYPES = ("authorization_code", "refresh_token")


def usable_grant_types(grant_types: object) -> bool:
    """What a client may ask for here: the authorization code grant, and optionally refresh tokens."""
    return (isinstance(grant_types, list) and set(grant_types) <= set(CLIENT_GRANT_TYPES)
            and "authorization_code" in grant_types)


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):
    """A client of the authorization code flow, as authlib's grants ask about it."""

    client_id: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str = PUBLIC
    client_secret: str | None = None
    grant_types: tuple[str, ...] = CLIENT_GRANT_TYPES
    metadata: dict = field(default_factory=dict)  # what it registered or published, echoed back

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only a client with a single redirect URI may leave redirect_uri out of its request (RFC 6749 3.1.2.3).
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        # What the user consents to is decided at authorization (DevUser.consent); "" means "not specified".
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri_matches(redirect_uri, self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret is None:
            return False
        return hmac.compare_digest(client_secret.encode("utf-8"), self.client_secret.encode("utf-8"))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class ClientRegistry:
    """Registered clients by ``client_id``; URL-shaped ids are looked up as client ID metadata documents."""

    def __init__(self, documents) -> None:
        self._documents = documents  # ClientMetadataDocuments: resolve(url) -> RegisteredClient
        self._lock = threading.Lock()
        self._clients: dict[str, RegisteredClient] = {}

    def find(self, client_id: str) -> RegisteredClient | None:
        """The client, or None. A ``client_id`` that is an http(s) URL is resolved as its metadata document
        (authlib's ``InvalidClientError`` says why one cannot be used)."""
        with self._lock:
            client = self._clients.get(client_id)
        if client is not None:
            return client
        if client_id.startswith(("https://", "http://")):
            return self._documents.resolve(client_id)
        return None

    def register(self, metadata: dict) -> RegisteredClient:
        """A new client from checked registration metadata (``registration.py``); a secret only for secret methods."""
        method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
        client = RegisteredClient(
            client_id="dcr-" + secrets.token_urlsafe(16),
            redirect_uris=tuple(metadata["redirect_uris"]),
            token_endpoint_auth_method=method,
            client_secret=secrets.token_urlsafe(32) if method in SECRET_METHODS else None,
            grant_types=tuple(metadata.get("grant_types", CLIENT_GRANT_TYPES)),
            metadata={**metadata, "token_endpoint_auth_method": method, "client_id_issued_at": int(time.time())},
        )
        with self._lock:
            self._clients[client.client_id] = client
        return client
