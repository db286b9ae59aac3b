"""Warm latency, p50 and p99, of one authorization: ours against the physical floor and the usual alternatives.

Contenders, each given the same RS256-2048 or ES256 tokens (all distinct, or one token repeated):

- ``floor``: split, base64url-decode and ``json.loads`` header and payload, one ``cryptography`` verify with a key
  built once;
- ``handler``: ``authorizer.handler.handler(event, context)``, ours as Lambda runs it (environment configuration,
  EMF metrics written to a stdout that flushes every write, as Lambda's does: ``lambda_stdout``; the policy);
- ``handler_no_metrics``: the same with ``POWERTOOLS_METRICS_DISABLED=true``, to show what the EMF document costs;
- ``verifier``: ``TokenVerifier.verify_token(token)``, our verification core alone (informational);
- ``jose_naive``: ``jose.jwt.decode(token, jwks_dict, ...)``, the naive python-jose authorizer;
- ``pyjwt``: ``PyJWKClient(jwks_url).get_signing_key_from_jwt`` + ``jwt.decode``, PyJWT's documented recipe;
- ``powertools``: Powertools ``utilities.auth_alpha.JWTVerifier(..., jwks=...).verify``, when installable;
- ``aws_jwt_verify``: awslabs/aws-jwt-verify's ``verifySync`` in Node, the JWKS cached in advance, and
  ``node_floor``, the same floor in ``node:crypto`` (``node_contender``: one Node child, its blocks interleaved
  with ours on the same tokens).

The floor does what no verifier can skip (decode, parse, one signature check) and nothing else: no claim checks,
no response. Ratios are to the floor's p50/p99 on the same tokens in the same run (for the Node contenders, to the
Node floor's); ``side_by_side`` sets ours beside aws-jwt-verify. Each cell (algorithm, token mode) records whether
the rest of the machine was idle while it ran (``idle``): a busy cell is reported, not judged.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, TextIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .idle import OTHER_CPU_LIMIT, IdleWatch
from .lambda_stdout import lambda_stdout
from .node_contender import CONTENDERS as NODE_CONTENDERS
from .node_contender import NodeContenders, NodeUnavailable
from .scenario import ALGORITHMS, BenchIssuer, LambdaContext, http_api_event
from .timing import BlockRunner, local_runner, summary, time_blocks

CONTENDERS = {
    "floor": "floor: cryptography verify + JSON parse",
    "handler": "ours: authorizer.handler.handler",
    "handler_no_metrics": "ours, metrics off (POWERTOOLS_METRICS_DISABLED)",
    "verifier": "ours: TokenVerifier.verify_token only",
    "jose_naive": "python-jose naive: jwt.decode(token, JWKS dict)",
    "pyjwt": "PyJWT + PyJWKClient",
    "powertools": "Powertools auth_alpha JWTVerifier",
    **NODE_CONTENDERS,
}
TOKEN_MODES = ("distinct", "repeated")
_CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}


# --- the floor ------------------------------------------------------------------------------------------------
def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _integer(member: str) -> int:
    return int.from_bytes(_b64url(member), "big")


class BareVerifier:
    """The floor: what any verifier must do, with keys built once. Raises on a bad signature; no claim checks."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.keys: dict[str, Any] = {}
        for jwk in jwks["keys"]:
            if jwk.get("kty") == "RSA":
                self.keys[jwk["kid"]] = rsa.RSAPublicNumbers(_integer(jwk["e"]), _integer(jwk["n"])).public_key()
            elif jwk.get("kty") == "EC":
                curve = _CURVES[jwk["crv"]]
                self.keys[jwk["kid"]] = ec.EllipticCurvePublicNumbers(
                    _integer(jwk["x"]), _integer(jwk["y"]), curve).public_key()

    def __call__(self, token: str) -> dict[str, Any]:
        header_segment, claims_segment, signature_segment = token.split(".")
        header = json.loads(_b64url(header_segment))
        claims = json.loads(_b64url(claims_segment))
        signature = _b64url(signature_segment)
        key = self.keys[header["kid"]]
        signing_input = f"{header_segment}.{claims_segment}".encode("ascii")
        if header["alg"] == "RS256":
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:  # ES256: JWS carries r || s; cryptography wants DER
            half = len(signature) // 2
            r, s = int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
            der = encode_dss_signature(r, s)
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        return claims


