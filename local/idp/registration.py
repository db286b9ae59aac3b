"""RFC 7591 dynamic client registration at the development authorization server's ``registration_endpoint``,
on authlib's ``ClientRegistrationEndpoint``: open (no initial access token, as MCP clients expect), for clients of
the authorization code flow only.

Beyond authlib's checks of the metadata against the server metadata (auth methods, grant and response types,
scopes), a registration must list redirect URIs that ``redirect_uris.py`` accepts, and each field must have its
RFC 7591 type. Errors are RFC 7591 section 3.2.2 responses (``invalid_redirect_uri``, ``invalid_client_metadata``).

    POST /oidc/register  {"redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"}
    201 {"client_id": "dcr-...", "redirect_uris": [...], "token_endpoint_auth_method": "none", ...}
"""

from __future__ import annotations

from authlib.oauth2.rfc7591 import (
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)

from local.idp.redirect_uris import redirect_uri_problem
from local.idp.registered_clients import CLIENT_GRANT_TYPES, SECRET_METHODS, ClientRegistry, usable_grant_types

# RFC 7591 section 2: the type of each field this server reads.
_STRING_FIELDS = ("token_endpoint_auth_method", "client_name", "client_uri", "logo_uri", "scope", "tos_uri",
                  "policy_uri", "jwks_uri", "software_id", "software_version", "application_type")
_LIST_FIELDS = ("redirect_uris", "grant_types", "response_types", "contacts")


def check_field_types(metadata: object) -> dict:
    """The registration request's JSON object, each known field of its RFC 7591 type."""
    if not isinstance(metadata, dict) or not metadata:
        raise InvalidClientMetadataError("Send the client metadata as a JSON object.")
    for name in _STRING_FIELDS:
        if name in metadata and not isinstance(metadata[name], str):
            raise InvalidClientMetadataError(f"{name} must be a string.")
    for name in _LIST_FIELDS:
        if name in metadata and (not isinstance(metadata[name], list)
                                 or not all(isinstance(item, str) for item in metadata[name])):
            raise InvalidClientMetadataError(f"{name} must be a list of strings.")
    if "jwks" in metadata or "software_statement" in metadata:
        raise InvalidClientMetadataError("jwks and software_statement are not supported here.")
    return metadata


class DevClientRegistration(ClientRegistrationEndpoint):
    """Open registration into a ``ClientRegistry``, judged against the authorization server's metadata."""

    def __init__(self, server, registry: ClientRegistry) -> None:
        super().__init__(server)
        self._registry = registry

    def authenticate_token(self, request):
        return True  # open registration: MCP clients register without an initial access token

    def get_server_metadata(self) -> dict:
        return self.server.metadata()  # as configured now (a test may change the scopes), not at construction

    def extract_client_metadata(self, request) -> dict:
        uris = check_field_types(request.payload.data).get("redirect_uris")
        if not uris:
            raise InvalidRedirectURIError("Register at least one redirect URI: this server runs the authorization "
                                          "code flow only.")
        for uri in uris:  # before authlib's checks, so a bad redirect URI is invalid_redirect_uri (RFC 7591 3.2.2)
            problem = redirect_uri_problem(uri)
            if problem:
                raise InvalidRedirectURIError(problem[0].upper() + problem[1:] + ".")
        metadata = super().extract_client_metadata(request)
        grant_types = metadata.setdefault("grant_types", list(CLIENT_GRANT_TYPES))
        if not usable_grant_types(grant_types):
            raise InvalidClientMetadataError("grant_types must be authorization_code and optionally refresh_token.")
        if set(metadata.get("response_types", ["code"])) != {"code"}:
            raise InvalidClientMetadataError("response_types must be ['code'].")
        return metadata

    def generate_client_info(self, request) -> dict:
        return {}  # the registry issues the id (and a secret, for secret methods) in save_client

    def save_client(self, client_info, client_metadata, request):
        return self._registry.register(client_metadata)

    def generate_client_registration_info(self, client, request) -> dict:
        # Added to the response body: the id and, for secret methods, the secret (RFC 7591 section 3.2.1).
        info = {"client_id": client.client_id, "client_id_issued_at": client.metadata["client_id_issued_at"]}
        if client.token_endpoint_auth_method in SECRET_METHODS:
            info.update(client_secret=client.client_secret, client_secret_expires_at=0)
        return info
