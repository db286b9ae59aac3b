"""A development OIDC issuer: discovery, JWKS and a client-credentials token endpoint on 127.0.0.1.

One loopback HTTP server (``server.py``) hosts six issuers, each shaped like a real provider (URL layout in
``profiles.py``, token shapes in ``shapes.py``): ``oidc`` (generic), ``descope``, ``passage``, ``wso2``, ``cognito``
and ``entra``. The authorizer's provider presets, pointed at ``base_url(profile)``, and generic OIDC discovery work
against it unchanged, so the local stack, the demos and the tests exercise the same code paths as a deployment.
Clients are in ``clients.py``, keys in ``keys.py``, the token endpoint's grant in ``oauth.py``.

    with DevIssuer(clients=default_clients()) as issuer:
        token = issuer.mint("descope", scopes=["orders:read"])        # any token, by hand
        requests.post(issuer.token_url("wso2"), auth=("orders-wso2", "dev-secret-wso2"),
                      data={"grant_type": "client_credentials"})     # or from the token endpoint

The ``oidc`` issuer and every Descope agentic issuer are also OAuth authorization servers for MCP clients
(authorization code + PKCE, refresh tokens, registration, consent given at once for a development user):
``issuer.authorization`` (``authorization_servers.py``), configured by ``authorization=AuthorizationSettings(...)``.

It also simulates what a verifier must survive: key rotation (``rotate_keys``), JWKS outages (``set_jwks_fault``),
and it counts JWKS fetches (``jwks_fetch_count``). Development only: keys live in memory, client secrets are public
constants, and the server refuses to bind anything but loopback.

CLI (``.venv/bin/python -m local issuer --help``, in ``cli.py``): ``serve`` runs the issuer until Ctrl-C; ``mint`` prints a
token minted by the running server (``POST /_dev/mint``).
"""

from __future__ import annotations

import threading
import time
import uuid

from local.idp.authorization_servers import AuthorizationServers
from local.idp.authorization_settings import AuthorizationSettings
from local.idp.clients import (
    DEV_COGNITO_POOL,
    DEV_DESCOPE_PROJECT,
    DEV_ENTRA_TENANT,
    DEV_PASSAGE_APP,
    DEV_PASSAGE_AUTH_ORIGIN,
    Client,
    default_clients,
)
from local.idp.keys import KeyRing, compact_jws
from local.idp.oauth import OAuthError, authenticate, granted_scopes
from local.idp.profiles import (
    PROFILES,
    REALM_KEYWORD,
    SHAPE_OPTIONS,
    audience_list,
    base_path,
    check_alg,
    check_issuer_form,
    check_profile,
    check_realm,
    check_shape,
    discovery_document,
    discovery_path,
    epoch_seconds,
    issuer_identifier,
    jwks_path,
    scope_list,
    token_path,
)
from local.idp.server import IssuerHTTPServer, loopback_host
from local.idp.shapes import default_audiences, entra_default_scope, granted, token_claims, token_header

JWKS_FAULTS = (None, "error", "html", "timeout", "reset")