# --- the alternatives users would pick ------------------------------------------------------------------------
def jose_naive(jwks: dict[str, Any], issuer: str, audience: str) -> Callable[[str], Any]:
    from jose import jwt

    def verify(token: str) -> dict[str, Any]:
        return jwt.decode(token, jwks, algorithms=list(ALGORITHMS), audience=audience, issuer=issuer)

    return verify


def pyjwt_client(jwks_url: str, issuer: str, audience: str) -> Callable[[str], Any]:
    import jwt

    client = jwt.PyJWKClient(jwks_url)  # defaults: the JWK set is cached for 300 s

    def verify(token: str) -> dict[str, Any]:
        key = client.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=list(ALGORITHMS), audience=audience, issuer=issuer)

    return verify


def powertools_verifier(jwks: dict[str, Any], issuer: str, audience: str) -> Callable[[str], Any]:
    """Static ``jwks``: its ``jwks_uri`` must be https, and the keys are the same either way."""
    from aws_lambda_powertools.utilities.auth_alpha import JWTVerifier  # ImportError without PyJWT: not installable

    return JWTVerifier(issuer=issuer, audience=audience, algorithms=list(ALGORITHMS), jwks=jwks).verify


# --- ours -----------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def handler_module(environment: dict[str, str]) -> Iterator[ModuleType]:
    """``authorizer.handler`` imported afresh under ``environment`` (a cold start), restored afterwards."""
    saved = {name: os.environ.get(name) for name in environment}
    previous = sys.modules.pop("authorizer.handler", None)
    os.environ.update(environment)
    try:
        with _quiet():  # cold-start log lines
            module = importlib.import_module("authorizer.handler")
        yield module
    finally:
        sys.modules.pop("authorizer.handler", None)
        if previous is not None:
            sys.modules["authorizer.handler"] = previous
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """stdout as Lambda's (``lambda_stdout``: each write reaches /dev/null's descriptor at once): the handler writes
    one EMF document per invocation, in Lambda to the runtime's log pipe."""
    with contextlib.redirect_stdout(_lambda_sink()):
        yield


@functools.cache
def _lambda_sink() -> TextIO:
    """One sink, never closed: Powertools' ``Logger`` keeps the stream it finds at import (inside ``_quiet``) and
    writes every later log line to it — a warning per request must not meet a closed file."""
    return lambda_stdout()  # open for the life of the process, on purpose


def standalone_verifier(module: ModuleType) -> Callable[[str], Any]:
    """A ``TokenVerifier`` configured like the handler's but with caches of its own.

    Its own remembered-token cache matters: sharing the handler's would let whichever ran second on a distinct
    token hit the cache.
    """
    from authorizer.fetch import JsonFetcher
    from authorizer.verifier import TokenVerifier

    config = module.CONFIG
    verifier = TokenVerifier(config.issuers, fetcher=JsonFetcher(timeout=config.jwks_timeout_seconds),
                             leeway=config.leeway_seconds, max_age=config.jwks_max_age_seconds,
                             cooldown=config.jwks_cooldown_seconds, max_stale=config.jwks_max_stale_seconds)
    verifier.prefetch()
    return verifier.verify_token


def _handler_call(module: ModuleType) -> Callable[[dict[str, Any]], Any]:
    handler, context = module.handler, LambdaContext()
    return lambda event: handler(event, context)


def _allows(response: Any) -> bool:
    if not isinstance(response, dict):
        return False
    statements = response.get("policyDocument", {}).get("Statement", [])
    return any(s.get("Effect") == "Allow" for s in statements) or response.get("isAuthorized") is True


