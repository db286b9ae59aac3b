"""Every row of DESIGN.md's response table, the cache-safe policy, and the claims context."""

from __future__ import annotations

import json
import re

import pytest

from authorizer.authorize import Authorizer, Unauthorized
from authorizer.config import load_config
from authorizer.policy import MethodArn, encode_context

from .support import ARN, claims_for, http_v1_event, http_v2_event, rest_request_event, rest_token_event

ROUTES = {"GET /orders": ["orders:read"], "POST /orders/{id}": {"scopes": ["orders:write"]},
          "ANY /admin/{proxy+}": {"claims": {"roles": "admin"}}}
STAGE = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default"


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's execute-api resource matching: * is any run of characters (slashes included), ? is one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def iam_allows(response: dict, arn: str) -> bool:
    """Evaluate a returned policy for one request the way IAM does: explicit Deny wins, then Allow."""
    statements = response["policyDocument"]["Statement"]
    def hits(s):
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        return s["Action"] == "execute-api:Invoke" and any(arn_matches(r, arn) for r in resources)
    if any(s["Effect"] == "Deny" and hits(s) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and hits(s) for s in statements)


def assert_well_formed_policy(response: dict) -> None:
    assert set(response) <= {"principalId", "policyDocument", "context"}
    assert isinstance(response["principalId"], str) and response["principalId"]
    assert response["policyDocument"]["Version"] == "2012-10-17"
    for s in response["policyDocument"]["Statement"]:
        assert s["Action"] == "execute-api:Invoke" and s["Effect"] in ("Allow", "Deny")
    for value in response.get("context", {}).values():
        assert isinstance(value, (str, int, float, bool))


