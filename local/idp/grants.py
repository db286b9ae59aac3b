"""The grants of the development authorization server, on authlib's: the authorization code grant with PKCE
(S256 only, always required) and RFC 8707 resource indicators, and the refresh token grant with rotation.

authlib runs each grant's protocol (parameters, client authentication, redirect URI and scope checks, PKCE
verification, error responses); this module adds what authlib leaves to the server: where codes and refresh tokens
live (``authorizations.py``), the resource each is bound to, and single use under concurrency.

| request                                    | answer                                                      |
|--------------------------------------------|-------------------------------------------------------------|
| authorize without code_challenge, or plain | redirect with ``error=invalid_request``                      |
| authorize without or with a bad resource   | redirect with ``error=invalid_target`` (RFC 8707)            |
| token: wrong code_verifier                 | 400 ``invalid_grant``                                       |
| token: code used before, or expired        | 400 ``invalid_grant`` (a reuse also revokes its refresh tokens) |
| token: redirect_uri not the authorized one | 400 ``invalid_grant``                                       |
| token: resource not the authorized one     | 400 ``invalid_target``                                      |
| refresh: retired, expired, other client's  | 400 ``invalid_grant`` (a retired one revokes its family)     |
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge

from local.idp.resource_indicators import check_resource, check_same_resource

TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class S256CodeChallenge(CodeChallenge):
    """PKCE as OAuth 2.1 and the MCP specification require it: a ``code_challenge`` on every authorization request,
    with ``code_challenge_method=S256`` named (RFC 7636's default, ``plain``, is refused)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge and code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


def check_authorization_resource(grant, redirect_uri) -> None:
    """Hook after an authorization request's payload is checked: its ``resource`` (an error redirects)."""
    check_resource(grant.request.payload.data.get("resource"), grant.server.settings.resources)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 section 4.1 with PKCE (``S256CodeChallenge``) and the ``resource`` the code is bound to."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS

    def __init__(self, request, server) -> None:
        super().__init__(request, server)
        self.register_hook("after_validate_authorization_request_payload", check_authorization_resource)

    def save_authorization_code(self, code, request):
        server = self.server
        data = request.payload.data
        server.store.new_code(
            code, client_id=request.client.get_client_id(), user=request.user, scope=request.scope,
            resource=data["resource"], redirect_uri=request.payload.redirect_uri,
            code_challenge=data["code_challenge"], code_challenge_method=data["code_challenge_method"],
            lifetime=server.settings.code_lifetime,
        )

    def create_authorization_response(self, redirect_uri, grant_user):
        # The user consents to what was asked, narrowed to what it may grant (authorization_settings.DevUser).
        self.request.scope = " ".join(grant_user.consent(self.request.scope, self.server.settings.scopes))
        return super().create_authorization_response(redirect_uri, grant_user)

    def query_authorization_code(self, code, client):
        return self.server.store.code(code, client.get_client_id())

    def validate_token_request(self):
        super().validate_token_request()
        check_same_resource(self.request.form.get("resource"), self.request.authorization_code.resource)

    def create_token_response(self):
        if not self.server.store.use_code(self.request.authorization_code):
            raise InvalidGrantError("The authorization code was already used.")
        return super().create_token_response()

    def delete_authorization_code(self, authorization_code):
        pass  # marked used in create_token_response, kept so a replay revokes what it produced

    def authenticate_user(self, authorization_code):
        return authorization_code.user

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        code = self.request.authorization_code
        return self.server.issue_tokens(self.request.client, user, scope or "", code.resource, code.family,
                                        include_refresh_token)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 section 6 with rotation: every use retires the refresh token and issues a new one, for the same
    resource (the access token keeps its ``aud``)."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        return self.server.store.refresh_token(refresh_token)

    def validate_token_request(self):
        super().validate_token_request()
        check_same_resource(self.request.form.get("resource"), self.request.refresh_token.resource)

    def create_token_response(self):
        if not self.server.store.use_refresh_token(self.request.refresh_token):
            raise InvalidGrantError("The refresh token was already used.")
        return super().create_token_response()

    def authenticate_user(self, refresh_token):
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        pass  # retired in create_token_response, before the new tokens exist

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        old = self.request.refresh_token
        return self.server.issue_tokens(self.request.client, user, scope or "", old.resource, old.family,
                                        include_refresh_token)
