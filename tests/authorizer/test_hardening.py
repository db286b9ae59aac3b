"""The findings of the attacker's review (issue 10): each case here failed before its fix.

Route decisions by the matched route, configuration matched whole and typed, clean strings in logs and the
context, canonical base64url, and scopes split on U+0020 only.
"""

from __future__ import annotations

import json

import pytest

from authorizer.config import load_config, parse_issuers, parse_routes
from authorizer.errors import ConfigError, MalformedTokenError
from authorizer.rules import granted_scopes
from authorizer.token import parse_token

from .support import ARN, claims_for, http_v1_event, http_v2_event
from .test_responses import assert_well_formed_policy, iam_allows

STAGE = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default"
ENCODED_ARN = f"{STAGE}/POST/ord%65rs"  # API Gateway matched it as POST /orders; its ARN still reads ord%65rs


def serializable(response: dict) -> None:
    json.dumps(response, ensure_ascii=False).encode()  # what the Lambda runtime does with the response


# --- 1. route decisions by the route API Gateway matched -------------------------------------------------------
@pytest.mark.parametrize("event_of", [http_v2_event, http_v1_event], ids=["http-2.0", "http-1.0"])
def test_an_encoded_path_does_not_slip_past_its_routes_iam_rule(make_authorizer, token, event_of):
    authorizer = make_authorizer(routes={"POST /orders": ["orders:write"]})
    response = authorizer.authorize(event_of(token(scope="orders:read"), arn=ENCODED_ARN, route_key="POST /orders"))
    assert_well_formed_policy(response)
    assert not iam_allows(response, ENCODED_ARN)
    assert {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ENCODED_ARN} in \
        response["policyDocument"]["Statement"]
    # Still the cache-safe policy for every other route: the stage is allowed, the route pattern denied.
    assert iam_allows(response, f"{STAGE}/GET/hello")
    assert not iam_allows(response, f"{STAGE}/POST/orders")


def test_a_met_rule_adds_no_request_deny(make_authorizer, token):
    authorizer = make_authorizer(routes={"POST /orders": ["orders:write"]})
    response = authorizer.authorize(http_v2_event(token(scope="orders:write"), arn=ENCODED_ARN,
                                                  route_key="POST /orders"))
    assert iam_allows(response, ENCODED_ARN)
    assert [s["Effect"] for s in response["policyDocument"]["Statement"]] == ["Allow"]


def test_an_encoded_path_is_denied_with_simple_responses_too(make_authorizer, token):
    authorizer = make_authorizer(routes={"POST /orders": ["orders:write"]}, AUTH_RESPONSE="simple")
    event = http_v2_event(token(scope="orders:read"), arn=ENCODED_ARN, route_key="POST /orders")
    assert authorizer.authorize(event) == {"isAuthorized": False}


