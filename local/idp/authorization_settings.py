"""What the development authorization server grants, to whom, and for how long: the development user whose consent
is given without asking (so MCP clients run headless), the scopes it knows, lifetimes, the clock, and which client
ID metadata documents it will fetch.

    settings = AuthorizationSettings(user=DevUser(sub="dev-user", scopes=("orders:read",)))
    settings.user.consent("orders:read orders:write", settings.scopes)   # ['orders:read']: no orders:write

Tests move time with a ``ManualClock`` instead of waiting:

    clock = ManualClock()
    settings = AuthorizationSettings(clock=clock, access_token_lifetime=2)
    clock.advance(3)            # every token issued before now has expired
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from local.idp.profiles import scope_list
from local.idp.shapes import DEV_USER_ID

DEV_AUTHORIZATION_SCOPES = ("orders:read", "orders:write")


class ManualClock:
    """A clock that moves only when told: ``advance(seconds)``. Starts at the real time unless given ``start``."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class DevUser:
    """The user on whose behalf the authorization server consents, without asking.

    ``sub``: the tokens' subject. ``scopes``: what this user may grant (a request is narrowed to them; None: every
    scope the server knows). ``claims``: added to each of this user's access tokens (Descope ``roles``,
    ``tenants``, an ``email``...), never overriding ``iss``, ``sub``, ``aud``, ``azp``, ``scope``, ``exp`` or ``iat``.
    """

    sub: str = DEV_USER_ID
    scopes: tuple[str, ...] | None = None
    claims: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.sub, str) or not self.sub:
            raise ValueError("DevUser.sub must be a non-empty string")
        if self.scopes is not None:
            object.__setattr__(self, "scopes", tuple(scope_list(self.scopes)))
        if not isinstance(self.claims, dict):
            raise ValueError("DevUser.claims must be a dict")

    def consent(self, requested: str | None, known: tuple[str, ...]) -> list[str]:
        """The scopes granted for a request: what was asked (nothing asked: everything this user may grant),
        narrowed to what this user may grant. Scopes the server does not know are refused before consent."""
        allowed = known if self.scopes is None else tuple(s for s in self.scopes if s in known)
        asked = scope_list(requested or "") or list(allowed)
        return [scope for scope in asked if scope in allowed]


@dataclass(frozen=True)
class AuthorizationSettings:
    """The knobs of the development authorization server.

    | setting                      | meaning                                                          | default      |
    |------------------------------|------------------------------------------------------------------|--------------|
    | ``user``                     | who consents (``DevUser``)                                       | dev user, all scopes |
    | ``scopes``                   | ``scopes_supported``; other scopes are ``invalid_scope``         | orders:read, orders:write |
    | ``resources``                | the ``resource`` values accepted (None: any absolute URI)        | None         |
    | ``access_token_lifetime``    | seconds; also the token response's ``expires_in`` (0 allowed)   | 3600         |
    | ``refresh_token_lifetime``   | seconds a refresh token may be used                              | 86400        |
    | ``code_lifetime``            | seconds an authorization code may be exchanged                   | 60           |
    | ``clock``                    | ``() -> epoch seconds`` for every time the server reads          | ``time.time``|
    | ``client_metadata_hosts``    | hosts whose https client ID metadata documents may be fetched,   | ()           |
    |                              | besides loopback ones (http or https), which always may          |              |
    | ``client_metadata_ca_bundle``| CA file for fetching https documents (a test's own CA)           | system CAs   |
    """

    user: DevUser = field(default_factory=DevUser)
    scopes: tuple[str, ...] = DEV_AUTHORIZATION_SCOPES
    resources: tuple[str, ...] | None = None
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 86400
    code_lifetime: int = 60
    clock: Callable[[], float] = time.time
    client_metadata_hosts: tuple[str, ...] = ()
    client_metadata_ca_bundle: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.user, DevUser):
            raise ValueError("AuthorizationSettings.user must be a DevUser")
        object.__setattr__(self, "scopes", tuple(scope_list(self.scopes)))
        if self.resources is not None:
            if isinstance(self.resources, str) or not all(isinstance(r, str) for r in self.resources):
                raise ValueError("AuthorizationSettings.resources must be a list of URIs")
            object.__setattr__(self, "resources", tuple(self.resources))
        for name in ("access_token_lifetime", "refresh_token_lifetime", "code_lifetime"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"AuthorizationSettings.{name} must be a whole number of seconds >= 0")
        if not callable(self.clock):
            raise ValueError("AuthorizationSettings.clock must be callable")
        if isinstance(self.client_metadata_hosts, str):
            raise ValueError("AuthorizationSettings.client_metadata_hosts must be a list of host names")
        object.__setattr__(self, "client_metadata_hosts", tuple(h.lower() for h in self.client_metadata_hosts))
