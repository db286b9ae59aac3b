"""The Lambda entry point, ``authorizer.handler.handler``.

Configuration is read and validated at import, once per cold start: an invalid ``AUTH_*`` variable fails the
cold start with a message naming it, so a misconfigured authorizer never answers (API Gateway returns 500).
With ``AUTH_CONFIG_PARAMETER`` the issuers and routes come from SSM instead (``remote_config.py``): read here,
re-read after ``AUTH_CONFIG_MAX_AGE_SECONDS``; a bad parameter is logged and denies, it never fails a request.
Keys are prefetched here too; a prefetch failure is logged and the first request tries again.

Each invocation writes one EMF metrics document (``observability.py``). What a warm request does not need —
boto3 and Powertools parameters, the X-Ray SDK — is imported only when configured.
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger

from .authorize import Authorizer, Unauthorized
from .config import AuthorizerConfig, load_config
from .crypto_backend import require_cryptography_backend
from .errors import ConfigError
from .events import HTTP_V2, REST_REQUEST, REST_TOKEN, read_event
from .observability import DecisionMetrics, make_fetcher, service_name, start_tracer
from .policy import deny_policy
from .text import log_fields
from .verifier import TokenVerifier

logger = Logger(service=service_name(os.environ))
METRICS = DecisionMetrics.from_environment(os.environ)
TRACER = start_tracer(os.environ, logger)  # None unless tracing is enabled in Lambda


class StaticConfig:
    """The configuration of the environment: one Authorizer for the life of the process."""

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def current(self) -> Authorizer:
        return self.authorizer


def _cold_start() -> tuple[AuthorizerConfig, Any]:
    try:
        config = load_config(os.environ)
        max_age = _parameter_max_age(config)
    except ConfigError as problem:
        logger.error("invalid authorizer configuration", **log_fields({"field": problem.field,
                                                                       "problem": problem.problem}))
        raise
    fetcher = make_fetcher(config.jwks_timeout_seconds, TRACER)  # one connection pool across rebuilds

    def jwks_log(message: str, **fields: Any) -> None:
        logger.warning(message, **fields)

    def build(config: AuthorizerConfig) -> Authorizer:
        verifier = TokenVerifier(config.issuers, fetcher=fetcher, leeway=config.leeway_seconds,
                                 max_age=config.jwks_max_age_seconds, cooldown=config.jwks_cooldown_seconds,
                                 max_stale=config.jwks_max_stale_seconds, log=jwks_log,
                                 on_fetch=METRICS.on_fetch)
        return Authorizer(config, verifier=verifier, logger=logger, observe=METRICS.observe)

    if not config.config_parameter:
        return config, StaticConfig(build(config))
    from .remote_config import RemoteConfig

    if "AUTH_ISSUERS" in os.environ:
        logger.warning("AUTH_ISSUERS is ignored while AUTH_CONFIG_PARAMETER is set: issuers come from the parameter",
                       parameter=config.config_parameter)
    source = RemoteConfig(config, build, max_age=max_age or 60, read=_traced_read(), logger=logger,
                          on_failure=METRICS.config_refresh_failed, observe=METRICS.observe)
    source.refresh(cold=True)  # bounded: on failure every request is denied (config_unavailable) until a read works
    return config, source


def _parameter_max_age(config: AuthorizerConfig) -> int | None:
    if not config.config_parameter:
        return None
    from .remote_config import max_age_from

    return max_age_from(os.environ)


def _traced_read() -> Any:
    from .remote_config import ParameterReader

    read_parameter = ParameterReader()
    if TRACER is None:
        return read_parameter

    def read(name: str, max_age: int, cold: bool) -> Any:
        with TRACER.provider.in_subsegment("## config parameter"):
            return read_parameter(name, max_age, cold)

    return read


require_cryptography_backend()  # fails the cold start, before any key is built, if jose fell back to pure Python
CONFIG, CONFIG_SOURCE = _cold_start()
_prefetch_started = time.perf_counter()
try:
    CONFIG_SOURCE.current().prefetch()
except Exception:  # the caches log fetch failures themselves; nothing else may fail the cold start either
    logger.exception("JWKS prefetch failed; the first request tries again")
#: How long the cold start waited for the issuers' keys: network time, mostly, and worth seeing next to Init Duration.
PREFETCH_MS = (time.perf_counter() - _prefetch_started) * 1000.0
logger.info("JWKS prefetched", duration_ms=round(PREFETCH_MS, 1))


def current_authorizer() -> Authorizer:
    """The Authorizer for the configuration in force now (the environment's, or the parameter's)."""
    return CONFIG_SOURCE.current()


#: The authorizer's ``authorize`` when the configuration is the environment's, fixed for the life of the process;
#: else None, and each invocation asks the SSM source for the one in force.
_AUTHORIZE = CONFIG_SOURCE.authorizer.authorize if isinstance(CONFIG_SOURCE, StaticConfig) else None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        authorize = _AUTHORIZE or CONFIG_SOURCE.current().authorize
        return authorize(event, getattr(context, "aws_request_id", None))
    except Unauthorized:
        raise Exception("Unauthorized") from None  # REST: API Gateway answers 401 for exactly this message
    except Exception:  # fail closed: a bug must deny, never surface as a 500 or an Allow
        logger.exception("authorizer error; denying")
        shape = read_event(event).shape
        METRICS.observe("deny", "internal_error", shape)
        if shape in (REST_TOKEN, REST_REQUEST):
            raise Exception("Unauthorized") from None
        if shape == HTTP_V2 and CONFIG.response == "simple":
            return {"isAuthorized": False}
        return deny_policy(None)
    finally:
        METRICS.flush((time.perf_counter() - started) * 1000.0)
