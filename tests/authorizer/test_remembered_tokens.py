"""The verified-token cache follows its key (issue 17): a remembered token answers only while the key that verified it
is one the verifier would still use; past max age + max stale, or once a refresh dropped its key, it is denied as a
new token is. The clock is moved, never waited out; the IdP is a real loopback server."""

from __future__ import annotations

import pytest

from authorizer import errors, jwks
from authorizer.config import parse_issuers
from authorizer.fetch import JsonFetcher
from authorizer.verifier import TokenVerifier

from .support import Clock, Document, claims_for


@pytest.fixture
def remembering(idp, clock):
    def build(max_stale: float = 86400) -> TokenVerifier:
        return TokenVerifier(parse_issuers([{"issuer": idp, "audience": "api"}]), fetcher=JsonFetcher(),
                             max_age=600, cooldown=30, max_stale=max_stale, monotonic=clock)
    return build


def test_a_remembered_token_is_answered_without_a_signature_check_while_its_key_holds(remembering, idp, keys,
                                                                                    monkeypatch):
    verifier = remembering()
    token = keys["RS256"].sign(claims_for(idp))
    first = verifier.verify_token(token)
    checked = []
    monkeypatch.setattr(jwks.JwksCache, "get_key", lambda *args: checked.append(args))
    assert verifier.verify_token(token) is first
    assert checked == []


def test_a_remembered_token_is_denied_past_max_age_plus_max_stale_as_a_new_one_is(remembering, idp, keys, server,
                                                                                 clock):
    """max_stale 0: fail closed at max age. A token verified a second before is not allowed a second after."""
    verifier = remembering(max_stale=0)
    verifier.prefetch()
    clock.now += 599
    token = keys["RS256"].sign(claims_for(idp))
    assert verifier.verify_token(token)
    server.put("/idp/jwks", Document(503, b"down", "text/plain"))
    clock.now += 2  # past max age; the refresh fails and max stale is 0
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(token)
    with pytest.raises(errors.JwksUnavailableError):  # exactly what a token never seen before gets
        verifier.verify_token(keys["RS256"].sign(claims_for(idp, jti="new")))


def test_a_remembered_token_keeps_answering_within_the_stale_window(remembering, idp, keys, server, clock):
    verifier = remembering(max_stale=3600)
    verifier.prefetch()
    token = keys["RS256"].sign(claims_for(idp))
    assert verifier.verify_token(token)
    server.put("/idp/jwks", Document(503, b"down", "text/plain"))
    clock.now += 601 + 200  # stale, within max stale: the held keys serve, and so does the remembered token
    assert verifier.verify_token(token)
    clock.now += 3600  # past max age + max stale
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(token)


def test_a_remembered_token_is_denied_once_a_refresh_dropped_its_key(remembering, idp, keys, spare_rsa, server, clock):
    verifier = remembering()
    verifier.prefetch()
    token = keys["RS256"].sign(claims_for(idp))
    kept = keys["ES256"].sign(claims_for(idp))
    assert verifier.verify_token(token) and verifier.verify_token(kept)
    server.put_jwks("/idp/jwks", [spare_rsa, keys["ES256"]])  # the IdP removed the RS256 key
    clock.now += 601
    with pytest.raises(errors.KidNotFoundError):
        verifier.verify_token(token)
    assert verifier.verify_token(kept).kid == keys["ES256"].kid  # verified again with the key still published


def test_a_remembered_token_without_kid_follows_the_one_key_that_fits(remembering, idp, keys, spare_rsa, server, clock):
    server.put_jwks("/idp/jwks", [keys["RS256"]])
    verifier = remembering()
    token = keys["RS256"].sign(claims_for(idp), kid=None)
    assert verifier.verify_token(token).kid is None
    server.put_jwks("/idp/jwks", [keys["RS256"], spare_rsa])  # two keys fit RS256 now: a token without kid is refused
    clock.now += 601
    with pytest.raises(errors.KidNotFoundError):
        verifier.verify_token(token)


# --- how long an entry lives, by the wall clock the claims are checked against -------------------------------------
@pytest.fixture
def wall() -> Clock:
    clock = Clock()
    clock.now = 1_800_000_000.0  # the tokens below are dated from it, not from today
    return clock


@pytest.mark.parametrize("max_age, lives", [(600, 300), (100, 100)])
def test_an_entry_answers_at_most_min_max_age_300_seconds_then_the_token_is_verified_again(idp, keys, wall, max_age,
                                                                                         lives):
    verifier = TokenVerifier(parse_issuers([{"issuer": idp, "audience": "api"}]), fetcher=JsonFetcher(),
                             max_age=max_age, clock=wall)
    token = keys["RS256"].sign(claims_for(idp, iat=int(wall.now), exp=int(wall.now) + 3600))
    first = verifier.verify_token(token)
    wall.now += lives - 1
    assert verifier.verify_token(token) is first  # remembered
    wall.now += 2
    again = verifier.verify_token(token)
    assert again is not first and again.claims == first.claims  # verified again, and still good


def test_an_entry_ends_at_exp_and_the_leeway_is_a_new_verifications_to_give(idp, keys, wall):
    """Leeway 60 s: a token is accepted until exp + 59 s and refused at exp + 61 s, remembered or not; not valid
    before nbf - 60 s."""
    verifier = TokenVerifier(parse_issuers([{"issuer": idp, "audience": "api"}]), fetcher=JsonFetcher(),
                             leeway=60, clock=wall)
    exp = int(wall.now) + 100
    token = keys["RS256"].sign(claims_for(idp, iat=int(wall.now), exp=exp))
    first = verifier.verify_token(token)
    wall.now = exp + 59
    again = verifier.verify_token(token)
    assert again is not first  # the entry ended at exp: verified again, within the leeway
    wall.now = exp + 61
    with pytest.raises(errors.ExpiredTokenError):
        verifier.verify_token(token)
    later = keys["RS256"].sign(claims_for(idp, iat=int(wall.now), nbf=int(wall.now) + 120, exp=int(wall.now) + 900))
    wall.now += 59
    with pytest.raises(errors.NotYetValidError):
        verifier.verify_token(later)
    wall.now += 2
    assert verifier.verify_token(later).claims["nbf"] == int(wall.now) + 59
