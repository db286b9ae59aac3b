"""Which issuers of the development issuer are also OAuth authorization servers for MCP clients, and their settings.

Two kinds, each with its endpoints under its own issuer URL (the metadata ``issuer`` is exactly the ``iss`` of its
tokens, and exactly what a protected resource lists in ``authorization_servers``):

| issuer                                                  | metadata (RFC 8414 section 3.1, and appended)          |
|---------------------------------------------------------|--------------------------------------------------------|
| ``<root>/oidc``                                         | ``<root>/.well-known/oauth-authorization-server/oidc`` |
| ``<root>/descope/v1/apps/agentic/<project>/<server-id>`` | ``<root>/.well-known/oauth-authorization-server/descope/v1/apps/agentic/<project>/<server-id>`` |

and ``<issuer>/.well-known/oauth-authorization-server``; endpoints ``<issuer>/authorize``, ``<issuer>/token``,
``<issuer>/register``. A Descope agentic issuer exists for every server id of a project the issuer serves, as in
Descope, where each MCP server is its own authorization server; the ``oidc`` one shares its token endpoint with the
client-credentials clients. Each keeps its own registered clients, codes and refresh tokens.

    issuer = DevIssuer(authorization=AuthorizationSettings(user=DevUser(scopes=("orders:read",))))
    issuer.authorization.server("descope", project="P2devproject", server_id="orders-mcp").metadata()["issuer"]
    issuer.authorization.configure(access_token_lifetime=2)      # settings can change while it runs
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

from local.idp.authorization_server import DevAuthorizationServer
from local.idp.authorization_settings import AuthorizationSettings
from local.idp.client_metadata_documents import ClientMetadataDocuments
from local.idp.profiles import REALM_PATTERN, Route

if TYPE_CHECKING:
    from local.idp.issuer import DevIssuer


class AuthorizationServers:
    """The authorization servers of one DevIssuer, made on first use; ``settings`` shared by all of them."""

    def __init__(self, issuer: DevIssuer, settings: AuthorizationSettings) -> None:
        self._issuer = issuer
        self._settings = settings
        self._lock = threading.Lock()
        self._servers: dict[tuple[str, str | None, str | None], DevAuthorizationServer] = {}
        self._documents = ClientMetadataDocuments(lambda: self._settings)

    @property
    def settings(self) -> AuthorizationSettings:
        return self._settings

    def configure(self, **changes: object) -> AuthorizationSettings:
        """Replace some settings (``user=DevUser(...)``, ``access_token_lifetime=2``...); returns the new ones.
        Codes and refresh tokens already issued keep what they were issued with."""
        self._settings = dataclasses.replace(self._settings, **changes)  # type: ignore[arg-type]
        return self._settings

    def server(self, profile: str, *, project: str | None = None,
               server_id: str | None = None) -> DevAuthorizationServer:
        """The ``oidc`` issuer's authorization server, or a Descope project's agentic one for ``server_id``."""
        if profile == "oidc" and project is None and server_id is None:
            key: tuple[str, str | None, str | None] = ("oidc", None, None)
            issuer_kw: dict[str, str] = {}
        elif profile == "descope" and project and server_id and REALM_PATTERN.fullmatch(server_id):
            key = ("descope", project, server_id)
            issuer_kw = {"project": project, "issuer_form": "agentic", "server_id": server_id}
        else:
            raise ValueError("authorization servers exist for the oidc issuer and for Descope agentic issuers "
                             "(project and server_id) only")
        with self._lock:
            found = self._servers.get(key)
            if found is None:
                found = self._servers[key] = DevAuthorizationServer(
                    self._issuer, lambda: self._settings, self._documents, profile, **issuer_kw)
            return found

    def for_route(self, found: Route) -> DevAuthorizationServer | None:
        """The authorization server a request's route addresses, or None (no such server: a 404)."""
        variant = dict(found.variant)
        if found.profile == "oidc":
            return self.server("oidc")
        server_id = variant.get("server_id")
        if found.profile == "descope" and variant.get("form") == "agentic" and server_id and found.realm:
            return self.server("descope", project=found.realm, server_id=server_id)  # the route matched its shape
        return None
