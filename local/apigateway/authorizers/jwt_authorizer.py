"""API Gateway's native JWT authorizer: which tokens it accepts, and how it hands claims and scopes on.

This follows API Gateway's documented and observed behaviour, not our Lambda authorizer's (``authorizer/``):
RSA only, ``kid`` required, exact ``iss``, ``aud`` or else ``client_id`` in the audiences, ``exp`` required, no
leeway. ``verify_jwt`` returns the claims or raises ``JwtRejected`` with a reason code; ``token_scopes`` and
``claim_as_string`` shape what the integration sees (claims as strings, arrays as ``[a b]``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from jose import jws
from jose.exceptions import JOSEError

from local.apigateway.authorizers.jwt_keys import IssuerKeys
from local.apigateway.errors import JwtRejected, KeysUnavailable

JWT_ALGORITHMS = ("RS256", "RS384", "RS512")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bearer_token(value: str) -> str:
    """The token of ``Bearer <t>`` or a bare ``<t>``."""
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest.strip() else value.strip()


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """Scopes from ``scope`` and ``scp``, as the JWT authorizer page defines them by RFC 6749 §3.3: a string is a
    list delimited by spaces (U+0020) only, so ``"a\tb"`` is one scope, never ``a`` and ``b``; runs of spaces make
    no empty scope. A list (``scp`` from Entra, ``scope`` from WSO2) gives its strings; other items are no scope."""
    scopes: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            scopes.extend(part for part in value.split(" ") if part)
        elif isinstance(value, list):
            scopes.extend(item for item in value if isinstance(item, str))
    return scopes


def claim_as_string(value: Any) -> str:
    """How the JWT authorizer hands a claim to the integration: strings; arrays as ``[a b]`` (observed)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(claim_as_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{claim_as_string(v)}" for k, v in sorted(value.items())) + "]"
    return ""


def verify_jwt(
    token: str,
    *,
    issuer: str,
    audiences: Sequence[str],
    keys: IssuerKeys,
    now: float,
) -> dict[str, Any]:
    """The claims of a token the native JWT authorizer accepts, or JwtRejected."""
    try:
        header = jws.get_unverified_header(token)
        unverified = json.loads(jws.get_unverified_claims(token))
    except (JOSEError, ValueError, TypeError):
        raise JwtRejected("malformed", "the token is not a valid JWT") from None
    if not isinstance(unverified, dict):
        raise JwtRejected("malformed", "the token's payload is not a JSON object")
    algorithm = header.get("alg")
    if algorithm not in JWT_ALGORITHMS:
        raise JwtRejected("unsupported_alg", "the token's signing algorithm is not supported (RSA only)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwtRejected("no_kid", "the token has no key id (kid)")
    if unverified.get("iss") != issuer:
        raise JwtRejected("bad_issuer", "the token does not have a valid issuer")
    try:
        key = keys.key(kid, algorithm)
    except KeysUnavailable as error:
        raise JwtRejected("jwks_unavailable", f"unable to fetch the issuer's keys: {error}") from None
    try:
        payload = jws.verify(token, key, algorithms=[algorithm])
        claims = json.loads(payload)
    except (JOSEError, ValueError):
        raise JwtRejected("bad_signature", "the token's signature is invalid") from None
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if not _is_number(exp):
        raise JwtRejected("no_exp", "the token has no expiration time (exp)")
    if exp <= now:
        raise JwtRejected("expired", "the token has expired")
    if nbf is not None and (not _is_number(nbf) or nbf > now):
        raise JwtRejected("not_yet_valid", "the token is not valid yet (nbf)")
    if iat is not None and (not _is_number(iat) or iat > now):
        raise JwtRejected("issued_in_future", "the token was issued in the future (iat)")
    aud = claims.get("aud")
    if aud is not None:
        valid_audience = any(isinstance(a, str) and a in audiences for a in (aud if isinstance(aud, list) else [aud]))
    else:
        valid_audience = claims.get("client_id") in audiences
    if not valid_audience:
        raise JwtRejected("bad_audience", "the token does not have a valid audience")
    return claims
