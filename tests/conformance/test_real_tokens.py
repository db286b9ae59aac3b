"""Real signed tokens of other people (Descope's SDK test suites, aws-jwt-verify's OIDC test tokens), replayed at
the instant they were valid. Sources: ``SOURCES.md``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from jose import jwk, jws

from tests.authorizer.support import http_v2_event
from tests.authorizer.test_responses import assert_well_formed_policy, iam_allows

from .corpus import (
    AJV_AT,
    AJV_JWKS,
    AJV_MS,
    AJV_TOKENS,
    BUILT,
    CLOCK,
    DESCOPE_GO,
    DESCOPE_PY,
    GO_REFRESH,
    GO_SESSION,
    GO_TENANTS,
    PY_AK_REFRESH,
    PY_COOKIE_2022,
    PY_EXPIRED,
    PY_REFRESH,
    PY_SESSION,
    decode_segment,
    descope_issuer,
)


# --- the corpus is what it says it is -----------------------------------------------------------------------
@pytest.mark.parametrize("entry", DESCOPE_PY["tokens"] + DESCOPE_GO["tokens"], ids=lambda e: e.get("name"))
def test_every_vendored_descope_token_verifies_with_its_vendored_key_and_matches_its_recorded_claims(entry):
    # python-jose directly, not our code: proves the corpus holds real signatures before our code judges them.
    assert jws.verify(entry["token"], jwk.construct(entry["jwk"], entry["header"]["alg"]), algorithms=["ES384"])
    header, claims, _ = entry["token"].split(".")
    assert decode_segment(header) == entry["header"] and decode_segment(claims) == entry["claims"]
    assert entry["header"]["alg"] == "ES384" and entry["jwk"]["kid"] == entry["header"]["kid"]
    assert entry["claims"]["drn" if "drn" in entry["claims"] else "cookieName"] in (
        ("DS",) if entry["kind"] == "session" else ("DSR",))


def test_vendored_descope_python_sdk_tokens_have_the_bare_project_issuer_and_no_audience():
    for entry in DESCOPE_PY["tokens"]:
        assert entry["claims"]["iss"] == entry["project_id"]
        assert "aud" not in entry["claims"] and "client_id" not in entry["claims"]


def test_vendored_aws_jwt_verify_tokens_verify_with_the_vendored_jwks():
    key = jwk.construct(AJV_JWKS["keys"][0], "RS256")
    for name in ("VAILD_TOKEN", "EXPIRED_TOKEN", "NOT_YET_VALID_TOKEN"):
        assert jws.verify(AJV_TOKENS[name], key, algorithms=["RS256"])


# --- Descope: real session and refresh tokens ---------------------------------------------------------------
@pytest.mark.parametrize("response_mode", ["iam", "simple"])
def test_descope_session_token_without_aud_is_allowed_by_the_descope_preset(server, replay, response_mode):
    issuer = descope_issuer(server, PY_SESSION["project_id"], [PY_SESSION["jwk"]])
    authorizer = replay([issuer], AUTH_RESPONSE=response_mode)
    response = authorizer.authorize(http_v2_event(PY_SESSION["token"]))
    assert authorizer.outcome == "allow", authorizer.reason
    if response_mode == "simple":
        assert response["isAuthorized"] is True
        assert response["context"]["sub"] == PY_SESSION["claims"]["sub"]
    else:
        assert_well_formed_policy(response)
        assert response["principalId"] == PY_SESSION["claims"]["sub"]
        assert response["context"]["drn"] == "DS"


@pytest.mark.parametrize("entry", [PY_REFRESH, PY_AK_REFRESH, GO_REFRESH], ids=["python-sdk", "python-sdk-access-key",
                                                                              "go-sdk"])
def test_descope_refresh_token_is_denied_as_token_use_mismatch(server, replay, entry):
    authorizer = replay([descope_issuer(server, entry["project_id"], [entry["jwk"]])])
    response = authorizer.authorize(http_v2_event(entry["token"]))
    assert not iam_allows(response, http_v2_event()["routeArn"])
    assert (authorizer.outcome, authorizer.reason) == ("deny", "token_use_mismatch")


def test_descope_session_token_without_aud_is_denied_when_require_audience_is_true(server, replay):
    issuer = descope_issuer(server, PY_SESSION["project_id"], [PY_SESSION["jwk"]], require_audience=True)
    authorizer = replay([issuer])
    response = authorizer.authorize(http_v2_event(PY_SESSION["token"]))
    assert not iam_allows(response, http_v2_event()["routeArn"])
    assert authorizer.outcome == "deny" and authorizer.reason in ("missing_claim", "audience_mismatch")


@pytest.mark.parametrize("entry", [GO_SESSION, GO_TENANTS], ids=["session", "session_with_tenants"])
@pytest.mark.parametrize("require_audience", [False, True])
def test_descope_session_token_whose_aud_holds_the_project_is_allowed_either_way(server, replay, entry,
                                                                                 require_audience):
    issuer = descope_issuer(server, entry["project_id"], [entry["jwk"]], require_audience=require_audience)
    authorizer = replay([issuer])
    response = authorizer.authorize(http_v2_event(entry["token"]))
    assert authorizer.outcome == "allow", authorizer.reason
    assert iam_allows(response, http_v2_event()["routeArn"])


def test_descope_tenants_claim_reaches_the_context_as_compact_json(server, replay):
    authorizer = replay([descope_issuer(server, GO_TENANTS["project_id"], [GO_TENANTS["jwk"]])])
    response = authorizer.authorize(http_v2_event(GO_TENANTS["token"]))
    assert response["context"]["tenants"] == '{"t1":{},"t2":{}}'
    assert json.loads(response["context"]["aud"]) == ["test"]


@pytest.mark.parametrize("entry", [PY_EXPIRED, PY_COOKIE_2022], ids=["python-sdk-expired", "2022-cookie-session"])
def test_descope_token_replayed_after_its_exp_is_denied_as_expired(server, replay, entry):
    authorizer = replay([descope_issuer(server, entry["project_id"], [entry["jwk"]])], at=CLOCK)
    authorizer.authorize(http_v2_event(entry["token"]))
    assert (authorizer.outcome, authorizer.reason) == ("deny", "expired")


def test_descope_2022_session_token_is_allowed_at_the_time_it_was_valid(server, replay):
    entry = PY_COOKIE_2022  # no drn, no aud, cookie* claims: an older Descope session shape
    authorizer = replay([descope_issuer(server, entry["project_id"], [entry["jwk"]])], at=entry["replay_at"])
    authorizer.authorize(http_v2_event(entry["token"]))
    assert authorizer.outcome == "allow", authorizer.reason


def test_descope_token_of_another_project_is_denied_as_unknown_issuer(server, replay):
    authorizer = replay([descope_issuer(server, PY_AK_REFRESH["project_id"], [PY_AK_REFRESH["jwk"]])])
    authorizer.authorize(http_v2_event(PY_SESSION["token"]))
    assert (authorizer.outcome, authorizer.reason) == ("deny", "unknown_issuer")
    assert server.count("/v2/keys/" + PY_AK_REFRESH["project_id"]) == 0  # unknown iss: no network call


def test_descope_token_is_not_verified_by_a_different_key_published_under_its_kid(server, replay):
    # go-sdk's two test keys share kid "testkey": serve the other one, as a rotated or hostile JWKS would.
    authorizer = replay([descope_issuer(server, GO_SESSION["project_id"], [GO_TENANTS["jwk"]])])
    authorizer.authorize(http_v2_event(GO_SESSION["token"]))
    assert (authorizer.outcome, authorizer.reason) == ("deny", "bad_signature")


def test_descope_session_token_with_edited_claims_is_denied_as_bad_signature(server, replay):
    header, _, signature = PY_SESSION["token"].split(".")
    claims = dict(PY_SESSION["claims"], sub="U-someone-else")
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
                       .rstrip(b"=").decode(), signature])
    authorizer = replay([descope_issuer(server, PY_SESSION["project_id"], [PY_SESSION["jwk"]])])
    authorizer.authorize(http_v2_event(forged))
    assert (authorizer.outcome, authorizer.reason) == ("deny", "bad_signature")


# --- aws-jwt-verify's real RS256 tokens (a generic OIDC issuer) ---------------------------------------------
def ajv_issuer(server) -> dict[str, Any]:
    return {"provider": "oidc", "issuer": AJV_TOKENS["ISSUER"], "audience": AJV_TOKENS["AUDIENCE"],
            "jwks_uri": server.put(AJV_TOKENS["JWKSURI"], AJV_JWKS)}


@pytest.mark.parametrize("response_mode", ["iam", "simple"])
def test_aws_jwt_verify_valid_token_is_allowed_by_the_oidc_preset(server, replay, response_mode):
    authorizer = replay([ajv_issuer(server)], at=AJV_AT, AUTH_RESPONSE=response_mode)
    response = authorizer.authorize(http_v2_event(AJV_TOKENS["VAILD_TOKEN"]))
    assert authorizer.outcome == "allow", authorizer.reason
    assert (response["isAuthorized"] if response_mode == "simple"
            else iam_allows(response, http_v2_event()["routeArn"]))
    assert response["context"]["testcase"] == "valid token"


@pytest.mark.parametrize("name, at, reason", [
    ("EXPIRED_TOKEN", AJV_AT, "expired"),
    ("NOT_YET_VALID_TOKEN", AJV_AT, "not_yet_valid"),
    ("VAILD_TOKEN", CLOCK, "expired"),  # the same real token, replayed after its exp
])
def test_aws_jwt_verify_token_outside_its_validity_window_is_denied_with_the_window_reason(server, replay, name, at,
                                                                                           reason):
    authorizer = replay([ajv_issuer(server)], at=at)
    authorizer.authorize(http_v2_event(AJV_TOKENS[name]))
    assert (authorizer.outcome, authorizer.reason) == ("deny", reason)


def test_microsofts_documented_example_token_is_never_allowed(server, replay, built_keys):
    # Its signature is truncated in the source and its kid is not in our key set: whatever the reason, it is denied.
    entra = BUILT["entra"]
    authorizer = replay([{"issuer": AJV_MS["MS_ISSUER"], "audience": AJV_MS["MS_AUDIENCE"],
                          "jwks_uri": server.put_jwks("/entra/keys", [built_keys["entra"]])}],
                        at=decode_segment(AJV_MS["MS_INVALID_KID_TOKEN"].split(".")[1])["iat"] + 60)
    response = authorizer.authorize(http_v2_event(AJV_MS["MS_INVALID_KID_TOKEN"]))
    assert authorizer.outcome == "deny" and authorizer.reason is not None
    assert not iam_allows(response, http_v2_event()["routeArn"])
    assert entra["tenant_id"] in AJV_MS["MS_ISSUER"]
