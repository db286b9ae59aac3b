"""Cost per request of a tenant route, by how many tenants the token holds.

The handler (``authorizer.handler.handler`` as Lambda runs it, metrics on, as in ``latency``) answers
``GET /tenants/{tenantId}/orders`` for Descope-shaped RS256 tokens whose ``tenants`` claim holds 1, 10 or 100 tenants
(``{"T2…": {"roles": ["admin"], "permissions": ["orders:read"]}}``, plus ``dct``), each event's path naming one of
them. Four handlers, each cold-started once, answer the same events:

| handler         | ``AUTH_ROUTES``: the tenant route                  | ``AUTH_RESPONSE``                            |
|-----------------|----------------------------------------------------|----------------------------------------------|
| iam, without    | ``{}`` (a valid token only)                        | ``iam``: the usual policy                    |
| iam, with       | ``{"tenant": {"param": "tenantId", "roles": ["admin"]}}`` | ``iam``: the decided tenant's resource alone |
| simple, without | ``{}``                                             | ``simple``                                   |
| simple, with    | the tenant rule                                    | ``simple``: the decision, no policy          |

Both configurations also hold the latency benchmark's unmet ``DELETE /orders/{id}`` rule, and both see the same
tokens and events, so the difference is what the tenant rule costs: reading the claim, the decision, the three
``authorized_tenant*`` context keys and, in IAM mode, the policy. The events name the request id among the identity
sources, as the construct's tenant-route authorizer does, so the answer is never reused: it allows the requested
tenant's resource alone, and the claim is read for that tenant only, however many the token holds (every tenant
qualifies, so a cacheable answer would list min(N, ``MAX_POLICY_TENANTS``) of them).

Token modes as in ``latency``: *distinct* (every call verifies a new token) and *repeated* (one token: the
verified-token cache answers, and what is left is the decision and the response). Repeated is the usual case on a
tenant route: the construct decides tenant routes without API Gateway's result cache, so a warm function sees the
same caller's token on every request.

One cell is judged (``targets``): 10 tenants, distinct tokens, IAM responses — the route with its rule over the
same route without it, p50. Each (tenants, token mode) cell records whether the machine was otherwise idle
(``idle``), as the latency part does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from authorizer.policy import TENANT_CONTEXT_KEYS
from authorizer.tenancy import MAX_POLICY_TENANTS

from .idle import IdleWatch
from .latency import TOKEN_MODES, _handler_call, _quiet, handler_module
from .scenario import BenchIssuer, http_api_event
from .timing import summary, time_interleaved

TENANT_ROUTE = "GET /tenants/{tenantId}/orders"
TENANT_RULE = {"param": "tenantId", "roles": ["admin"]}
#: The latency benchmark's route rule, unmet by the bench tokens: a Deny in every policy, as there.
OTHER_ROUTES: dict[str, Any] = {"DELETE /orders/{id}": ["orders:admin"]}
TENANT_COUNTS = (1, 10, 100)
RESPONSES = ("iam", "simple")
RULES = ("without", "with")  # the tenant route without, then with, its tenant rule
ALG = "RS256"


def tenant_ids(count: int) -> list[str]:
    """``count`` tenant IDs shaped like Descope's (``T2`` and 26 more characters), the same in every run."""
    return ["T2" + hashlib.sha256(str(index).encode()).hexdigest()[:26] for index in range(count)]


def descope_tenants(ids: list[str]) -> dict[str, Any]:
    """Descope's ``tenants`` claim: tenant ID → the user's roles and permissions there (here, admin everywhere)."""
    return {tenant: {"roles": ["admin"], "permissions": ["orders:read"]} for tenant in ids}


def routes(rule: str) -> dict[str, Any]:
    """``AUTH_ROUTES`` with the tenant route ``without`` or ``with`` its tenant rule."""
    return {**OTHER_ROUTES, TENANT_ROUTE: {"tenant": TENANT_RULE} if rule == "with" else {}}