# --- HTTP API 2.0, iam ----------------------------------------------------------------------------------
def test_http_v2_iam_valid_token_gets_allow_on_the_stage_with_the_claims(make_authorizer, token):
    response = make_authorizer().authorize(http_v2_event(token(roles=["a", "b"], tenants={"t1": {"roles": ["x"]}})))
    assert_well_formed_policy(response)
    assert response["principalId"] == "user-1"
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{STAGE}/*"}]
    assert response["context"]["sub"] == "user-1"
    assert json.loads(response["context"]["roles"]) == ["a", "b"]
    assert response["context"]["tenants"] == '{"t1":{"roles":["x"]}}'


def test_http_v2_iam_route_rule_not_met_denies_this_route_in_a_reusable_policy(make_authorizer, token):
    event = http_v2_event(token(scope="profile"), route_key="GET /orders", arn=f"{STAGE}/GET/orders")
    response = make_authorizer(routes=ROUTES).authorize(event)
    assert_well_formed_policy(response)
    assert not iam_allows(response, f"{STAGE}/GET/orders")
    assert iam_allows(response, f"{STAGE}/GET/hello")
    denied = {s["Resource"] for s in response["policyDocument"]["Statement"] if s["Effect"] == "Deny"}
    assert denied == {f"{STAGE}/GET/orders", f"{STAGE}/POST/orders/*", f"{STAGE}/*/admin/*"}


def test_http_v2_iam_invalid_or_missing_token_gets_a_stage_deny(make_authorizer, token):
    authorizer = make_authorizer()
    for event in (http_v2_event(None), http_v2_event("garbage"), http_v2_event(token(aud="other"))):
        response = authorizer.authorize(event)
        assert_well_formed_policy(response)
        assert response["policyDocument"]["Statement"] == [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{STAGE}/*"}]
        assert "context" not in response


# --- HTTP API 2.0, simple -------------------------------------------------------------------------------
def test_http_v2_simple_responses(make_authorizer, token):
    authorizer = make_authorizer(routes=ROUTES, AUTH_RESPONSE="simple")
    allowed = authorizer.authorize(http_v2_event(token(scope="orders:read"), route_key="GET /orders", per_route=True))
    assert allowed["isAuthorized"] is True and allowed["context"]["scope"] == "orders:read"
    assert authorizer.authorize(http_v2_event(token(scope="x"), route_key="GET /orders", per_route=True)) == {"isAuthorized": False}
    assert authorizer.authorize(http_v2_event(None)) == {"isAuthorized": False}
    assert authorizer.authorize(http_v2_event(token(exp=1))) == {"isAuthorized": False}


# --- HTTP API 1.0 ---------------------------------------------------------------------------------------
def test_http_v1_gets_policies_in_every_case(make_authorizer, token):
    authorizer = make_authorizer(routes=ROUTES, AUTH_RESPONSE="simple")  # simple applies to 2.0 only
    allowed = authorizer.authorize(http_v1_event(token()))
    assert_well_formed_policy(allowed)
    assert iam_allows(allowed, ARN)
    rule_not_met = authorizer.authorize(http_v1_event(token(), arn=f"{STAGE}/GET/orders", route_key="GET /orders"))
    assert not iam_allows(rule_not_met, f"{STAGE}/GET/orders")
    denied = authorizer.authorize(http_v1_event("a.b.c"))
    assert_well_formed_policy(denied)
    assert not iam_allows(denied, ARN)


# --- REST TOKEN and REQUEST -----------------------------------------------------------------------------
@pytest.mark.parametrize("event_of", [rest_token_event, rest_request_event])
def test_rest_valid_gets_allow_rule_not_met_gets_deny_and_invalid_raises_unauthorized(make_authorizer, token, event_of):
    authorizer = make_authorizer(routes=ROUTES)
    allowed = authorizer.authorize(event_of(token()))
    assert_well_formed_policy(allowed)
    assert iam_allows(allowed, ARN)
    rule_not_met = authorizer.authorize(event_of(token(), arn=f"{STAGE}/POST/orders/42"))
    assert not iam_allows(rule_not_met, f"{STAGE}/POST/orders/42")
    for bad in (None, "garbage", token(exp=1)):
        with pytest.raises(Exception, match="^Unauthorized$"):
            authorizer.authorize(event_of(bad))


# --- the cache-safe policy ------------------------------------------------------------------------------
def test_a_policy_cached_on_one_route_still_enforces_the_rules_of_others(make_authorizer, token):
    """API Gateway may cache by the Authorization header alone and reuse the policy on any route."""
    authorizer = make_authorizer(routes=ROUTES)
    reader = authorizer.authorize(http_v2_event(token(scope="orders:read"), arn=f"{STAGE}/GET/hello"))
    assert iam_allows(reader, f"{STAGE}/GET/orders")          # its scope is enough there
    assert not iam_allows(reader, f"{STAGE}/POST/orders/7")   # but not for writing
    assert not iam_allows(reader, f"{STAGE}/DELETE/admin/users/1")  # nor the admin claim rule
    admin = authorizer.authorize(http_v2_event(token(scope="orders:write", roles=["admin"])))
    assert iam_allows(admin, f"{STAGE}/DELETE/admin/users/1")
    assert iam_allows(admin, f"{STAGE}/POST/orders/7")
    assert not iam_allows(admin, f"{STAGE}/GET/orders")


def test_scopes_count_from_scope_and_scp_any_of(make_authorizer, token):
    authorizer = make_authorizer(routes={"GET /orders": ["orders:read", "orders:admin"]})
    event = lambda t: http_v2_event(t, route_key="GET /orders", arn=f"{STAGE}/GET/orders")
    for granted in ({"scope": "a orders:admin"}, {"scp": ["orders:read"]}, {"scp": "x orders:read"}):
        assert iam_allows(authorizer.authorize(event(token(**granted))), f"{STAGE}/GET/orders"), granted
    assert not iam_allows(authorizer.authorize(event(token(scope="orders:reader"))), f"{STAGE}/GET/orders")


def test_claim_rules_accept_any_listed_value_and_do_not_confuse_true_with_one(make_authorizer, token):
    authorizer = make_authorizer(routes={"GET /vip": {"claims": {"tier": [1, "gold"], "active": True}}})
    arn = f"{STAGE}/GET/vip"
    event = lambda t: http_v2_event(t, route_key="GET /vip", arn=arn)
    assert iam_allows(authorizer.authorize(event(token(tier="gold", active=True))), arn)
    assert iam_allows(authorizer.authorize(event(token(tier=[3, 1], active=True))), arn)
    assert not iam_allows(authorizer.authorize(event(token(tier=True, active=True))), arn)
    assert not iam_allows(authorizer.authorize(event(token(tier=1, active=1))), arn)
    assert not iam_allows(authorizer.authorize(event(token(tier=1))), arn)


def order_by_id_authorizer(idp, logs) -> tuple[Authorizer, list]:
    """An authorizer with one rule, ``GET /orders/{id}`` needs ``orders:read``, and the (outcome, reason) it observes."""
    observed: list = []
    config = load_config({"AUTH_ISSUERS": json.dumps([{"issuer": idp, "audience": "api"}]),
                          "AUTH_ROUTES": json.dumps({"GET /orders/{id}": ["orders:read"]})})
    return Authorizer(config, logger=logs.logger, observe=lambda *decision: observed.append(decision[:2])), observed


def test_a_route_under_a_wider_unmet_rule_is_decided_by_its_own_rule_when_answers_are_cached_per_route(idp, keys,
                                                                                                   logs):
    """``GET /orders/{id}``'s Deny pattern, ``GET/orders/*``, also covers ``GET /orders/{id}/invoice``. API Gateway
    decides by the matched route, and an answer cached per route is only reused on it: no Deny of the wider route."""
    authorizer, observed = order_by_id_authorizer(idp, logs)
    arn = f"{STAGE}/GET/orders/42/invoice"
    token = keys["RS256"].sign(claims_for(idp))
    response = authorizer.authorize(http_v2_event(token, route_key="GET /orders/{id}/invoice", arn=arn,
                                                  per_route=True))
    assert iam_allows(response, arn) and observed == [("allow", None)]
    # The wider route itself is still refused, on its own requests.
    response = authorizer.authorize(http_v2_event(token, route_key="GET /orders/{id}", arn=f"{STAGE}/GET/orders/42",
                                                  per_route=True))
    assert not iam_allows(response, f"{STAGE}/GET/orders/42") and observed[-1] == ("deny", "insufficient_scope")


def test_a_route_under_a_wider_unmet_rule_is_refused_as_too_wide_when_the_answer_may_be_reused_anywhere(idp, keys,
                                                                                                       logs):
    """Cached by the token alone, the answer must carry the wider route's Deny, which covers this request: what is
    logged and counted says so (``cache_key_too_wide``), not an allow API Gateway would turn into a 403."""
    authorizer, observed = order_by_id_authorizer(idp, logs)
    arn = f"{STAGE}/GET/orders/42/invoice"
    token = keys["RS256"].sign(claims_for(idp))
    response = authorizer.authorize(http_v2_event(token, route_key="GET /orders/{id}/invoice", arn=arn))
    assert not iam_allows(response, arn)
    assert not iam_allows(response, f"{STAGE}/GET/orders/42")  # reused on the wider route: still refused there
    assert observed == [("deny", "cache_key_too_wide")]
    response = authorizer.authorize(http_v2_event(token, route_key="GET /hello"))
    assert iam_allows(response, ARN) and observed[-1] == ("allow", None)
    # A REST event names no route: judged by the Deny patterns that cover its ARN, with the covering rule's reason.
    with_rest = authorizer.authorize(rest_request_event(token, arn=arn))
    assert not iam_allows(with_rest, arn) and observed[-1] == ("deny", "insufficient_scope")


def test_simple_responses_with_route_rules_deny_an_event_that_names_no_route(make_authorizer, token):
    authorizer = make_authorizer(routes=ROUTES, AUTH_RESPONSE="simple")
    event = http_v2_event(token(scope="profile"))
    del event["routeKey"]
    assert authorizer.authorize(event) == {"isAuthorized": False}
    assert make_authorizer(AUTH_RESPONSE="simple").authorize(event)["isAuthorized"] is True  # no rules: no route needed


def test_the_token_must_be_the_identity_source_api_gateway_caches_under(make_authorizer, token):
    """Else an Allow for the header's token would be cached under another value and given to its holders."""
    authorizer = make_authorizer(AUTH_TOKEN_COOKIE="psg_auth_token")
    event = http_v2_event(token(), cookies=["psg_auth_token=junk"])
    event["identitySource"] = ["psg_auth_token=junk"]
    assert not iam_allows(authorizer.authorize(event), ARN)
    event["identitySource"] = [event["headers"]["authorization"]]
    assert iam_allows(authorizer.authorize(event), ARN)
    v1 = http_v1_event(token())
    v1["identitySource"] = "someone-else"
    assert not iam_allows(authorizer.authorize(v1), ARN)


def test_the_event_partition_is_kept(make_authorizer, token):
    arn = "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3d4e5/prod/GET/hello"
    response = make_authorizer(routes=ROUTES).authorize(http_v2_event(token(), arn=arn))
    resources = [s["Resource"] for s in response["policyDocument"]["Statement"]]
    assert resources[0] == "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3d4e5/prod/*"
    assert all(r.startswith("arn:aws-cn:execute-api:cn-north-1:") for r in resources)


def test_default_route_rule_not_met_denies_the_whole_stage(make_authorizer, token):
    # $default cannot be written as an ARN pattern; denying the stage is the safe reading.
    response = make_authorizer(routes={"$default": ["x"]}).authorize(http_v2_event(token(), route_key="$default"))
    assert not iam_allows(response, f"{STAGE}/GET/anything")


def test_principal_is_sub_else_client_id(make_authorizer, token):
    response = make_authorizer().authorize(http_v2_event(token(sub=None, aud=None, client_id="api")))
    assert response["principalId"] == "api"


def test_a_valid_token_with_an_unusable_arn_is_denied(make_authorizer, token):
    response = make_authorizer().authorize(http_v2_event(token(), arn="arn:aws:s3:::bucket"))
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"}]


# --- where the token comes from ---------------------------------------------------------------------------
def test_token_is_read_bare_or_bearer_in_any_case(make_authorizer, token):
    authorizer = make_authorizer()
    t = token()
    for header in (t, f"Bearer {t}", f"bearer {t}", f"BEARER  {t} "):
        assert iam_allows(authorizer.authorize(http_v2_event(headers={"authorization": header})), ARN), header
    for header in ("Bearer", "Bearer ", f"Basic {t}", f"Bearer {t} extra", ""):
        assert not iam_allows(authorizer.authorize(http_v2_event(headers={"authorization": header})), ARN), header


def test_the_token_cookie_is_used_when_no_authorization_header_is_sent(make_authorizer, token):
    authorizer = make_authorizer(AUTH_TOKEN_COOKIE="psg_auth_token")
    t = token()
    assert iam_allows(authorizer.authorize(http_v2_event(cookies=["theme=dark", f"psg_auth_token={t}"])), ARN)
    rest = rest_request_event(None)
    rest["headers"] = {"Cookie": f"a=1; psg_auth_token={t}"}
    assert iam_allows(authorizer.authorize(rest), ARN)
    assert not iam_allows(authorizer.authorize(http_v2_event(cookies=[f"other={t}"])), ARN)
    assert not iam_allows(make_authorizer().authorize(http_v2_event(cookies=[f"psg_auth_token={t}"])), ARN)


# --- the claims context ---------------------------------------------------------------------------------
def test_context_encoding_keeps_scalars_encodes_lists_and_objects_and_drops_nulls_and_claims():
    context = encode_context({"sub": "u", "n": 3, "f": 1.5, "ok": False, "roles": ["a", "b"],
                              "tenants": {"t": {"r": [1]}}, "gone": None, "claims": {"x": 1}, "nan": float("nan")})
    assert context == {"sub": "u", "n": 3, "f": 1.5, "ok": False, "roles": '["a","b"]', "tenants": '{"t":{"r":[1]}}'}
    assert json.loads(context["tenants"]) == {"t": {"r": [1]}}


def test_method_arn_parsing():
    arn = MethodArn.parse("arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc123/$default/ANY/a/b")
    assert (arn.partition, arn.stage, arn.verb, arn.path) == ("aws-us-gov", "$default", "ANY", "/a/b")
    assert arn.route_resource("ANY /") == "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc123/$default/*/"
    for bad in (None, 5, "", "arn:aws:execute-api:r:123:abc", "arn:aws:execute-api:r:12345678901x:a/s/GET/x"):
        assert MethodArn.parse(bad) is None


