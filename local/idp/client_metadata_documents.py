"""Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, the MCP authorization specification's
preferred registration since 2025-11-25): a client's ``client_id`` is an https URL, and the authorization server
fetches the JSON document there to learn the client's redirect URIs.

The development server fetches documents from loopback hosts (http or https, so a test can serve one) and from the
https hosts its settings list, nothing else; no redirects are followed, bodies are capped, and a document is
cached for a minute of the settings' clock. A document is used only when its ``client_id`` is the URL it came from,
it lists redirect URIs, and it names no client secret (such clients are public: ``token_endpoint_auth_method``
``none``, the only method a document may name here).

    documents = ClientMetadataDocuments(lambda: settings)
    client = documents.resolve("http://127.0.0.1:8765/client.json")   # RegisteredClient, or InvalidClientError
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from collections.abc import Callable

import requests
from authlib.oauth2.rfc6749 import InvalidClientError

from authorizer.config import is_loopback_host
from local.idp.authorization_settings import AuthorizationSettings
from local.idp.redirect_uris import redirect_uri_problem
from local.idp.registered_clients import CLIENT_GRANT_TYPES, PUBLIC, RegisteredClient, usable_grant_types

_log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 3.0
CACHE_SECONDS = 60


class ClientMetadataDocuments:
    """Fetches, checks and caches client ID metadata documents, by URL."""

    def __init__(self, settings: Callable[[], AuthorizationSettings]) -> None:
        self._settings = settings  # read at each use: the settings may be replaced while the issuer runs
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, RegisteredClient]] = {}

    def resolve(self, url: str) -> RegisteredClient:
        """The client the document at ``url`` describes; InvalidClientError (RFC 6749 ``invalid_client``) says why
        it cannot be used."""
        now = self._settings().clock()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and now < cached[0]:
            return cached[1]
        self._check_url(url)
        client = self._client_from(url, self._fetch(url))
        with self._lock:
            self._cache[url] = (now + CACHE_SECONDS, client)
        return client

    def _check_url(self, url: str) -> None:
        try:
            parts = urllib.parse.urlsplit(url)
            host = parts.hostname
        except ValueError:
            raise InvalidClientError(description="The client_id is not a valid URL.") from None
        if parts.fragment or parts.username or parts.password or parts.path in ("", "/") or not host:
            raise InvalidClientError(description="A client_id URL needs a host and a path, and no fragment or "
                                                 "credentials.")
        if is_loopback_host(host) and parts.scheme in ("http", "https"):
            return
        if parts.scheme == "https" and host in self._settings().client_metadata_hosts:
            return
        raise InvalidClientError(description="This development server fetches client metadata documents from "
                                             "loopback hosts and configured client_metadata_hosts only.")

    def _fetch(self, url: str) -> dict:
        session = requests.Session()
        session.trust_env = False  # never through a proxy from the environment
        try:
            with session.get(url, timeout=FETCH_TIMEOUT_SECONDS, allow_redirects=False, stream=True,
                             headers={"Accept": "application/json"},
                             verify=self._settings().client_metadata_ca_bundle or True) as response:
                body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
                status = response.status_code
        except (requests.RequestException, OSError) as error:
            _log.info("client metadata document %s: fetch failed: %s", url, type(error).__name__)
            raise InvalidClientError(description="The client metadata document could not be fetched.") from None
        finally:
            session.close()
        if status != 200:
            raise InvalidClientError(description=f"The client metadata document answered HTTP {status}.")
        if len(body) > MAX_DOCUMENT_BYTES:
            raise InvalidClientError(description="The client metadata document is too large.")
        try:
            document = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            document = None
        if not isinstance(document, dict):
            raise InvalidClientError(description="The client metadata document is not a JSON object.")
        return document

    @staticmethod
    def _client_from(url: str, document: dict) -> RegisteredClient:
        if document.get("client_id") != url:
            raise InvalidClientError(description="The client metadata document's client_id is not its URL.")
        if "client_secret" in document or "client_secret_expires_at" in document:
            raise InvalidClientError(description="A client metadata document must not carry a client secret.")
        method = document.get("token_endpoint_auth_method", PUBLIC)
        if method != PUBLIC:
            raise InvalidClientError(description="Clients described by a metadata document are public here: "
                                                 "token_endpoint_auth_method must be none.")
        uris = document.get("redirect_uris")
        if not isinstance(uris, list) or not uris or any(redirect_uri_problem(uri) for uri in uris):
            raise InvalidClientError(description="The client metadata document needs redirect_uris: https, loopback "
                                                 "http or private-use scheme URIs.")
        grant_types = document.get("grant_types", list(CLIENT_GRANT_TYPES))
        if not usable_grant_types(grant_types):
            raise InvalidClientError(description="The client metadata document's grant_types must be "
                                                 "authorization_code and optionally refresh_token.")
        return RegisteredClient(client_id=url, redirect_uris=tuple(uris), token_endpoint_auth_method=PUBLIC,
                                grant_types=tuple(grant_types), metadata=dict(document))
