"""The Node contenders (aws-jwt-verify from npm, a node:crypto floor) run in their child process, verify the bench
issuer's real tokens, report per-call timings, and interleave with Python contenders using each token once."""

from __future__ import annotations

import pytest

from bench.node_contender import CONTENDERS, NodeContenderError, NodeContenders
from bench.timing import local_runner, time_blocks


@pytest.fixture(scope="module")
def node(issuer):
    with NodeContenders() as started:
        started.setup(issuer=issuer.issuer, audience=issuer.audience, jwks_uri=issuer.jwks_url, jwks=issuer.jwks())
        yield started


def test_node_runs_the_pinned_aws_jwt_verify(node):
    assert node.versions["aws-jwt-verify"].startswith("5.") and node.versions["node"].startswith("v")
    assert node.pid is not None


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_both_node_contenders_verify_real_tokens_and_time_each_call(issuer, node, alg):
    tokens = issuer.mint_many(alg, 6)
    node.load(f"{alg} smoke", tokens)
    for contender in CONTENDERS:
        assert node.check(contender, f"{alg} smoke") is None
        run = node.runner(contender, f"{alg} smoke")
        assert run(0, 2, False) == []
        timed = run(2, 6, True)
        assert len(timed) == 4 and all(ns > 0 for ns in timed)


def test_a_forged_signature_fails_in_both_node_contenders(issuer, node):
    token = issuer.mint("RS256")
    head, payload, signature = token.split(".")
    forged = ".".join((head, payload, ("A" if signature[0] != "A" else "B") + signature[1:]))
    node.load("forged", [forged])
    for contender in CONTENDERS:
        assert (node.check(contender, "forged") or "").startswith("fails:")
    with pytest.raises(NodeContenderError):
        node.runner("aws_jwt_verify", "forged")(0, 1, True)


def test_an_audience_aws_jwt_verify_was_not_given_is_refused(issuer, node):
    node.load("other audience", [issuer.dev.mint("oidc", alg="RS256", audience="another-api", expires_in=600,
                                                 claims={"iss": issuer.issuer})])
    assert "aud" in (node.check("aws_jwt_verify", "other audience") or "").lower()
    assert node.check("node_floor", "other audience") is None  # the floor checks no claims, by design


def test_interleaving_uses_each_token_once_per_contender_in_both_processes(issuer, node):
    tokens = issuer.mint_many("RS256", 23)
    node.load("interleaved", tokens)
    seen: list[str] = []
    runners = {"python": local_runner(seen.append, tokens),
               **{name: node.runner(name, "interleaved") for name in CONTENDERS}}
    samples = time_blocks(runners, len(tokens), block=4, warmup=3)
    assert {name: len(values) for name, values in samples.items()} == {name: 20 for name in runners}
    assert seen == tokens
    for name in CONTENDERS:
        assert node.uses(name, "interleaved") == [1] * len(tokens)