# --- every ARN form API Gateway sends (reference/aws-api-gateway.md) ------------------------------------------------
CONSOLE_ARN = "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/"  # the console's test events


@pytest.mark.parametrize("arn, stage_prefix", [
    (CONSOLE_ARN, "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*"),
    ("arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/$default",
     "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod"),
    ("arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/$default",
     "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default"),
    ("arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/files/a*b?c/%2F%65",
     "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod"),
])
def test_every_arn_form_gets_allow_on_its_stage_and_deny_on_its_stage(make_authorizer, token, arn, stage_prefix):
    assert MethodArn.parse(arn).stage_prefix == stage_prefix
    authorizer = make_authorizer()
    for event in (http_v2_event(token(), arn=arn), http_v1_event(token(), arn=arn),
                  rest_token_event(token(), arn=arn), rest_request_event(token(), arn=arn)):
        allowed = authorizer.authorize(event)
        assert allowed["policyDocument"]["Statement"] == [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{stage_prefix}/*"}]
        assert iam_allows(allowed, arn)
    for event in (http_v2_event("not-a-token", arn=arn), http_v1_event("not-a-token", arn=arn)):
        denied = authorizer.authorize(event)
        assert denied["policyDocument"]["Statement"] == [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{stage_prefix}/*"}]
    for event in (rest_token_event("not-a-token", arn=arn), rest_request_event(None, arn=arn)):
        with pytest.raises(Unauthorized):
            authorizer.authorize(event)


def test_a_console_test_event_still_denies_unmet_routes_on_every_stage(make_authorizer, token):
    response = make_authorizer(routes=ROUTES).authorize(rest_token_event(token(), arn=CONSOLE_ARN))
    stage = "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b"
    assert iam_allows(response, f"{stage}/prod/GET/hello")
    assert not iam_allows(response, f"{stage}/prod/GET/orders")
    assert not iam_allows(response, f"{stage}/dev/POST/orders/7")


# --- one meaning of a rule in both answer kinds (issue 17) ----------------------------------------------------------
def decided(authorizer, event, mode: str, arn: str) -> bool:
    response = authorizer.authorize(event)
    return response["isAuthorized"] if mode == "simple" else iam_allows(response, arn)


@pytest.mark.parametrize("mode", ["iam", "simple"])
def test_a_rule_applies_to_the_requests_api_gateway_matched_to_its_route_in_simple_and_iam_answers(make_authorizer,
                                                                                                   token, logs, mode):
    """A ``GET /orders`` rule is the rule of the route ``GET /orders``: a GET that API Gateway matched to
    ``ANY /orders`` (an API without a ``GET /orders`` route) is decided by ``ANY /orders``'s rule, in both kinds."""
    authorizer = make_authorizer(routes={"GET /orders": ["orders:read"]}, AUTH_RESPONSE=mode)
    reader, other = token(scope="orders:read"), token(scope="profile")
    arn = f"{STAGE}/GET/orders"
    assert decided(authorizer, http_v2_event(other, route_key="ANY /orders", arn=arn, per_route=True), mode, arn)
    assert not decided(authorizer, http_v2_event(other, route_key="GET /orders", arn=arn, per_route=True), mode, arn)
    assert decided(authorizer, http_v2_event(reader, route_key="GET /orders", arn=arn, per_route=True), mode, arn)
    # Cached by the token alone, neither kind can hold to that: the IAM answer must carry GET /orders's Deny (which
    # covers this request), a simple one says nothing about its route. Both refuse, with the same reason.
    assert not decided(authorizer, http_v2_event(other, route_key="ANY /orders", arn=arn), mode, arn)
    reasons = [r["reason"] for r in logs.records() if r["message"] == "denied"]
    assert reasons == ["insufficient_scope", "cache_key_too_wide"]


def test_a_simple_answer_with_route_rules_is_refused_when_it_may_be_reused_on_any_route(make_authorizer, token, logs):
    """Cached by the token alone, ``isAuthorized: true`` for ``GET /hello`` would be reused on ``GET /orders``."""
    authorizer = make_authorizer(routes={"GET /orders": ["orders:read"]}, AUTH_RESPONSE="simple")
    assert authorizer.authorize(http_v2_event(token(), route_key="GET /hello")) == {"isAuthorized": False}
    assert authorizer.authorize(http_v2_event(token(), route_key="GET /hello", per_route=True))["isAuthorized"]
    assert make_authorizer(AUTH_RESPONSE="simple").authorize(http_v2_event(token()))["isAuthorized"]  # no rules
    assert [r["reason"] for r in logs.records() if r["message"] == "denied"] == ["cache_key_too_wide"]
