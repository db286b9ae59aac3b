"""The verified-token cache follows its key (issue 17): a remembered token answers only while the key that verified it
is one the verifier would still use; past max age + max stale, or once a refresh dropped its key, it is denied as a
new token is. The clock is moved, never waited out; the IdP is a real loopback server."""

from __future__ import annotations

import pytest

from authorizer import errors, jwks
from authorizer.config import parse_issuers
from authorizer.fetch import JsonFetcher
from authorizer.verifier import TokenVerifier

from .support import Document, claims_for
from .test_jwks import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


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
