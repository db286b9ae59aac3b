"""The clients registered at the development issuer, and the dev-only realms and ids the demos use.

    Client("orders-oidc", "dev-secret-oidc", "oidc", ("orders:read",), ("orders-api",))
    [client.client_id for client in default_clients()][:2]   # ['orders-oidc', 'orders-oidc-reader']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from local.idp.profiles import (
    audience_list,
    check_alg,
    check_issuer_form,
    check_profile,
    check_realm,
    check_shape,
    scope_list,
)

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