def measure_tenant_routes(issuer: BenchIssuer, *, samples: int = 4000, warmup: int = 300, block: int = 250,
                          counts: tuple[int, ...] = TENANT_COUNTS) -> dict[str, Any]:
    """Rows of p50/p99 per (tenants in the token, response mode, with/without the rule, token mode)."""
    handlers: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {}
    for response in RESPONSES:
        for rule in RULES:
            environment = {**issuer.environment(), "AUTH_ROUTES": json.dumps(routes(rule)),
                           "AUTH_RESPONSE": response}
            with handler_module(environment) as module:
                pass  # a cold start of its own; the module keeps its configuration after its environment is gone
            handlers[response, rule] = _handler_call(module)
    rows: list[dict[str, Any]] = []
    idle: dict[str, dict[str, Any]] = {}
    token_bytes: dict[str, int] = {}
    for count in counts:
        ids = tenant_ids(count)
        requested = ids[count // 2]
        tokens = issuer.mint_many(ALG, samples + warmup, tenants=descope_tenants(ids), dct=requested)
        token_bytes[str(count)] = len(tokens[0])
        for mode in TOKEN_MODES:
            inputs = tokens if mode == "distinct" else [tokens[0]] * len(tokens)
            measured, idle[f"{count} {mode}"] = _measure_one(count, mode, requested, inputs, handlers, warmup, block)
            rows += measured
    return {"unit": "microseconds", "alg": ALG, "route": TENANT_ROUTE, "tenant_rule": TENANT_RULE,
            "other_routes": OTHER_ROUTES, "max_policy_tenants": MAX_POLICY_TENANTS,
            "samples_per_row": samples, "warmup_calls": warmup, "token_bytes": token_bytes,
            "tokens": "Descope-shaped: tenants {id: {roles: [admin], permissions: [orders:read]}} and dct; "
                      "the path names the middle tenant",
            "method": "as the latency part: time.perf_counter_ns around each call, GC off while timing, the four "
                      f"handlers interleaved in blocks of {block} on the same events",
            "rows": rows, "idle": idle}


def _measure_one(count: int, mode: str, requested: str, tokens: list[str],
                 handlers: dict[tuple[str, str], Callable[[dict[str, Any]], Any]], warmup: int,
                 block: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    timed: dict[str, Any] = {}
    measured: dict[tuple[str, str], dict[str, Any]] = {}
    for (response, rule), call in handlers.items():
        events = [http_api_event(token, TENANT_ROUTE, {"tenantId": requested}, per_request=True) for token in tokens]
        with _quiet():
            answer = call(events[0])  # untimed: the answer must be right before it is timed
        problem = _problem(answer, requested if rule == "with" else None)
        measured[response, rule] = {"error": problem} if problem else _shape(answer)
        if problem is None:
            timed[f"{response} {rule}"] = (call, events)
    with _quiet(), IdleWatch() as idle:
        samples = time_interleaved(timed, block=block, warmup=warmup)
    for name, values in samples.items():
        response, rule = name.split(" ")
        measured[response, rule].update(summary(values))
    rows = []
    for (response, rule), row in measured.items():
        without = measured[response, "without"]
        if rule == "with" and "p50_us" in row and "p50_us" in without:
            row["rule_cost_p50_us"] = round(row["p50_us"] - without["p50_us"], 2)
            row["rule_ratio_p50"] = round(row["p50_us"] / without["p50_us"], 3)
        rows.append({"tenants": count, "tokens": mode, "response": response, "rule": rule, **row})
    return rows, idle.verdict


def _problem(answer: Any, tenant: str | None) -> str | None:
    """Why an answer is not an Allow for this request (with the rule: naming its tenant in the context), or None."""
    if not isinstance(answer, dict):
        return f"fails: the handler answered {type(answer).__name__}"
    allowed = answer.get("isAuthorized") is True or any(
        s.get("Effect") == "Allow" for s in answer.get("policyDocument", {}).get("Statement", []))
    if not allowed:
        return "fails: the handler did not allow a valid token on one of its tenants"
    if tenant is not None and answer.get("context", {}).get(TENANT_CONTEXT_KEYS[0]) != tenant:
        return "fails: the context does not name the request's tenant"
    return None


def _shape(answer: dict[str, Any]) -> dict[str, Any]:
    """What the answer weighs: its JSON bytes, and for a policy how many resources it allows."""
    shape: dict[str, Any] = {"response_bytes": len(json.dumps(answer))}
    if "policyDocument" in answer:
        allows = [s["Resource"] for s in answer["policyDocument"]["Statement"] if s.get("Effect") == "Allow"]
        shape["allowed_resources"] = sum(len(r) if isinstance(r, list) else 1 for r in allows)
    return shape