class DevIssuer:
    """The development issuer: one loopback HTTP server hosting the oidc, descope, passage, wso2, cognito
    and entra issuers.

    ``admin=True`` also serves ``POST /_dev/mint`` (what the ``mint`` CLI calls). Keys are generated the first time an
    issuer is used; share one started DevIssuer across tests (key generation is the slow part).
    """

    def __init__(
        self,
        clients: list[Client] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        admin: bool = False,
        descope_project: str = DEV_DESCOPE_PROJECT,
        passage_app: str = DEV_PASSAGE_APP,
        passage_auth_origin: str = DEV_PASSAGE_AUTH_ORIGIN,
        cognito_pool: str = DEV_COGNITO_POOL,
        entra_tenant: str = DEV_ENTRA_TENANT,
        token_lifetime: int = 3600,
        authorization: AuthorizationSettings | None = None,
    ) -> None:
        self._host = loopback_host(host)
        self._port = port
        self._admin = admin
        self._passage_auth_origin = passage_auth_origin
        self._token_lifetime = token_lifetime
        self._default_realms = {"oidc": None, "descope": descope_project, "passage": passage_app, "wso2": None,
                                "cognito": cognito_pool, "entra": entra_tenant}
        for profile in ("descope", "passage", "cognito", "entra"):
            check_realm(profile, self._default_realms[profile])

        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: IssuerHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._rings: dict[tuple[str, str | None], KeyRing] = {}
        self._jwks_fetches: dict[tuple[str, str | None], int] = {}
        self._faults: dict[str | None, tuple[str, float]] = {}
        # Issuers answer only for realms someone named (defaults, clients, URL and mint calls): an unknown project
        # gets a 404, as on the real provider, and stray requests cannot make the server generate keys.
        self._realms: dict[str, set[str | None]] = {profile: {self._default_realms[profile]} for profile in PROFILES}

        self._clients: dict[str, Client] = {}
        for client in default_clients() if clients is None else clients:
            if client.client_id in self._clients:
                raise ValueError(f"duplicate client_id {client.client_id!r}")
            self._clients[client.client_id] = client
            self._realms[client.profile].add(self._realm_of(client))
        self.authorization = AuthorizationServers(self, authorization or AuthorizationSettings())

    # -- lifecycle

    def start(self) -> DevIssuer:
        """Serve in a background daemon thread. Returns self."""
        if self._server is not None:
            raise RuntimeError("DevIssuer already started")
        self._stopping.clear()
        self._server = IssuerHTTPServer((self._host, self._port), self)
        # A short poll interval keeps stop() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="dev-issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections (held and keep-alive ones too). Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # releases responses held by the "timeout" fault
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DevIssuer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- where things are

    @property
    def root(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._server is None:
            raise RuntimeError("DevIssuer is not started: call start() or use it as a context manager")
        return f"http://{self._host}:{self._server.server_address[1]}"

    @property
    def clients(self) -> list[Client]:
        return list(self._clients.values())

    def issuer_url(self, profile: str, **kw: str | None) -> str:
        """The ``iss`` of a profile's tokens. kw: ``project``/``app``/``tenant``/``pool``, ``issuer_form`` ("url",
        "bare", "apps", "agentic" with ``server_id``) and Entra's ``version`` ("2.0" or "1.0")."""
        realm, form, shape = self._resolve(profile, kw)
        return issuer_identifier(self.root, profile, realm, form, **_issuer_variant(shape))

    def base_url(self, profile: str) -> str:
        """What a provider preset's ``base_url`` override points at."""
        check_profile(profile)
        return self.root + base_path(profile)

    def jwks_url(self, profile: str, **kw: str | None) -> str:
        realm, _, _ = self._resolve(profile, kw)
        return self.root + jwks_path(profile, realm)

    def token_url(self, profile: str, **kw: str | None) -> str:
        realm, _, _ = self._resolve(profile, kw)
        return self.root + token_path(profile, realm)

    def discovery_url(self, profile: str, **kw: str | None) -> str:
        """``<iss>/.well-known/openid-configuration`` of a URL-form issuer (a bare iss has no discovery)."""
        realm, form, shape = self._resolve(profile, kw)
        return self.root + discovery_path(profile, realm, form, **_issuer_variant(shape))

    # -- tokens by hand

    def mint(
        self,
        profile: str = "oidc",
        *,
        alg: str = "RS256",
        claims: dict | None = None,
        scopes: list[str] | str | None = None,
        audience: list[str] | str | None = None,
        expires_in: int = 300,
        issued_at: int | None = None,
        not_before: int | None = None,
        kid: str | None = None,
        omit: tuple[str, ...] | list[str] = (),
        header: dict | None = None,
        **kw: object,
    ) -> str:
        """Sign any token with the issuer's current key for ``alg``.

        Starts from what the token endpoint would give ``client_id`` (kw; default: the profile's first configured
        client), then: ``scopes`` ([] or "": no scope claim), ``audience`` (str or list, placed as the profile places
        it), ``expires_in`` (negative: already expired), ``issued_at``/``not_before`` (epoch seconds), ``claims``
        (set or override any claim), ``omit`` (claim names to drop), ``kid`` (header kid, e.g. a foreign one) and
        ``header`` (set header fields; a None value removes one, so a token can lack ``kid`` or ``typ`` or name
        another ``alg`` than the key's). Other kw: ``project``/``app``/``tenant``/``pool``, ``issuer_form``, and
        the token kind (local/idp/shapes.py): ``token_use`` (Descope ``session``/``refresh``, Cognito
        ``access``/``id``), ``version`` (Entra ``2.0``/``1.0``), ``groups`` (Cognito), ``roles`` (Entra),
        ``server_id`` (Descope's agentic form), ``tenants`` and ``dct`` (Descope's multi-tenant claims; they replace
        the client's). For Entra, ``scopes`` make a delegated token (``scp``); without them the token is the
        client's app-only one (``roles``).

            issuer.mint("cognito", token_use="id", groups=["admins"])
            issuer.mint("descope", tenants={"A": {"roles": ["admin"]}, "B": {}}, dct="A")
        """
        options = dict(kw)
        client_id = options.pop("client_id", None)
        if client_id is not None and not isinstance(client_id, str):
            raise ValueError(f"client_id must be a string, not {client_id!r}")
        template = self._template_client(profile, client_id)
        keyword = REALM_KEYWORD[profile]
        if template is not None:
            if template.realm is not None and keyword is not None and keyword not in options:
                options[keyword] = template.realm
            if template.issuer_form is not None:
                options.setdefault("issuer_form", template.issuer_form)
            for name, value in template.token_options.items():
                options.setdefault(name, value)
        realm, form, shape = self._resolve(profile, options)
        subject = client_id or (template.client_id if template else "dev-client")
        asked = scope_list(scopes) if scopes is not None else None
        token_scopes, shape = granted(profile, template.scopes if template else (), asked, shape)
        if audience is not None:
            audiences = audience_list(audience)
        else:
            audiences = list((template and template.audiences) or default_audiences(profile, realm, subject, shape))
        return self._sign(
            profile, realm, form, shape,
            alg=alg, subject=subject, scopes=token_scopes, audiences=audiences,
            extra_claims=template.extra_claims if template else {}, claims=claims, expires_in=expires_in,
            issued_at=issued_at, not_before=not_before, kid=kid, omit=omit, header=header,
        )

    # -- simulating what verifiers must survive

    def rotate_keys(self, profile: str | None = None, *, drop_old: bool = False) -> list[str]:
        """New RS256 and ES256 keys (new kids) for every issuer of ``profile`` (None: all) that has keys yet.

        The JWKS then lists the new keys and, unless ``drop_old``, the previous generation. Returns the new kids.
        """
        if profile is not None:
            check_profile(profile)
        with self._lock:
            rings = [ring for (ring_profile, _), ring in self._rings.items() if profile in (None, ring_profile)]
            return [kid for ring in rings for kid in ring.rotate(drop_old)]

    def jwks_fetch_count(self, profile: str | None = None) -> int:
        """JWKS requests received for ``profile`` (None: all), counting those a fault answered."""
        with self._lock:
            return sum(count for (p, _), count in self._jwks_fetches.items() if profile in (None, p))

    def wait_connections_closed(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` connections (since start) have been closed and their handlers are done, so
        nothing more is written for them; False if ``timeout`` seconds pass first. Tests synchronise on this."""
        if self._server is None:
            raise RuntimeError("DevIssuer is not started")
        return self._server.wait_connections_closed(count, timeout)

    def set_jwks_fault(self, mode: str | None, *, profile: str | None = None, hold_seconds: float = 5.0) -> None:
        """Make JWKS endpoints misbehave, for ``profile`` or (None) all of them.

        ``"error"``: HTTP 500. ``"html"``: 200 with an HTML page. ``"timeout"``: hold the response ``hold_seconds``,
        then send it. ``"reset"``: close the connection with a TCP reset. ``None``: back to normal (for all profiles
        when ``profile`` is None). Discovery and token endpoints are not affected.
        """
        if mode not in JWKS_FAULTS:
            raise ValueError(f"unknown JWKS fault {mode!r}; expected one of {JWKS_FAULTS}")
        if profile is not None:
            check_profile(profile)
        with self._lock:
            if mode is None:
                if profile is None:
                    self._faults.clear()
                else:
                    self._faults.pop(profile, None)
            else:
                self._faults[profile] = (mode, float(hold_seconds))

    # -- what the HTTP server asks (local/idp/server.py uses nothing else)

    @property
    def admin(self) -> bool:
        """Whether ``POST /_dev/mint`` is served."""
        return self._admin

    def serves(self, profile: str, realm: str | None) -> bool:
        """Whether the issuer answers for this project/app/tenant/pool (one someone named)."""
        with self._lock:
            return realm in self._realms[profile]

    def discovery(self, profile: str, realm: str | None, **variant: str) -> dict:
        """The OIDC discovery document of an issuer (``realm`` None: the profile's default)."""
        realm = realm if realm is not None else self._default_realm(profile)
        scopes = self._scopes_of_issuer(profile, realm)
        document = discovery_document(self.root, profile, realm, scopes=scopes, **variant)
        if profile == "oidc" or variant.get("form") == "agentic":  # an authorization server too: the same facts
            server_id = variant.get("server_id")
            kw = {"project": realm, "server_id": server_id} if server_id else {}
            document.update(self.authorization.server(profile, **kw).metadata())
        return document

    def jwks_request(self, profile: str, realm: str | None) -> tuple[str | None, float]:
        """Count one JWKS request; the fault in force for it: (mode or None, seconds to hold)."""
        realm = realm if realm is not None else self._default_realm(profile)
        with self._lock:
            key = (profile, realm)
            self._jwks_fetches[key] = self._jwks_fetches.get(key, 0) + 1
            return self._faults.get(profile) or self._faults.get(None) or (None, 0.0)

    def jwks(self, profile: str, realm: str | None = None) -> dict:
        """The JWKS an issuer serves (``realm`` None: the profile's default); generates its keys on first use."""
        ring = self._ring(profile, realm if realm is not None else self._default_realm(profile))
        with self._lock:
            return ring.jwks()

    def stopped_within(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True as soon as the issuer is stopping (held responses then hang up)."""
        return self._stopping.wait(seconds)

    # -- internals

    def _default_realm(self, profile: str) -> str | None:
        return self._default_realms[profile]

    def _realm_of(self, client: Client) -> str | None:
        return client.realm if client.realm is not None else self._default_realm(client.profile)

    def _resolve(self, profile: str, options: dict) -> tuple[str | None, str, dict]:
        """(realm, issuer form, token shape) from the keyword options of a URL or mint call; registers the realm."""
        check_profile(profile)
        options = dict(options)
        form = options.pop("issuer_form", None) or "url"
        check_issuer_form(profile, form)
        keyword = REALM_KEYWORD[profile]
        realm = options.pop(keyword) if keyword in options else self._default_realm(profile)
        shape = {name: options.pop(name) for name in SHAPE_OPTIONS if name in options}
        if options:
            raise TypeError(f"unexpected option(s) for profile {profile!r}: {', '.join(sorted(options))}")
        check_realm(profile, realm)
        shape = check_shape(profile, shape, form)
        with self._lock:
            self._realms[profile].add(realm)
        return realm, form, shape

    def _ring(self, profile: str, realm: str | None) -> KeyRing:
        # Generated under the lock: concurrent first requests must not end up with two different key sets.
        with self._lock:
            ring = self._rings.get((profile, realm))
            if ring is None:
                ring = self._rings[(profile, realm)] = KeyRing(profile)
            return ring

    def _scopes_of_issuer(self, profile: str, realm: str | None) -> list[str]:
        return [
            scope
            for client in self._clients.values()
            if client.profile == profile and self._realm_of(client) == realm
            for scope in client.scopes
        ]

    def _template_client(self, profile: str, client_id: str | None) -> Client | None:
        check_profile(profile)
        if client_id is not None:
            client = self._clients.get(client_id)
            if client is not None and client.profile != profile:
                raise ValueError(f"client {client_id!r} belongs to profile {client.profile!r}, not {profile!r}")
            return client
        return next((c for c in self._clients.values() if c.profile == profile), None)

    def _sign(
        self,
        profile: str,
        realm: str | None,
        form: str,
        shape: dict,
        *,
        alg: str,
        subject: str,
        scopes: list[str],
        audiences: list[str],
        extra_claims: dict,
        claims: dict | None,
        expires_in: int,
        issued_at: int | None = None,
        not_before: int | None = None,
        kid: str | None = None,
        omit: tuple[str, ...] | list[str] = (),
        header: dict | None = None,
    ) -> str:
        check_alg(alg, profile)
        if claims is not None and not isinstance(claims, dict):
            raise ValueError("claims must be an object")
        if header is not None and not isinstance(header, dict):
            raise ValueError("header must be an object")
        if kid is not None and not isinstance(kid, str):
            raise ValueError("kid must be a string")
        omit = (omit,) if isinstance(omit, str) else tuple(omit)
        if not all(isinstance(name, str) for name in omit):
            raise ValueError("omit must list claim names")
        iat = int(time.time()) if issued_at is None else epoch_seconds("issued_at", issued_at)
        body = token_claims(
            profile,
            issuer=issuer_identifier(self.root, profile, realm, form, **_issuer_variant(shape)),
            realm=realm,
            client_id=subject,
            scopes=scopes,
            audiences=audiences,
            issued_at=iat,
            expires_in=epoch_seconds("expires_in", expires_in),
            not_before=None if not_before is None else epoch_seconds("not_before", not_before),
            jwt_id=uuid.uuid4().hex,
            passage_auth_origin=self._passage_auth_origin,
            shape=shape,
        )
        # What this token was asked to be (tenants=, dct=...) wins over the client's configured extra claims.
        body.update({name: value for name, value in extra_claims.items() if name not in shape})
        body.update(claims or {})
        for name in omit:
            body.pop(name, None)
        ring = self._ring(profile, realm)
        with self._lock:
            signing_key = ring.current[alg]
        jose_header = token_header(profile, alg, signing_key.kid if kid is None else kid)
        for name, value in (header or {}).items():
            if value is None:
                jose_header.pop(name, None)
            else:
                jose_header[name] = value
        return compact_jws(jose_header, body, signing_key.signer)

    # -- the token endpoint (RFC 6749 section 4.4)

    def client_credentials_grant(
        self, profile: str, route_realm: str | None, authorization: str | None, form: dict[str, str]
    ) -> dict:
        """The token endpoint's answer for ``profile`` (the realm its URL names), or OAuthError."""
        client = authenticate(self._clients, authorization, form)
        realm = self._realm_of(client)
        # Descope has one token endpoint for all projects; the others have one per app/tenant.
        if client.profile != profile or (profile != "descope" and realm != route_realm):
            raise OAuthError(401, "invalid_client", "the client is not registered at this issuer")
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "only client_credentials is supported")
        shape = client.token_options
        if profile == "entra":
            # Entra's client-credentials grant takes scope=<app ID URI>/.default and grants the app's permissions.
            if not entra_default_scope(form.get("scope")):
                raise OAuthError(400, "invalid_scope", "ask for scope=<app ID URI>/.default")
            scopes, shape = granted(profile, client.scopes, None, shape)
        else:
            scopes = granted_scopes(client, form.get("scope"))
        allowed_audiences = client.audiences or default_audiences(profile, realm, client.client_id, shape)
        requested_audience = form.get("audience")
        if requested_audience is None:
            audiences = list(allowed_audiences)
        elif requested_audience in allowed_audiences:
            audiences = [requested_audience]
        else:
            raise OAuthError(400, "invalid_target", "the audience is not allowed for this client")
        token = self._sign(
            profile, realm, client.issuer_form or "url", shape,
            alg=client.alg, subject=client.client_id, scopes=scopes, audiences=audiences,
            extra_claims=client.extra_claims, claims=None, expires_in=self._token_lifetime,
        )
        return {"access_token": token, "token_type": "Bearer", "expires_in": self._token_lifetime,
                "scope": form["scope"] if profile == "entra" else " ".join(scopes)}


def _issuer_variant(shape: dict) -> dict:
    """The keyword arguments of issuer_identifier() that a token shape implies (Entra version, MCP server)."""
    return {name: shape[name] for name in ("version", "server_id") if name in shape}