# --- the measurement ------------------------------------------------------------------------------------------
def measure_latency(issuer: BenchIssuer, *, samples: int = 4000, warmup: int = 300, block: int = 250,
                    contenders: tuple[str, ...] = tuple(CONTENDERS)) -> dict[str, Any]:
    """Rows of p50/p99 per (algorithm, token mode, contender) with ratios to their floor, the side-by-side
    comparison with aws-jwt-verify per cell, and whether the machine was otherwise idle while each cell ran."""
    jwks = issuer.jwks()
    rows: list[dict[str, Any]] = []
    idle: dict[str, dict[str, Any]] = {}
    environment = issuer.environment()
    quiet_environment = {**environment, "POWERTOOLS_METRICS_DISABLED": "true",
                         "POWERTOOLS_SERVICE_NAME": environment["POWERTOOLS_SERVICE_NAME"] + "-no-metrics"}
    with handler_module(quiet_environment) as quiet_module:
        pass  # a second, independent cold start; the module keeps its configuration after its environment is gone
    wanted_node = [name for name in contenders if name in NODE_CONTENDERS]
    with handler_module(environment) as module, _node(issuer, jwks, wanted_node) as (node, node_problem):
        builders: dict[str, Callable[[], tuple[Callable[[Any], Any], Callable[[str], Any]]]] = {
            "floor": lambda: (BareVerifier(jwks), _same),
            "handler": lambda: (_handler_call(module), http_api_event),
            "handler_no_metrics": lambda: (_handler_call(quiet_module), http_api_event),
            "verifier": lambda: (standalone_verifier(module), _same),
            "jose_naive": lambda: (jose_naive(jwks, issuer.issuer, issuer.audience), _same),
            "pyjwt": lambda: (pyjwt_client(issuer.jwks_url, issuer.issuer, issuer.audience), _same),
            "powertools": lambda: (powertools_verifier(jwks, issuer.issuer, issuer.audience), _same),
        }
        ready: dict[str, tuple[Callable[[Any], Any], Callable[[str], Any]]] = {}
        unavailable: dict[str, str] = {name: f"skipped: {node_problem}" for name in wanted_node if node_problem}
        for name in contenders:
            if name in builders:
                try:
                    ready[name] = builders[name]()
                except ImportError as problem:
                    unavailable[name] = f"skipped: not installable here ({problem})"
        cell = _Cell(ready, [] if node is None else wanted_node, node, unavailable, warmup, block)
        for alg in ALGORITHMS:
            tokens = issuer.mint_many(alg, samples + warmup)
            for mode in TOKEN_MODES:
                inputs = tokens if mode == "distinct" else [tokens[0]] * len(tokens)
                measured, idle[f"{alg} {mode}"] = cell.measure(alg, mode, inputs)
                rows += measured
    return {"unit": "microseconds", "samples_per_row": samples, "warmup_calls": warmup,
            "gc": "Python: disabled while timing, collected between rounds; Node: V8's own (it cannot be "
                  "switched off), no forced collection",
            "method": "Python: time.perf_counter_ns around each call; Node: process.hrtime.bigint() around each "
                      f"call in one long-lived child; all contenders interleaved in blocks of {block}, each "
                      "distinct token used once per contender",
            "stdout": "Lambda-like: awslambdaric's Unbuffered over /dev/null, one write(2) per EMF document",
            "node": node_problem or (node.versions if node else "not asked for"),
            "idle_limit": f"other processes <= {OTHER_CPU_LIMIT:.0%} of one core while a cell runs",
            "contenders": {name: CONTENDERS[name] for name in contenders}, "rows": rows, "idle": idle,
            "side_by_side": side_by_side(rows, idle)}


@contextlib.contextmanager
def _node(issuer: BenchIssuer, jwks: dict[str, Any],
          wanted: list[str]) -> Iterator[tuple[NodeContenders | None, str | None]]:
    """The Node child, set up for the bench issuer, or None and why not (no node, aws-jwt-verify not installed)."""
    if not wanted:
        yield None, None
        return
    try:
        node = NodeContenders().start()
    except NodeUnavailable as problem:
        yield None, str(problem)
        return
    try:
        node.setup(issuer=issuer.issuer, audience=issuer.audience, jwks_uri=issuer.jwks_url, jwks=jwks)
        yield node, None
    finally:
        node.close()