def test_a_request_arn_too_long_for_a_policy_denies_the_stage(make_authorizer, token):
    long_arn = f"{STAGE}/POST/" + "ord%65rs" * 70
    assert len(long_arn) > 512
    authorizer = make_authorizer(routes={"POST /{proxy+}": ["orders:write"]})
    response = authorizer.authorize(http_v2_event(token(scope="orders:read"), arn=long_arn,
                                                  route_key="POST /{proxy+}"))
    assert all(len(s["Resource"]) <= 512 for s in response["policyDocument"]["Statement"])
    assert {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{STAGE}/*"} in \
        response["policyDocument"]["Statement"]
    assert not iam_allows(response, long_arn) and not iam_allows(response, f"{STAGE}/GET/hello")


def test_a_denial_by_the_matched_route_is_logged_with_its_reason(make_authorizer, token, logs):
    authorizer = make_authorizer(routes={"POST /orders": ["orders:write"]})
    authorizer.authorize(http_v2_event(token(scope="orders:read"), arn=ENCODED_ARN, route_key="POST /orders"))
    (record,) = [r for r in logs.records() if r["message"] == "denied"]
    assert (record["reason"], record["route"]) == ("insufficient_scope", "POST /orders")


# --- 2. configuration matched whole -----------------------------------------------------------------------------
@pytest.mark.parametrize("route_key", ["GET /orders\n", "GET /orders/{id}\n", "GET /orders ", "GET /a\n/b"])
def test_a_route_key_with_a_trailing_newline_or_space_is_a_configuration_error(route_key):
    with pytest.raises(ConfigError) as caught:
        parse_routes({route_key: ["orders:read"]})
    assert caught.value.field == f"AUTH_ROUTES[{route_key!r}]"


@pytest.mark.parametrize("spec, field", [
    ({"provider": "passage", "app_id": "abc\n"}, "AUTH_ISSUERS[0].app_id"),
    ({"provider": "descope", "project_id": "P123\n"}, "AUTH_ISSUERS[0].project_id"),
])
def test_provider_identifiers_are_matched_whole(spec, field):
    with pytest.raises(ConfigError) as caught:
        parse_issuers([spec])
    assert caught.value.field == field


def test_a_cookie_name_with_a_trailing_newline_is_refused(idp):
    with pytest.raises(ConfigError) as caught:
        load_config({"AUTH_ISSUERS": json.dumps([{"issuer": idp, "audience": "api"}]), "AUTH_TOKEN_COOKIE": "id\n"})
    assert caught.value.field == "AUTH_TOKEN_COOKIE"


@pytest.mark.parametrize("variable, value", [
    ("AUTH_ROUTES", '{"GET /\\ud800": ["a"]}'),
    ("AUTH_ROUTES", '{"GET /x": {"claims": {"\\udfff": "a"}}}'),
    ("AUTH_ISSUERS", '[{"issuer": "https://idp.example/\\ud800", "audience": "api"}]'),
])
def test_configured_text_that_is_not_valid_utf8_is_a_configuration_error(variable, value):
    environ = {"AUTH_ISSUERS": '[{"issuer": "https://idp.example", "audience": "api"}]', variable: value}
    with pytest.raises(ConfigError) as caught:
        load_config(environ)
    assert caught.value.field == variable


# --- 3. claim values keep their JSON type -----------------------------------------------------------------------
@pytest.mark.parametrize("old, new", [(1, True), (0, False), (1, 1.5), ("1", 1)])
def test_route_rules_compare_by_the_json_type_of_their_values(old, new):
    assert parse_routes({"GET /x": {"claims": {"tier": old}}}) != parse_routes({"GET /x": {"claims": {"tier": new}}})


def test_route_rules_with_the_same_values_compare_equal():
    rules = {"GET /x": {"scopes": ["a"], "claims": {"tier": [1, True, "1"]}}}
    assert parse_routes(rules) == parse_routes(json.loads(json.dumps(rules)))


# --- 4. clean strings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["sub", "iss", "kid"])
def test_a_lone_surrogate_in_a_forged_token_cannot_suppress_its_denial_log(make_authorizer, keys, idp, logs, where,
                                                                           capsys):
    claims = claims_for(idp, sub="x\ud800y") if where == "sub" else claims_for(idp)
    if where == "iss":
        claims["iss"] = idp + "\udfff"
    header = {"kid": "k\ud800"} if where == "kid" else {}
    forged = keys["RS256"].sign(claims, **header)[:-4] + "AAAA"  # a bad signature (or an unknown issuer or kid)
    response = make_authorizer().authorize(http_v2_event(forged))
    assert not iam_allows(response, ARN)
    serializable(response)
    (record,) = [r for r in logs.records() if r["message"] == "denied"]
    assert record["reason"] in ("bad_signature", "unknown_issuer", "unknown_kid")
    assert "\ufffd" in record[where]
    assert "Logging error" not in capsys.readouterr().err


def test_a_claim_holding_a_lone_surrogate_is_dropped_from_the_context_and_named_in_the_log(make_authorizer, token,
                                                                                             logs):
    for simple in (False, True):
        env = {"AUTH_RESPONSE": "simple"} if simple else {}
        response = make_authorizer(**env).authorize(http_v2_event(token(
            sub="user-\ud800", nick="bad\udc00", groups=[{"name": "ok"}, {"name": "\ud83d"}], plan="gold")))
        serializable(response)
        assert response["context"]["plan"] == "gold"
        assert "nick" not in response["context"] and "groups" not in response["context"]
        assert "sub" not in response["context"]
        if not simple:
            assert response["principalId"] == "user-\ufffd"
    dropped = [r for r in logs.records() if r["message"].startswith("claims left out")]
    assert dropped and sorted(dropped[0]["claims"]) == ["groups", "nick", "sub"]


def test_text_outside_the_bmp_is_clean_and_kept(make_authorizer, token):
    response = make_authorizer().authorize(http_v2_event(token(nick="\U0001f600", tags=["\u00e9t\u00e9"])))
    assert response["context"]["nick"] == "\U0001f600"
    assert json.loads(response["context"]["tags"]) == ["\u00e9t\u00e9"]


# --- 5. canonical base64url -------------------------------------------------------------------------------------
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def with_an_unused_bit_set(segment: str) -> str:
    """The same bytes spelt another way: the last character's lowest (unused) bit set."""
    assert len(segment) % 4 in (2, 3)
    return segment[:-1] + ALPHABET[ALPHABET.index(segment[-1]) | 1]


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "payload", "signature"])
def test_a_segment_with_non_zero_unused_bits_is_refused(keys, idp, part):
    # Pad the JSON with a space until its segment has unused bits (a length of 2 or 3 mod 4).
    claims = claims_for(idp)
    token = keys["RS256"].sign(claims)
    while len(token.split(".")[part]) % 4 not in (2, 3):
        claims["pad"] = claims.get("pad", "") + "x"
        token = keys["RS256"].sign(claims, pad=claims["pad"]) if part == 0 else keys["RS256"].sign(claims)
    parse_token(token)
    segments = token.split(".")
    segments[part] = with_an_unused_bit_set(segments[part])
    with pytest.raises(MalformedTokenError) as caught:
        parse_token(".".join(segments))
    assert caught.value.reason == "malformed_token"


def test_a_non_canonical_twin_of_a_valid_token_is_denied(make_authorizer, keys, idp):
    token = keys["RS256"].sign(claims_for(idp))
    header, payload, signature = token.split(".")
    authorizer = make_authorizer()
    assert iam_allows(authorizer.authorize(http_v2_event(token)), ARN)
    twin = f"{header}.{payload}.{with_an_unused_bit_set(signature)}"
    assert not iam_allows(authorizer.authorize(http_v2_event(twin)), ARN)


# --- 6. scopes are split on U+0020 only -------------------------------------------------------------------------
@pytest.mark.parametrize("scope", ["orders:read\u00a0orders:write", "orders:read\torders:write",
                                   "orders:read\norders:write"])
def test_scopes_are_split_on_the_space_character_only(scope):
    assert "orders:write" not in granted_scopes({"scope": scope})
    assert granted_scopes({"scp": scope}) == frozenset({scope})


def test_repeated_spaces_make_no_empty_scope():
    assert granted_scopes({"scope": " a  b "}) == frozenset({"a", "b"})


def test_a_scope_after_a_no_break_space_does_not_meet_a_route_rule(make_authorizer, token):
    authorizer = make_authorizer(routes={"POST /orders": ["orders:write"]}, AUTH_RESPONSE="simple")
    event = http_v2_event(token(scope="orders:read\u00a0orders:write"), route_key="POST /orders")
    assert authorizer.authorize(event) == {"isAuthorized": False}


def test_only_a_payload_with_a_surrogate_escape_has_its_claims_checked(keys, idp):
    assert parse_token(keys["RS256"].sign(claims_for(idp, name="\u00e9\U0001f600"))).claims_clean is False
    assert parse_token(keys["RS256"].sign(claims_for(idp, name="\ud800"))).claims_clean is False
    assert parse_token(keys["RS256"].sign(claims_for(idp, name="plain"))).claims_clean is True
