"""One development authorization server (OAuth 2.1 for MCP clients), on authlib's ``AuthorizationServer``: RFC 8414
metadata, the authorization endpoint (consent given at once for the development user, so clients run headless),
the token endpoint (authorization code with PKCE, refresh token), RFC 7591 registration and client ID metadata
documents, RFC 8707 ``resource`` into ``aud``, and RFC 9207 ``iss`` on every authorization response.

Each is hosted by one issuer of the development issuer (``authorization_servers.py`` says which) and signs with
that issuer's keys through ``DevIssuer.mint``, so its tokens have that provider's shape: for the ``oidc`` issuer
``iss``, ``sub`` (the user), ``aud`` (the resource), ``client_id``, ``azp``, ``scope``; for a Descope agentic
issuer (``https://api.descope.com/v1/apps/agentic/<project>/<server-id>``) Descope's session-token shape with
``aud`` the resource, ``azp`` the client and ``sub`` the user.

The HTTP server (``server.py``) hands each request over as an ``HttpExchange`` and writes back the ``Answer``.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import AuthorizationServer, JsonPayload, JsonRequest, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from local.idp.authorization_settings import AuthorizationSettings
from local.idp.authorizations import AuthorizationStore
from local.idp.client_metadata_documents import ClientMetadataDocuments
from local.idp.grants import TOKEN_ENDPOINT_AUTH_METHODS, AuthorizationCodeGrant, RefreshTokenGrant, S256CodeChallenge
from local.idp.oauth import OAuthError, basic_credentials, parse_form
from local.idp.profiles import discovery_jwks_path
from local.idp.registered_clients import ClientRegistry
from local.idp.registration import DevClientRegistration

if TYPE_CHECKING:
    from local.idp.issuer import DevIssuer

# Claims a DevUser's own claims never override: what the grant decides.
DECIDED_CLAIMS = frozenset({"iss", "sub", "aud", "azp", "client_id", "scope", "exp", "iat", "nbf", "jti"})
# RFC 6749 appendix A: error_description may hold %x20-21 / %x23-5B / %x5D-7E only; authlib puts these two
# parameters into descriptions, so anything else is refused before it reaches authlib.
_DESCRIBABLE = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


@dataclass(frozen=True)
class HttpExchange:
    """A request as the HTTP server received it: method, absolute URL, headers and body."""

    method: str
    url: str
    headers: Mapping[str, str] | Message  # read with .get(name), case-insensitively for a Message
    body: bytes = b""


@dataclass
class Answer:
    """What to send back: status, a JSON object (or nothing), headers."""

    status: int
    body: dict | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "location"] + [("Location", value)]


class _Request(OAuth2Request):
    """An authlib request from an exchange: the query (authorize) or form (token) as its payload."""

    def __init__(self, exchange: HttpExchange, query: dict[str, str], form: dict[str, str]) -> None:
        super().__init__(exchange.method, exchange.url, headers=exchange.headers)
        self._query, self._form = query, form
        self.payload = BasicOAuth2Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _JsonBody(JsonPayload):
    def __init__(self, data: Any) -> None:
        self._data = data

    @property
    def data(self) -> Any:
        return self._data


def query_parameters(url: str) -> dict[str, str]:
    """An authorization request's parameters; a repeated one is refused (RFC 6749 section 3.1)."""
    try:
        pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True,
                                       errors="strict", max_num_fields=32)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(400, "invalid_request", "malformed query string") from None
    parameters: dict[str, str] = {}
    for name, value in pairs:
        if name in parameters:
            raise OAuthError(400, "invalid_request", f"parameter {name!r} is repeated")
        parameters[name] = value
    for name in ("response_type", "redirect_uri"):
        if not set(parameters.get(name, "")) <= _DESCRIBABLE:
            raise OAuthError(400, "invalid_request", f"{name} holds characters a URI or response type cannot")
    return parameters


