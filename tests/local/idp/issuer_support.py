"""What the development issuer's HTTP tests share: extra clients (a WSO2 tenant's, a Descope bare-issuer one), their
secrets, the client-credentials request, and checking a token with the one served key its ``kid`` names."""

from __future__ import annotations

import json

from jose import jwk, jws

from local.idp.clients import Client, default_clients

SECRETS = {client.client_id: client.client_secret for client in default_clients()}
EXTRA_CLIENTS = [
    Client("acme-wso2", "dev-secret-acme", "wso2", ("orders:read",), (), realm="acme"),
    Client("orders-descope-bare", "dev-secret-descope-bare", "descope", ("orders:read",), (), issuer_form="bare"),
]
SECRETS.update({client.client_id: client.client_secret for client in EXTRA_CLIENTS})


def request_token(http, url, client_id=None, *, form_auth=False, **form):
    """POST the client-credentials grant, authenticating by HTTP Basic (default) or by form fields."""
    data = {"grant_type": "client_credentials", **form}
    auth = None
    if client_id is not None and form_auth:
        data.update(client_id=client_id, client_secret=SECRETS[client_id])
    elif client_id is not None:
        auth = (client_id, SECRETS[client_id])
    return http.post(url, data=data, auth=auth, timeout=5)


def verify_with_served_key(http, jwks_url, token):
    """(header, claims) after checking the signature with the one served key the token's kid names."""
    header = jws.get_unverified_header(token)
    keys = http.get(jwks_url, timeout=5).json()["keys"]
    [key_dict] = [key for key in keys if key["kid"] == header["kid"]]
    key = jwk.construct(key_dict, key_dict["alg"])
    payload = jws.verify(token, key, algorithms=[key_dict["alg"]])
    return header, json.loads(payload)


def served_kids(http, jwks_url):
    return {key["kid"] for key in http.get(jwks_url, timeout=5).json()["keys"]}
