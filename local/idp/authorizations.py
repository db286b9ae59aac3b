"""What the development authorization server remembers between requests: authorization codes and refresh tokens,
in memory, each bound to its client, user, scopes and resource.

Codes are used once; a second use is refused and revokes the refresh tokens the first use produced (RFC 6749
section 4.1.2, "SHOULD revoke"). Refresh tokens rotate: each use gives a new one and retires the old, and presenting
a retired one revokes every refresh token descended from the same authorization (OAuth 2.1 section 4.3.1, RFC 9700
section 4.14.2), since only a thief or a confused client replays one. Time is read from the settings' clock.

    store = AuthorizationStore(clock=time.time)
    code = store.new_code(generate_token(48), client_id="c", user=user, scope="orders:read", resource="http://127.0.0.1:8080/mcp",
                          redirect_uri="http://127.0.0.1/cb", code_challenge="...", lifetime=60)
    record = store.code(code.code, "c")     # None once used or expired
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, TokenMixin

from local.idp.authorization_settings import DevUser


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """One authorization code and what it was issued for (the authlib model the grants read)."""

    code: str
    client_id: str
    user: DevUser
    scope: str
    resource: str
    redirect_uri: str | None
    code_challenge: str
    code_challenge_method: str
    expires_at: float
    family: str = field(default_factory=lambda: secrets.token_hex(8))
    used: bool = False

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class RefreshToken(TokenMixin):
    """One refresh token: whose it is, for which scopes and resource, and the authorization it descends from."""

    token: str
    client_id: str
    user: DevUser
    scope: str
    resource: str
    expires_at: float
    family: str
    used: bool = False

    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False  # the store never hands out an expired one

    def is_revoked(self) -> bool:
        return self.used


class AuthorizationStore:
    """Codes and refresh tokens by value, thread-safe (the issuer serves one thread per connection)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, AuthorizationCode] = {}
        self._refresh_tokens: dict[str, RefreshToken] = {}
        self._revoked_families: set[str] = set()

    # -- authorization codes

    def new_code(self, code: str, *, client_id: str, user: DevUser, scope: str, resource: str, redirect_uri: str | None,
                 code_challenge: str, code_challenge_method: str, lifetime: int) -> AuthorizationCode:
        record = AuthorizationCode(
            code=code, client_id=client_id, user=user, scope=scope, resource=resource,
            redirect_uri=redirect_uri, code_challenge=code_challenge, code_challenge_method=code_challenge_method,
            expires_at=self.clock() + lifetime,
        )
        with self._lock:
            self._drop_expired()
            self._codes[code] = record
        return record

    def code(self, value: str, client_id: str) -> AuthorizationCode | None:
        """The unused, unexpired code issued to this client; a used one revokes what it produced."""
        with self._lock:
            code = self._codes.get(value)
            if code is None or code.client_id != client_id:
                return None
            if code.used:
                self._revoke_family(code.family)
                return None
            return code if self.clock() < code.expires_at else None

    def use_code(self, code: AuthorizationCode) -> bool:
        """Mark the code used; False when another request used it first."""
        with self._lock:
            if code.used:
                self._revoke_family(code.family)
                return False
            code.used = True
            return True

    # -- refresh tokens

    def new_refresh_token(self, *, client_id: str, user: DevUser, scope: str, resource: str, family: str,
                          lifetime: int) -> RefreshToken:
        token = RefreshToken(token=secrets.token_urlsafe(32), client_id=client_id, user=user, scope=scope,
                             resource=resource, expires_at=self.clock() + lifetime, family=family)
        with self._lock:
            if family in self._revoked_families:
                token.used = True  # issued while its family was revoked: born unusable
            self._refresh_tokens[token.token] = token
        return token

    def refresh_token(self, value: str) -> RefreshToken | None:
        """The live refresh token with this value; a retired one revokes its whole family."""
        with self._lock:
            token = self._refresh_tokens.get(value)
            if token is None:
                return None
            if token.used:
                self._revoke_family(token.family)
                return None
            return token if self.clock() < token.expires_at else None

    def use_refresh_token(self, token: RefreshToken) -> bool:
        """Retire the token (rotation); False when it was already retired (another request, or a revocation)."""
        with self._lock:
            if token.used:
                self._revoke_family(token.family)
                return False
            token.used = True
            return True

    # -- internals (called with the lock held)

    def _revoke_family(self, family: str) -> None:
        self._revoked_families.add(family)
        for token in self._refresh_tokens.values():
            if token.family == family:
                token.used = True

    def _drop_expired(self) -> None:
        now = self.clock()
        # Used codes are kept past expiry for a while, so a late replay still revokes what the code produced.
        for value in [v for v, c in self._codes.items() if now >= c.expires_at + 3600]:
            del self._codes[value]
