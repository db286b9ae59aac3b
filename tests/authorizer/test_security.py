"""RFC 8725 and DESIGN.md's security rules, each against real signed tokens and a real JWKS server."""

from __future__ import annotations

import time

import pytest

from authorizer import errors
from authorizer.config import parse_issuers
from authorizer.token import parse_token
from authorizer.verifier import TokenVerifier

from .conftest import ALGORITHMS
from .support import SigningKey, b64, claims_for, hs256_with, unsigned


@pytest.fixture
def verifier(idp):
    def build(**spec):
        issuers = parse_issuers([{"issuer": idp, "audience": ["api", "api-2"], **spec}])
        return TokenVerifier(issuers, leeway=60)
    return build


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_every_supported_algorithm_verifies_with_the_key_chosen_by_kid(verifier, idp, keys, alg):
    verified = verifier().verify_token(keys[alg].sign(claims_for(idp)))
    assert (verified.alg, verified.kid, verified.claims["sub"]) == (alg, f"kid-{alg.lower()}", "user-1")


def test_alg_none_is_refused(verifier, idp, keys):
    token = unsigned({"alg": "none", "kid": keys["RS256"].kid}, claims_for(idp), b"x")
    with pytest.raises(errors.UnsupportedAlgorithmError):
        verifier().verify_token(token)


def test_hs256_signed_with_the_rsa_public_key_is_refused(verifier, idp, keys):
    forged = hs256_with(keys["RS256"].public_pem(), {"alg": "HS256", "kid": keys["RS256"].kid}, claims_for(idp))
    with pytest.raises(errors.UnsupportedAlgorithmError):
        verifier().verify_token(forged)


def test_a_forged_key_under_a_known_kid_fails_the_signature(verifier, idp, keys, spare_rsa):
    forged = spare_rsa.sign(claims_for(idp), kid=keys["RS256"].kid)
    with pytest.raises(errors.BadSignatureError):
        verifier().verify_token(forged)


def test_a_tampered_payload_fails_the_signature(verifier, idp, keys):
    header, _, signature = keys["ES256"].sign(claims_for(idp)).split(".")
    tampered = f"{header}.{b64(claims_for(idp, sub='admin'))}.{signature}"
    with pytest.raises(errors.BadSignatureError):
        verifier().verify_token(tampered)


def test_alg_must_fit_the_key_type_of_the_kid(verifier, idp, keys):
    # An ES256 signature presented under the RSA key's kid: the key cannot serve ES256.
    token = keys["ES256"].sign(claims_for(idp), kid=keys["RS256"].kid)
    with pytest.raises(errors.KeyAlgorithmMismatchError):
        verifier().verify_token(token)


def test_alg_must_match_the_keys_own_alg(verifier, idp, keys):
    # The RS384 key (alg RS384 in the JWKS) used to sign RS256: refused although the signature is valid RSA.
    token = keys["RS384"].sign(claims_for(idp), alg="RS256")
    with pytest.raises(errors.KeyAlgorithmMismatchError):
        verifier().verify_token(token)


def test_ec_alg_must_match_the_curve(verifier, idp, keys):
    token = keys["ES384"].sign(claims_for(idp), alg="ES256")  # a P-384 key cannot serve ES256
    with pytest.raises(errors.KeyAlgorithmMismatchError):
        verifier().verify_token(token)


def test_alg_outside_the_issuer_allow_list_is_refused(verifier, idp, keys):
    with pytest.raises(errors.UnsupportedAlgorithmError):
        verifier(algorithms=["RS256"]).verify_token(keys["ES256"].sign(claims_for(idp)))


def test_jku_x5u_jwk_and_x5c_headers_are_ignored(verifier, idp, keys, spare_rsa, server):
    # The attacker's own key offered every way a header can offer one: keys still come only from the issuer.
    attacker_jwks = server.put_jwks("/attacker/jwks", [spare_rsa])
    token = spare_rsa.sign(claims_for(idp), kid=keys["RS256"].kid, jku=attacker_jwks, x5u=attacker_jwks,
                           jwk=spare_rsa.public_jwk, x5c=["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"])
    with pytest.raises(errors.BadSignatureError):
        verifier().verify_token(token)
    assert server.count("/attacker/jwks") == 0
    honest = keys["RS256"].sign(claims_for(idp), jku=attacker_jwks, x5u=attacker_jwks)
    assert verifier().verify_token(honest).kid == keys["RS256"].kid


