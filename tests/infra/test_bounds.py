"""The construct's default function timeout covers the authorizer's worst bounded waits (``authorizer/bounds.py``,
docs/operating.md), with margin: a request or a cold start that waits on a hung IdP or SSM still ends in an answer,
never in Lambda's timeout (a 500 from API Gateway)."""

from __future__ import annotations

from authorizer.bounds import cold_start_seconds, warm_request_seconds
from authorizer.config import MAX_JWKS_TIMEOUT_SECONDS

from .conftest import Synthesized

#: What the authorizer's own work adds to its waits, generously: imports at cold start, a few verifications.
OWN_WORK_SECONDS = 1.5


def authorizer_timeout(stack: Synthesized) -> int:
    (function,) = [r["Properties"] for r in stack.resources("AWS::Lambda::Function").values()
                   if r["Properties"]["Handler"] == "authorizer.handler.handler"]
    return function["Timeout"]


def test_the_default_timeout_covers_a_warm_request_at_its_worst_even_at_the_longest_jwks_timeout(lambda_stack):
    assert authorizer_timeout(lambda_stack) >= warm_request_seconds(MAX_JWKS_TIMEOUT_SECONDS) + OWN_WORK_SECONDS


def test_a_cold_start_at_its_worst_stays_within_lambdas_init_phase(lambda_stack):
    """Lambda gives an on-demand function's init 10 s; past that it is retried inside the invocation."""
    assert cold_start_seconds(MAX_JWKS_TIMEOUT_SECONDS) + OWN_WORK_SECONDS <= 10
    assert authorizer_timeout(lambda_stack) >= cold_start_seconds(1.5) + OWN_WORK_SECONDS
