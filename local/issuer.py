"""A development OIDC issuer: discovery, JWKS and a client-credentials token endpoint on 127.0.0.1.

One loopback HTTP server hosts six issuers, each shaped like a real provider (URL layout in
local/issuer_profiles.py, token shapes in local/issuer_shapes.py): ``oidc`` (generic), ``descope``, ``passage``,
``wso2``, ``cognito`` and ``entra``. The authorizer's provider presets, pointed at ``base_url(profile)``, and generic
OIDC discovery work against it unchanged, so the local stack, the demos and the tests exercise the same code paths
as a deployment.

    with DevIssuer(clients=default_clients()) as issuer:
        token = issuer.mint("descope", scopes=["orders:read"])        # any token, by hand
        requests.post(issuer.token_url("wso2"), auth=("orders-wso2", "dev-secret-wso2"),
                      data={"grant_type": "client_credentials"})     # or from the token endpoint

It also simulates what a verifier must survive: key rotation (``rotate_keys``), JWKS outages (``set_jwks_fault``),
and it counts JWKS fetches (``jwks_fetch_count``). Development only: keys live in memory, client secrets are public
constants, and the server refuses to bind anything but loopback.

CLI (``python -m local.issuer --help``, in local/issuer_cli.py): ``serve`` runs the issuer until Ctrl-C; ``mint``
prints a token minted by the running server (``POST /_dev/mint``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk
from jose.backends.base import Key

from local.issuer_profiles import (
    PROFILES,
    REALM_KEYWORD,
    SHAPE_OPTIONS,
    SIGNING_ALGS,
    Route,
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
    route,
    scope_list,
    signing_algs,
    token_path,
)
from local.issuer_shapes import (
    DEV_ENTRA_API_CLIENT_ID,
    DEV_ENTRA_API_ID_URI,
    default_audiences,
    entra_default_scope,
    granted,
    key_id,
    public_jwk,
    token_claims,
    token_header,
)

__all__ = [
    "Client",
    "DevIssuer",
    "default_clients",
    "DEV_COGNITO_CLIENT",
    "DEV_COGNITO_POOL",
    "DEV_COGNITO_READER",
    "DEV_DESCOPE_PROJECT",
    "DEV_ENTRA_API_CLIENT_ID",
    "DEV_ENTRA_API_ID_URI",
    "DEV_ENTRA_CLIENT",
    "DEV_ENTRA_TENANT",
    "DEV_ENTRA_V1_CLIENT",
    "DEV_PASSAGE_APP",
    "DEV_PASSAGE_AUTH_ORIGIN",
    "DEV_ORDERS_AUDIENCE",
    "JWKS_FAULTS",
    "main",
]

_log = logging.getLogger(__name__)

DEV_DESCOPE_PROJECT = "P2devproject"
DEV_PASSAGE_APP = "devpassageapp"
# The web origin Passage puts first in aud (the site users sign in on).
DEV_PASSAGE_AUTH_ORIGIN = "http://localhost:3000"
DEV_ORDERS_AUDIENCE = "orders-api"
DEV_COGNITO_POOL = "us-east-1_Dev123"
DEV_ENTRA_TENANT = "0d7c3b6a-4f2e-4c1d-8b9a-2e5f6a7b8c9d"  # made up
# App client ids as the providers write them: Cognito's are 26 lowercase letters and digits, Entra's GUIDs.
DEV_COGNITO_CLIENT = "4orders0m2m0dev0client0001"
DEV_COGNITO_READER = "4orders0m2m0dev0reader0001"
DEV_ENTRA_CLIENT = "3f9a1c2b-5d4e-4f60-8a7b-9c0d1e2f3a4b"
DEV_ENTRA_V1_CLIENT = "7b2e4d6f-8a1c-4e3b-9d5f-0a2c4e6b8d1f"
DEFAULT_CLI_PORT = 9400

JWKS_FAULTS = (None, "error", "html", "timeout", "reset")
MAX_BODY_BYTES = 64 * 1024
MAX_DRAINED_BYTES = 1024 * 1024
# Every option of DevIssuer.mint(), as the admin endpoint accepts them in its JSON body.
_MINT_OPTIONS = frozenset(
    {"profile", "alg", "claims", "scopes", "audience", "expires_in", "issued_at", "not_before", "kid", "omit",
     "header", "client_id", "issuer_form", "project", "app", "tenant", "pool", *SHAPE_OPTIONS}
)


# --- Clients ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """A client registered at one dev issuer, allowed the client-credentials grant.

    ``scopes``: what it may ask for (all of them by default). ``audiences``: the ``aud`` values its tokens may carry
    (all of them by default; empty: the provider's default, the project/app id or the client id). ``alg``: RS256 or
    ES256. ``extra_claims`` are added to each token (Descope ``roles``/``permissions``/``tenants`` go here).
    ``issuer_form``: ``"bare"`` for a Descope/Passage ``iss`` that is the bare project/app id. ``realm``: the Descope
    project, Passage app, WSO2 tenant, Cognito pool or Entra tenant the client belongs to (None: the issuer's
    default; for WSO2 the super tenant). ``token_options``: the kind of token it gets (``check_shape``), e.g.
    ``{"version": "1.0"}`` for an Entra API that accepts v1 tokens. For Entra, ``scopes`` are the application
    permissions (app roles) granted to the client: its tokens carry them as ``roles``.
    """

    client_id: str
    client_secret: str
    profile: str
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    alg: str = "RS256"
    extra_claims: dict = field(default_factory=dict)
    issuer_form: str | None = None
    realm: str | None = None
    token_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.client_id or not isinstance(self.client_id, str):
            raise ValueError("Client.client_id must be a non-empty string")
        if not self.client_secret or not isinstance(self.client_secret, str):
            raise ValueError(f"Client {self.client_id!r}: client_secret must be a non-empty string")
        check_profile(self.profile)
        check_alg(self.alg, self.profile)
        object.__setattr__(self, "scopes", tuple(scope_list(self.scopes)))
        object.__setattr__(self, "audiences", tuple(audience_list(self.audiences)))
        if not isinstance(self.extra_claims, dict):
            raise ValueError(f"Client {self.client_id!r}: extra_claims must be a dict")
        if self.issuer_form is not None:
            check_issuer_form(self.profile, self.issuer_form)
        if self.realm is not None:
            check_realm(self.profile, self.realm)
        object.__setattr__(self, "token_options", check_shape(self.profile, self.token_options, self.issuer_form))


# Dev-only credentials: public constants for local runs, demos and tests. They must never be configured on a real
# identity provider; anyone who reads this file knows them.
def default_clients() -> list[Client]:
    """The clients the demos use. Per profile, one client with ``orders:read orders:write`` and one reader:

    | client_id              | secret                       | profile | scopes                    | aud            |
    |------------------------|------------------------------|---------|---------------------------|----------------|
    | orders-oidc            | dev-secret-oidc              | oidc    | orders:read orders:write  | orders-api     |
    | orders-oidc-reader     | dev-secret-oidc-reader       | oidc    | orders:read               | orders-api     |
    | orders-oidc-es256      | dev-secret-oidc-es256        | oidc    | orders:read orders:write  | orders-api     |
    | orders-descope         | dev-secret-descope           | descope | orders:read orders:write  | none           |
    | orders-descope-reader  | dev-secret-descope-reader    | descope | orders:read               | none           |
    | orders-descope-template| dev-secret-descope-template  | descope | orders:read orders:write  | [P2devproject] |
    | orders-passage         | dev-secret-passage           | passage | orders:read orders:write  | [origin, app]  |
    | orders-passage-reader  | dev-secret-passage-reader    | passage | orders:read               | [origin, app]  |
    | orders-wso2            | dev-secret-wso2              | wso2    | orders:read orders:write  | the client id  |
    | orders-wso2-reader     | dev-secret-wso2-reader       | wso2    | orders:read               | the client id  |
    | DEV_COGNITO_CLIENT     | dev-secret-cognito           | cognito | orders-api/read, /write   | none: client_id|
    | DEV_COGNITO_READER     | dev-secret-cognito-reader    | cognito | orders-api/read           | none: client_id|
    | DEV_ENTRA_CLIENT       | dev-secret-entra             | entra   | roles Orders.Read, .Write | API client id  |
    | DEV_ENTRA_V1_CLIENT    | dev-secret-entra-v1          | entra   | roles Orders.Read (v1.0)  | api://<API id> |

    ``orders-oidc-es256`` signs with ES256; the Descope clients carry roles, permissions and a tenant, and no
    ``aud`` (Descope's default session token) except ``orders-descope-template``'s, as from a Descope JWT template
    that sets ``aud`` (what API Gateway's native authorizer needs). Cognito app client ids are 26 characters,
    Entra's GUIDs.
    """
    both = ("orders:read", "orders:write")
    read = ("orders:read",)
    descope_admin = {
        "roles": ["orders-admin"],
        "permissions": ["orders:read", "orders:write"],
        "tenants": {"T2devtenant": {"roles": ["orders-admin"], "permissions": ["orders:read", "orders:write"]}},
    }
    descope_reader = {
        "roles": ["orders-viewer"],
        "permissions": ["orders:read"],
        "tenants": {"T2devtenant": {"roles": ["orders-viewer"], "permissions": ["orders:read"]}},
    }
    return [
        Client("orders-oidc", "dev-secret-oidc", "oidc", both, (DEV_ORDERS_AUDIENCE,)),
        Client("orders-oidc-reader", "dev-secret-oidc-reader", "oidc", read, (DEV_ORDERS_AUDIENCE,)),
        Client("orders-oidc-es256", "dev-secret-oidc-es256", "oidc", both, (DEV_ORDERS_AUDIENCE,), alg="ES256"),
        Client("orders-descope", "dev-secret-descope", "descope", both, (), extra_claims=descope_admin),
        Client("orders-descope-reader", "dev-secret-descope-reader", "descope", read, (), extra_claims=descope_reader),
        Client("orders-descope-template", "dev-secret-descope-template", "descope", both, (DEV_DESCOPE_PROJECT,),
               extra_claims=descope_admin),
        Client("orders-passage", "dev-secret-passage", "passage", both, ()),
        Client("orders-passage-reader", "dev-secret-passage-reader", "passage", read, ()),
        Client("orders-wso2", "dev-secret-wso2", "wso2", both, ()),
        Client("orders-wso2-reader", "dev-secret-wso2-reader", "wso2", read, ()),
        Client(DEV_COGNITO_CLIENT, "dev-secret-cognito", "cognito", ("orders-api/read", "orders-api/write"), ()),
        Client(DEV_COGNITO_READER, "dev-secret-cognito-reader", "cognito", ("orders-api/read",), ()),
        Client(DEV_ENTRA_CLIENT, "dev-secret-entra", "entra", ("Orders.Read", "Orders.Write"), ()),
        Client(DEV_ENTRA_V1_CLIENT, "dev-secret-entra-v1", "entra", ("Orders.Read",), (),
               token_options={"version": "1.0"}),
    ]


# --- Keys -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """One private key of an issuer, with its public JWK as the JWKS lists it."""

    kid: str
    alg: str
    signer: Key
    public_jwk: dict


def generate_signing_key(profile: str, alg: str) -> SigningKey:
    """A fresh RSA-2048 (RS256) or EC P-256 (ES256) key, its kid derived from the public key as the profile does."""
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"unsupported signing alg {alg!r}; expected one of {', '.join(SIGNING_ALGS)}")
    signer = jwk.construct(private, alg)
    public = signer.public_key().to_dict()
    kid = key_id(profile, _jwk_thumbprint(public), alg)
    return SigningKey(kid=kid, alg=alg, signer=signer, public_jwk=public_jwk(profile, public, kid, alg))


def _jwk_thumbprint(public_jwk: dict) -> bytes:
    """RFC 7638 thumbprint: SHA-256 of the required members, in lexicographic order, without whitespace."""
    members = ("e", "kty", "n") if public_jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({name: public_jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode("ascii")).digest()


class _KeyRing:
    """The keys of one issuer. The current RS256 and (except Cognito and Entra) ES256 keys sign; after a rotation the
    previous generation stays in the JWKS (as real IdPs keep it during rotation) until the next rotation or
    ``drop_old``."""

    def __init__(self, profile: str) -> None:
        self.profile = profile
        self.current = self._generate()
        self.retired: list[SigningKey] = []

    def _generate(self) -> dict[str, SigningKey]:
        return {alg: generate_signing_key(self.profile, alg) for alg in signing_algs(self.profile)}

    def rotate(self, drop_old: bool) -> list[str]:
        self.retired = [] if drop_old else list(self.current.values())
        self.current = self._generate()
        return [key.kid for key in self.current.values()]

    def jwks(self) -> dict:
        return {"keys": [key.public_jwk for key in (*self.current.values(), *self.retired)]}


# --- The issuer -------------------------------------------------------------------------------------------------


class _OAuthError(Exception):
    """An RFC 6749 error response: status, ``error`` code and a description safe to show the client."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


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
    ) -> None:
        self._host = _loopback_host(host)
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
        self._server: _IssuerHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._rings: dict[tuple[str, str | None], _KeyRing] = {}
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

    # -- lifecycle

    def start(self) -> DevIssuer:
        """Serve in a background daemon thread. Returns self."""
        if self._server is not None:
            raise RuntimeError("DevIssuer already started")
        self._stopping.clear()
        self._server = _IssuerHTTPServer((self._host, self._port), self)
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
        the token kind (local/issuer_shapes.py): ``token_use`` (Descope ``session``/``refresh``, Cognito
        ``access``/``id``), ``version`` (Entra ``2.0``/``1.0``), ``groups`` (Cognito), ``roles`` (Entra),
        ``server_id`` (Descope's agentic form). For Entra, ``scopes`` make a delegated token (``scp``); without
        them the token is the client's app-only one (``roles``).

            issuer.mint("descope", scopes=["orders:read"], expires_in=-60)
            issuer.mint("cognito", token_use="id", groups=["admins"])
        """
        options = dict(kw)
        client_id = options.pop("client_id", None)
        template = self._template_client(profile, client_id)
        keyword = REALM_KEYWORD[profile]
        if template is not None:
            if template.realm is not None and keyword not in options:
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

    # -- internals shared by the API and the HTTP handler

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

    def _knows_realm(self, profile: str, realm: str | None) -> bool:
        with self._lock:
            return realm in self._realms[profile]

    def _ring(self, profile: str, realm: str | None) -> _KeyRing:
        # Generated under the lock: concurrent first requests must not end up with two different key sets.
        with self._lock:
            ring = self._rings.get((profile, realm))
            if ring is None:
                ring = self._rings[(profile, realm)] = _KeyRing(profile)
            return ring

    def _jwks(self, profile: str, realm: str | None) -> dict:
        ring = self._ring(profile, realm)
        with self._lock:
            return ring.jwks()

    def _count_jwks_fetch(self, profile: str, realm: str | None) -> None:
        with self._lock:
            self._jwks_fetches[(profile, realm)] = self._jwks_fetches.get((profile, realm), 0) + 1

    def _jwks_fault(self, profile: str) -> tuple[str, float] | None:
        with self._lock:
            return self._faults.get(profile) or self._faults.get(None)

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
        body.update(extra_claims)
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
        return _compact_jws(jose_header, body, signing_key.signer)

    # -- the token endpoint (RFC 6749 section 4.4)

    def _client_credentials_grant(
        self, profile: str, route_realm: str | None, authorization: str | None, form: dict[str, str]
    ) -> dict:
        client = self._authenticate(authorization, form)
        realm = self._realm_of(client)
        # Descope has one token endpoint for all projects; the others have one per app/tenant.
        if client.profile != profile or (profile != "descope" and realm != route_realm):
            raise _OAuthError(401, "invalid_client", "the client is not registered at this issuer")
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise _OAuthError(400, "unsupported_grant_type", "only client_credentials is supported")
        shape = client.token_options
        if profile == "entra":
            # Entra's client-credentials grant takes scope=<app ID URI>/.default and grants the app's permissions.
            if not entra_default_scope(form.get("scope")):
                raise _OAuthError(400, "invalid_scope", "ask for scope=<app ID URI>/.default")
            scopes, shape = granted(profile, client.scopes, None, shape)
        else:
            scopes = _granted_scopes(client, form.get("scope"))
        allowed_audiences = client.audiences or default_audiences(profile, realm, client.client_id, shape)
        requested_audience = form.get("audience")
        if requested_audience is None:
            audiences = list(allowed_audiences)
        elif requested_audience in allowed_audiences:
            audiences = [requested_audience]
        else:
            raise _OAuthError(400, "invalid_target", "the audience is not allowed for this client")
        token = self._sign(
            profile, realm, client.issuer_form or "url", shape,
            alg=client.alg, subject=client.client_id, scopes=scopes, audiences=audiences,
            extra_claims=client.extra_claims, claims=None, expires_in=self._token_lifetime,
        )
        return {"access_token": token, "token_type": "Bearer", "expires_in": self._token_lifetime,
                "scope": form["scope"] if profile == "entra" else " ".join(scopes)}

    def _authenticate(self, authorization: str | None, form: dict[str, str]) -> Client:
        """The client, by HTTP Basic or by client_id/client_secret form fields (both allowed when they agree)."""
        form_id, form_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(authorization)
        if basic is not None:
            client_id, secret = basic
            if (form_id is not None and form_id != client_id) or (
                form_secret is not None and not _same_secret(form_secret, secret)
            ):
                raise _OAuthError(401, "invalid_client", "HTTP Basic and form credentials disagree")
        elif form_id is not None and form_secret is not None:
            client_id, secret = form_id, form_secret
        else:
            raise _OAuthError(401, "invalid_client", "client authentication is required")
        client = self._clients.get(client_id)
        # Compare even for an unknown client, so both failures take the same time.
        expected = client.client_secret if client is not None else "unknown-client-" + uuid.uuid4().hex
        if not _same_secret(secret, expected) or client is None:
            raise _OAuthError(401, "invalid_client", "unknown client or wrong secret")
        return client


def _granted_scopes(client: Client, requested: str | None) -> list[str]:
    if requested is None or not requested.strip():
        return list(client.scopes)
    asked = list(dict.fromkeys(requested.split()))
    refused = [scope for scope in asked if scope not in client.scopes]
    if refused:
        raise _OAuthError(400, "invalid_scope", f"not allowed for this client: {' '.join(refused)}")
    return asked


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, secret) from an HTTP Basic header; None without an Authorization header."""
    if authorization is None:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _OAuthError(401, "invalid_client", "only HTTP Basic client authentication is supported")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _OAuthError(401, "invalid_client", "malformed HTTP Basic credentials") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise _OAuthError(401, "invalid_client", "malformed HTTP Basic credentials")
    # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


def _same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# --- HTTP -------------------------------------------------------------------------------------------------------


class _IssuerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for handler threads on close: a held ("timeout") or idle keep-alive connection would block stop().
    block_on_close = False

    def __init__(self, address: tuple[str, int], issuer: DevIssuer) -> None:
        self.issuer = issuer
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _IssuerRequestHandler)

    def process_request(self, request, client_address):  # noqa: ANN001 - socketserver signature
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # noqa: ANN001
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End open connections, so a stopped issuer does not keep answering on pooled keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):  # noqa: ANN001
        # Clients that hang up (timeouts, resets) are normal here; keep stderr quiet.
        _log.debug("dev issuer: connection error from %s", client_address, exc_info=True)


class _IssuerRequestHandler(BaseHTTPRequestHandler):
    server: _IssuerHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as verifiers with a pooled session expect
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK hold every kept-alive response ~40 ms.
    disable_nagle_algorithm = True
    server_version = "DevIssuer"
    timeout = 30  # idle keep-alive connections end after this

    # -- quiet, JSON errors

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class signature
        """No per-request lines on stderr: tests and demos stay quiet."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own errors (malformed request line, unknown method) as JSON instead of HTML."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # A request line that did not parse leaves the 0.9 default, which would suppress the status line.
            self.request_version = "HTTP/1.0"
        status = HTTPStatus(code)
        self._send_json(code, {"error": status.phrase.lower().replace(" ", "_"),
                               "error_description": message or status.phrase})

    def do_GET(self) -> None:  # noqa: N802 - base class naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self._handle()
        except OSError:  # the client hung up or stalled mid-body: nothing to answer
            self.close_connection = True
        except Exception:  # a bug here must not reach the client as a traceback
            _log.exception("dev issuer: unexpected error on %s", self.command)
            self.close_connection = True
            try:
                self._send_json(500, {"error": "server_error", "error_description": "unexpected error"})
            except OSError:
                pass

    def _handle(self) -> None:
        issuer = self.server.issuer
        body = self._read_body()
        if body is None:
            return
        path = urllib.parse.urlsplit(self.path).path
        found = route(path)
        if found is None or (found.endpoint == "admin_mint" and not issuer._admin):
            self._send_json(404, {"error": "not_found", "error_description": "no such endpoint"})
            return
        realm_named = found.profile is not None and found.realm is not None
        if realm_named and not issuer._knows_realm(found.profile, found.realm):
            self._send_json(404, {"error": "not_found", "error_description": "no such issuer"})
            return
        allowed_method = "POST" if found.endpoint in ("token", "admin_mint") else "GET"
        if self.command != allowed_method:
            self._send_json(405, {"error": "method_not_allowed", "error_description": f"use {allowed_method}"},
                            {"Allow": allowed_method})
            return
        handler = {"discovery": self._discovery, "jwks": self._jwks, "token": self._token, "admin_mint": self._mint}
        handler[found.endpoint](found, body)

    def _read_body(self) -> bytes | None:
        """The request body (bounded); None when an error response was already sent."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send_json(411, {"error": "invalid_request", "error_description": "send a Content-Length"})
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send_json(400, {"error": "invalid_request", "error_description": "bad Content-Length"})
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            if length <= MAX_DRAINED_BYTES:
                # Read what the client is sending before answering: closing on unread data resets the connection,
                # and the client would see a reset instead of the 413.
                self.rfile.read(length)
            self._send_json(413, {"error": "invalid_request", "error_description": "request body too large"})
            return None
        return self.rfile.read(length) if length else b""

    # -- endpoints

    def _discovery(self, found: Route, body: bytes) -> None:
        issuer = self.server.issuer
        realm = found.realm if found.realm is not None else issuer._default_realm(found.profile)
        scopes = issuer._scopes_of_issuer(found.profile, realm)
        self._send_json(200, discovery_document(issuer.root, found.profile, realm, scopes=scopes,
                                                **dict(found.variant)))

    def _jwks(self, found: Route, body: bytes) -> None:
        issuer = self.server.issuer
        realm = found.realm if found.realm is not None else issuer._default_realm(found.profile)
        issuer._count_jwks_fetch(found.profile, realm)
        fault = issuer._jwks_fault(found.profile)
        mode, hold_seconds = fault if fault else (None, 0.0)
        if mode == "error":
            self._send_json(500, {"error": "server_error", "error_description": "simulated JWKS outage"})
            return
        if mode == "html":
            self._send(200, b"<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>", "text/html; charset=utf-8")
            return
        if mode == "reset":
            self._reset_connection()
            return
        if mode == "timeout" and issuer._stopping.wait(hold_seconds):
            self.close_connection = True  # stopped while holding: just hang up
            return
        self._send_json(200, issuer._jwks(found.profile, realm), {"Cache-Control": "public, max-age=300"})

    def _token(self, found: Route, body: bytes) -> None:
        issuer = self.server.issuer
        try:
            form = _parse_form(self.headers.get("Content-Type"), body)
            answer = issuer._client_credentials_grant(
                found.profile, found.realm, self.headers.get("Authorization"), form
            )
        except _OAuthError as error:
            headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
            if error.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="dev-issuer"'
            self._send_json(error.status, {"error": error.error, "error_description": error.description}, headers)
            return
        self._send_json(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _mint(self, found: Route, body: bytes) -> None:
        issuer = self.server.issuer
        port = self.server.server_address[1]
        # Defence against DNS rebinding: a web page whose host name resolves to 127.0.0.1 sends its own Host.
        if self.headers.get("Host", "") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            self._send_json(403, {"error": "access_denied", "error_description": "loopback Host required"})
            return
        # JSON only: a browser cannot send it cross-origin without a CORS preflight, which this server never grants.
        if _media_type(self.headers.get("Content-Type")) != "application/json":
            self._send_json(415, {"error": "invalid_request", "error_description": "send application/json"})
            return
        try:
            options = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            options = None
        if not isinstance(options, dict):
            self._send_json(400, {"error": "invalid_request", "error_description": "body must be a JSON object"})
            return
        unknown = sorted(set(options) - _MINT_OPTIONS)
        if unknown:
            self._send_json(400, {"error": "invalid_request", "error_description": f"unknown option(s): {unknown}"})
            return
        profile = options.pop("profile", "oidc")
        try:
            token = issuer.mint(profile, **options)
        except (TypeError, ValueError) as error:
            self._send_json(400, {"error": "invalid_request", "error_description": str(error)})
            return
        self._send_json(200, {"access_token": token, "token_type": "Bearer"}, {"Cache-Control": "no-store"})

    # -- writing

    def _send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset_connection(self) -> None:
        # SO_LINGER with a zero timeout makes close() send a TCP RST instead of a FIN: "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _parse_form(content_type: str | None, body: bytes) -> dict[str, str]:
    if _media_type(content_type) != "application/x-www-form-urlencoded":
        raise _OAuthError(400, "invalid_request", "send application/x-www-form-urlencoded")
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32)
    except (UnicodeDecodeError, ValueError):
        raise _OAuthError(400, "invalid_request", "malformed form body") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # RFC 6749 section 3.2: parameters must not be repeated
            raise _OAuthError(400, "invalid_request", f"parameter {name!r} is repeated")
        form[name] = value
    return form


# --- Small pure helpers -----------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact_jws(header: dict, claims: dict, signer: Key) -> str:
    # Assembled here instead of jws.sign(), which always writes its own typ: tests need tokens whose header lacks a
    # field or names another alg than the key's. The signature itself is python-jose's.
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    )
    return signing_input + "." + _b64url(signer.sign(signing_input.encode("ascii")))


def _issuer_variant(shape: dict) -> dict:
    """The keyword arguments of issuer_identifier() that a token shape implies (Entra version, MCP server)."""
    return {name: shape[name] for name in ("version", "server_id") if name in shape}


def _loopback_host(host: str) -> str:
    """The IPv4 loopback address to bind; anything else is refused (this server must never be reachable)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the dev issuer binds to 127.0.0.0/8 only, not {host!r}") from None
    if address.version != 4 or not address.is_loopback:
        raise ValueError(f"the dev issuer binds to 127.0.0.0/8 only, not {host!r}")
    return host


def main(argv: list[str] | None = None) -> int:
    """The CLI (local/issuer_cli.py): ``serve`` or ``mint``."""
    from local.issuer_cli import main as cli_main  # the CLI imports this module

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