@pytest.mark.parametrize("crit", [["exp"], ["b64"], []])
def test_a_crit_header_is_refused(verifier, idp, keys, crit):
    with pytest.raises(errors.CriticalHeaderError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp), crit=crit))


@pytest.mark.parametrize("token", [
    "", "abc", "a.b", "a.b.c.d", "a.b.c.d.e", "@@@.e30.c2ln", "e30.@@@.c2ln", "e30.e30.@@@", "e30.e30.",
    f"{b64('not json')}.e30.c2ln", f"e30.{b64('[1,2]')}.c2ln", f"{b64(bytes([255, 254]))}.e30.c2ln",
    f"{b64('[' * 5000)}.e30.c2ln", "e30.e30.c2ln=", "ｅ30.e30.c2ln",
])
def test_malformed_tokens_are_refused(verifier, token):
    with pytest.raises(errors.MalformedTokenError):
        verifier().verify_token(token)


def test_tokens_over_16_kb_are_refused_before_decoding(verifier, idp):
    huge = "a" * (16 * 1024 + 1)
    with pytest.raises(errors.TokenTooLargeError):
        verifier().verify_token(huge)
    with pytest.raises(errors.TokenTooLargeError):
        verifier().verify_token("x" * (1024 * 1024))


def test_exp_is_required(verifier, idp, keys):
    with pytest.raises(errors.MissingClaimError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, exp=None)))


def test_expired_token_is_denied_after_the_leeway(verifier, idp, keys):
    now = int(time.time())
    within = keys["RS256"].sign(claims_for(idp, exp=now - 30))
    assert verifier().verify_token(within).claims["exp"] == now - 30
    with pytest.raises(errors.ExpiredTokenError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, exp=now - 90)))


def test_nbf_and_iat_in_the_future_are_denied_after_the_leeway(verifier, idp, keys):
    now = int(time.time())
    assert verifier().verify_token(keys["RS256"].sign(claims_for(idp, nbf=now + 30, iat=now + 30)))
    with pytest.raises(errors.NotYetValidError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, nbf=now + 120)))
    with pytest.raises(errors.IssuedInFutureError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, iat=now + 120)))


@pytest.mark.parametrize("claim, value", [
    ("exp", "9999999999"), ("exp", True), ("exp", float("nan")), ("exp", float("inf")), ("nbf", "0"),
    ("iat", [1]), ("aud", 7), ("aud", []), ("aud", ["api", 3]), ("sub", 12), ("scope", ["a", 3]), ("scope", 5), ("scp", 5),
])
def test_wrong_claim_types_are_denied(verifier, idp, keys, claim, value):
    token = keys["RS256"].sign(claims_for(idp, **{claim: value}))
    with pytest.raises(errors.InvalidClaimError):
        verifier().verify_token(token)


def test_iss_must_equal_a_configured_issuer_exactly(verifier, idp, keys, server):
    for near_miss in (idp + "/", idp.upper(), idp + " ", server.root + "/other"):
        with pytest.raises(errors.UnknownIssuerError):
            verifier().verify_token(keys["RS256"].sign(claims_for(near_miss)))
    assert server.count("/other/.well-known/openid-configuration") == 0  # unknown iss: no network call


def test_aud_must_contain_one_configured_audience(verifier, idp, keys):
    assert verifier().verify_token(keys["RS256"].sign(claims_for(idp, audience=["other", "api-2"])))
    with pytest.raises(errors.AudienceMismatchError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, audience=["other", "api-3"])))


def test_without_aud_a_matching_client_id_is_accepted(verifier, idp, keys):
    assert verifier().verify_token(keys["RS256"].sign(claims_for(idp, audience=None, client_id="api")))
    with pytest.raises(errors.AudienceMismatchError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, audience=None, client_id="someone")))
    with pytest.raises(errors.MissingClaimError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, audience=None)))


def test_client_id_does_not_rescue_a_wrong_aud(verifier, idp, keys):
    with pytest.raises(errors.AudienceMismatchError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, audience="other", client_id="api")))


def test_token_types_are_enforced_when_configured(verifier, idp, keys):
    strict = verifier(token_types=["at+jwt"])
    assert strict.verify_token(keys["RS256"].sign(claims_for(idp), typ="at+JWT"))
    assert strict.verify_token(keys["RS256"].sign(claims_for(idp), typ="application/at+jwt"))
    with pytest.raises(errors.TokenTypeError):
        strict.verify_token(keys["RS256"].sign(claims_for(idp), typ="JWT"))
    with pytest.raises(errors.TokenTypeError):
        strict.verify_token(keys["RS256"].sign(claims_for(idp), typ=None))


