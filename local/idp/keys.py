"""The development issuer's signing keys: RSA and EC keys with provider-shaped kids, key rings that rotate, and
compact JWS signing.

    ring = KeyRing("oidc")
    token = compact_jws({"alg": "RS256", "kid": ring.current["RS256"].kid}, {"sub": "x"}, ring.current["RS256"].signer)
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk
from jose.backends.base import Key

from local.idp.profiles import SIGNING_ALGS, signing_algs
from local.idp.shapes import key_id, public_jwk


@dataclass(frozen=True)
class SigningKey:
    """One private key of an issuer, with its public JWK as the JWKS lists it."""

    kid: str
    alg: str
    signer: Key
    public_jwk: dict


def generate_signing_key(profile: str, alg: str) -> SigningKey:
    """A fresh RSA-2048 (RS256) or EC P-256 (ES256) key, its kid derived from the public key as the profile does."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
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


class KeyRing:
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


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_jws(header: dict, claims: dict, signer: Key) -> str:
    # Assembled here instead of jws.sign(), which always writes its own typ: tests need tokens whose header lacks a
    # field or names another alg than the key's. The signature itself is python-jose's.
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    )
    return signing_input + "." + b64url(signer.sign(signing_input.encode("ascii")))