class DevAuthorizationServer(AuthorizationServer):
    """The authorization server of one issuer: ``profile`` (``oidc`` or ``descope``) and the issuer keywords of
    ``DevIssuer.mint`` that name it (``project``, ``issuer_form="agentic"``, ``server_id``)."""

    def __init__(self, issuer: DevIssuer, settings: Callable[[], AuthorizationSettings],
                 documents: ClientMetadataDocuments, profile: str, **issuer_kw: str) -> None:
        self._settings = settings
        super().__init__(scopes_supported=list(settings().scopes))
        self._issuer = issuer
        self.profile = profile
        self._issuer_kw: dict[str, Any] = dict(issuer_kw)
        self.issuer = issuer.issuer_url(profile, **issuer_kw)
        self.store = AuthorizationStore(clock=lambda: self._settings().clock())
        self.clients = ClientRegistry(documents)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(DevClientRegistration(self, self.clients))

    @property
    def settings(self) -> AuthorizationSettings:
        return self._settings()

    # -- RFC 8414

    def metadata(self) -> dict:
        """The authorization server metadata (``/.well-known/oauth-authorization-server<issuer path>``)."""
        realm = self._issuer_kw.get("project")
        grant_types = ["authorization_code", "refresh_token"]
        if self.profile == "oidc":
            grant_types.append("client_credentials")  # its token endpoint also serves the configured clients
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "registration_endpoint": self.issuer + "/register",
            "jwks_uri": self._issuer.root + discovery_jwks_path(self.profile, realm),
            "scopes_supported": list(self.settings.scopes),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": grant_types,
            "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
        }
        AuthorizationServerMetadata(document).validate()
        return document

    # -- the endpoints

    def authorize(self, exchange: HttpExchange) -> Answer:
        """``GET /authorize``: the development user consents at once; the answer redirects back with the code (or
        an error), ``state`` and ``iss``, or is a 400 when the client or redirect URI cannot be trusted."""
        try:
            request = _Request(exchange, query_parameters(exchange.url), {})
        except OAuthError as error:
            return _error_answer(error)
        self.scopes_supported = list(self.settings.scopes)
        try:
            grant = self.get_authorization_grant(request)
        except OAuth2Error as error:
            error.state = request.payload.state
            answer = self.handle_error_response(request, error)
        else:
            answer = self.create_authorization_response(request, grant_user=self.settings.user, grant=grant)
        if answer.location is not None:
            answer.location = add_params_to_uri(answer.location, [("iss", self.issuer)])  # RFC 9207
        answer.headers.append(("Cache-Control", "no-store"))
        return answer

    def token(self, exchange: HttpExchange) -> Answer:
        """``POST /token``: the authorization code and refresh token grants."""
        try:
            basic_credentials(exchange.headers.get("Authorization"))  # malformed Basic: invalid_client, here
            form = parse_form(exchange.headers.get("Content-Type"), exchange.body)
        except OAuthError as error:
            return _error_answer(error)
        return self.create_token_response(_Request(exchange, {}, form))

    def register(self, exchange: HttpExchange) -> Answer:
        """``POST /register``: RFC 7591 dynamic client registration."""
        try:
            data = json.loads(exchange.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            return Answer(400, {"error": "invalid_client_metadata",
                                "error_description": "Send the client metadata as a JSON object."},
                          [("Cache-Control", "no-store")])
        request = JsonRequest(exchange.method, exchange.url, exchange.headers)
        request.payload = _JsonBody(data)
        return self.create_endpoint_response("client_registration", request)

    # -- what authlib asks of a server

    def query_client(self, client_id):
        return self.clients.find(client_id)

    def save_token(self, token, request):
        pass  # issue_tokens stored the refresh token; access tokens are signed JWTs, never stored

    def send_signal(self, name, *args, **kwargs):
        pass

    def create_oauth2_request(self, request):
        return request

    def create_json_request(self, request):
        return request

    def handle_response(self, status, body, headers) -> Answer:
        return Answer(status, body if isinstance(body, dict) else None, list(headers))

    # -- tokens

    def issue_tokens(self, client, user, scope: str, resource: str, family: str, include_refresh_token: bool) -> dict:
        """The token response: an access token for ``resource`` signed by the hosting issuer, and (when the client
        may refresh) a new refresh token of the same authorization ``family``."""
        settings = self.settings
        claims = {name: value for name, value in user.claims.items() if name not in DECIDED_CLAIMS}
        claims.update(sub=user.sub, aud=resource, azp=client.get_client_id())
        access_token = self._issuer.mint(
            self.profile, client_id=client.get_client_id(), scopes=scope.split(), audience=resource,
            expires_in=settings.access_token_lifetime, issued_at=int(settings.clock()), claims=claims,
            **self._issuer_kw,
        )
        answer = {"access_token": access_token, "token_type": "Bearer",
                  "expires_in": settings.access_token_lifetime, "scope": scope}
        if include_refresh_token:
            answer["refresh_token"] = self.store.new_refresh_token(
                client_id=client.get_client_id(), user=user, scope=scope, resource=resource, family=family,
                lifetime=settings.refresh_token_lifetime,
            ).token
        return answer


def _error_answer(error: OAuthError) -> Answer:
    headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    if error.status == 401:
        headers.append(("WWW-Authenticate", 'Basic realm="dev-issuer"'))
    return Answer(error.status, {"error": error.error, "error_description": error.description}, headers)