def _same(token: str) -> str:
    return token


class _Cell:
    """Times one (algorithm, token mode) cell: every ready contender on the same tokens, interleaved."""

    def __init__(self, ready: dict[str, Any], node_names: list[str], node: NodeContenders | None,
                 unavailable: dict[str, str], warmup: int, block: int) -> None:
        self.ready, self.node_names, self.node, self.unavailable = ready, node_names, node, unavailable
        self.warmup, self.block = warmup, block

    def measure(self, alg: str, mode: str, tokens: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        runners: dict[str, BlockRunner] = {}
        rows: dict[str, dict[str, Any]] = {}
        for name, (call, prepare) in self.ready.items():
            inputs = [prepare(token) for token in tokens]
            problem = _check(name, call, inputs[0])
            if problem is None:
                runners[name] = local_runner(call, inputs)
            else:
                rows[name] = {"error": problem}
        if self.node is not None:
            token_set = f"{alg} {mode}"
            self.node.load(token_set, tokens)
            for name in self.node_names:
                problem = self.node.check(name, token_set)
                if problem is None:
                    runners[name] = self.node.runner(name, token_set)
                else:
                    rows[name] = {"error": problem}
        with _quiet(), IdleWatch(watch=[self.node.pid if self.node else None]) as idle:
            samples = time_blocks(runners, len(tokens), block=self.block, warmup=self.warmup)
        for name, values in samples.items():
            rows[name] = summary(values)
        result = []
        for name in list(self.ready) + self.node_names + list(self.unavailable):
            row = {"alg": alg, "tokens": mode, "contender": name}
            row.update(rows.get(name) or {"error": self.unavailable.get(name, "not measured")})
            floor_name = "node_floor" if name in NODE_CONTENDERS else "floor"
            floor = rows.get(floor_name, {})
            if "p50_us" in row and "p50_us" in floor:
                row["floor"] = floor_name
                row["ratio_p50"] = round(row["p50_us"] / floor["p50_us"], 3)
                row["ratio_p99"] = round(row["p99_us"] / floor["p99_us"], 3)
            result.append(row)
        return result, idle.verdict


#: The side-by-side ratios: (name, numerator contender, denominator contender).
SIDE_BY_SIDE = (("handler / aws-jwt-verify", "handler", "aws_jwt_verify"),
                ("handler / cryptography floor", "handler", "floor"),
                ("aws-jwt-verify / node floor", "aws_jwt_verify", "node_floor"))


def side_by_side(rows: list[dict[str, Any]], idle: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per cell: ours, aws-jwt-verify and both floors (p50/p99), their ratios, and the cell's idle verdict."""
    cells = {(r["alg"], r["tokens"], r["contender"]): r for r in rows}
    result = []
    for alg in ALGORITHMS:
        for mode in TOKEN_MODES:
            entry: dict[str, Any] = {"alg": alg, "tokens": mode, "idle": idle.get(f"{alg} {mode}", {})}
            for name in ("handler", "floor", "aws_jwt_verify", "node_floor"):
                row = cells.get((alg, mode, name), {})
                if "p50_us" in row:
                    entry[name] = {"p50_us": row["p50_us"], "p99_us": row["p99_us"]}
            for label, top, bottom in SIDE_BY_SIDE:
                if top in entry and bottom in entry:
                    entry[label] = {q: round(entry[top][f"{q}_us"] / entry[bottom][f"{q}_us"], 3)
                                    for q in ("p50", "p99")}
            if any(name in entry for name in ("handler", "aws_jwt_verify")):
                result.append(entry)
    return result


def _check(name: str, call: Callable[[Any], Any], item: Any) -> str | None:
    """One untimed call: a contender that cannot verify the token is reported, not timed."""
    try:
        with _quiet():
            result = call(item)
    except Exception as problem:  # e.g. python-jose trying an RSA key on an ES256 token
        return f"fails: {type(problem).__name__}: {str(problem)[:120]}"
    if name.startswith("handler") and not _allows(result):
        return "fails: the handler did not allow a valid token"
    return None