def test_a_token_without_kid_needs_exactly_one_fitting_key(server, keys):
    issuer = server.root + "/single"
    server.put_jwks("/single/jwks", [keys["RS256"], keys["ES256"]])
    single = TokenVerifier(parse_issuers([{"issuer": issuer, "audience": "api", "jwks_uri": server.root + "/single/jwks"}]))
    no_kid = keys["ES256"].sign(claims_for(issuer), kid=None)
    assert "kid" not in parse_token(no_kid).header
    verified = single.verify_token(no_kid)
    assert (verified.alg, verified.kid) == ("ES256", None)

    server.put_jwks("/two/jwks", [keys["RS256"], SigningKey.generate("other", "RS256").public_jwk])
    two = TokenVerifier(parse_issuers([{"issuer": server.root + "/two", "audience": "api",
                                        "jwks_uri": server.root + "/two/jwks"}]))
    with pytest.raises(errors.KidNotFoundError):
        two.verify_token(keys["RS256"].sign(claims_for(server.root + "/two"), kid=None))


def test_an_empty_kid_is_no_kid_and_keys_without_kid_are_counted_one_by_one(server, keys):
    """Keys without kid can be chosen only by a token without kid, and only when exactly one key fits."""
    anonymous_rs = {k: v for k, v in keys["RS256"].public_jwk.items() if k != "kid"}
    other = SigningKey.generate("other", "RS256")
    anonymous_other = {k: v for k, v in other.public_jwk.items() if k != "kid"}
    issuer = server.root + "/anon"
    url = server.put_jwks("/anon/jwks", [anonymous_rs, keys["ES256"]])
    verifier = TokenVerifier(parse_issuers([{"issuer": issuer, "audience": "api", "jwks_uri": url}]),
                             remembered_tokens=0)
    assert verifier.verify_token(keys["RS256"].sign(claims_for(issuer), kid=None)).kid is None
    assert verifier.verify_token(keys["RS256"].sign(claims_for(issuer), kid="")).kid is None  # "" is no kid

    two = server.root + "/anon2"
    url = server.put_jwks("/anon2/jwks", [anonymous_rs, anonymous_other])
    verifier = TokenVerifier(parse_issuers([{"issuer": two, "audience": "api", "jwks_uri": url}]))
    for signer in (keys["RS256"], other):  # two kid-less keys fit RS256: neither is guessed
        for kid in (None, ""):
            with pytest.raises(errors.KidNotFoundError):
                verifier.verify_token(signer.sign(claims_for(two), kid=kid))


def test_unknown_iss_is_denied_and_missing_iss_too(verifier, idp, keys):
    with pytest.raises(errors.MissingClaimError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, iss=None)))
    with pytest.raises(errors.UnknownIssuerError):
        verifier().verify_token(keys["RS256"].sign(claims_for(idp, iss=["not", "a", "string"])))


def test_a_repeated_token_is_remembered_only_until_it_expires(idp, keys):
    now = [time.time()]
    verifier = TokenVerifier(parse_issuers([{"issuer": idp, "audience": "api"}]), clock=lambda: now[0], leeway=0)
    token = keys["RS256"].sign(claims_for(idp, exp=int(now[0]) + 100))
    first = verifier.verify_token(token)
    assert verifier.verify_token(token) is first  # served from the remembered verification
    now[0] += 101
    with pytest.raises(errors.ExpiredTokenError):
        verifier.verify_token(token)


def test_weak_rsa_keys_in_the_jwks_are_ignored(server):
    weak = SigningKey.generate("weak", "RS256", rsa_bits=1024)
    server.put_jwks("/weak/jwks", [weak])
    verifier = TokenVerifier(parse_issuers([{"issuer": server.root + "/weak", "audience": "api",
                                             "jwks_uri": server.root + "/weak/jwks"}]))
    with pytest.raises(errors.KidNotFoundError):  # the set holds no usable key: the weak one is not among them
        verifier.verify_token(weak.sign(claims_for(server.root + "/weak")))


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_a_date_of_400_digits_is_a_date_that_is_refused_or_accepted_never_a_traceback(verifier, keys, idp, claim):
    huge = 10 ** 400
    claims = claims_for(idp, **{claim: huge if claim != "exp" else -huge})
    with pytest.raises(errors.AuthorizationError) as denied:
        verifier().verify_token(keys["RS256"].sign(claims))
    assert denied.value.reason == {"exp": "expired", "nbf": "not_yet_valid", "iat": "issued_in_future"}[claim]
