"""Issuers and route rules from an SSM parameter, changed without a redeploy.

``AUTH_CONFIG_PARAMETER`` names a String parameter holding JSON::

    {"issuers": [<the AUTH_ISSUERS shapes>], "routes": {<the AUTH_ROUTES shape>}}

It is read through Powertools parameters (an ``SSMProvider``) at cold start and again once
``AUTH_CONFIG_MAX_AGE_SECONDS`` (default 60) have passed, and validated with the same functions as the environment
(a key given twice in one object is an error there too). Every read is bounded — 0.4 s to connect, 0.8 s per read,
one attempt on a warm refresh (at most about 1.2 s of a request; the last good configuration answers meanwhile, and
the read is tried again after ``RETRY_AFTER_FAILURE_SECONDS``) and two at cold start (about 3.4 s with botocore's
backoff) — where botocore's defaults (60 s per read, three attempts) would hold a request three minutes against a
hung endpoint. botocore bounds each socket operation, so the whole read is also waited for at most that long
(``ssm_read_seconds``): an endpoint that drips its answer byte by byte is given up on at the same bound. The rules that keep a bad parameter from ever widening access:

- an unreadable, non-JSON or invalid value keeps the last good configuration, and is logged with the field;
- with no good configuration yet, every request is denied (reason ``config_unavailable``);
- ``AUTH_ISSUERS`` is never a fallback for the parameter's issuers (it may trust more than the parameter now
  does); ``routes`` absent from the parameter means the environment's ``AUTH_ROUTES`` (default: none), since
  rules only ever narrow access.

Everything else (leeway, response type, JWKS tunables) stays in the environment. A changed configuration
rebuilds the ``Authorizer``, keeping the JWKS caches of key sources that did not change.

    source = RemoteConfig(load_config(os.environ), build=lambda config: Authorizer(config))
    source.refresh(cold=True)       # at cold start
    authorizer = source.current()   # one clock read on the warm path; SSM only when max_age has passed
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from .authorize import Authorizer
from .config import (
    DEFAULT_CONFIG_MAX_AGE_SECONDS,
    MAX_CONFIG_MAX_AGE_SECONDS,
    MIN_CONFIG_MAX_AGE_SECONDS,
    AuthorizerConfig,
    parse_issuers,
    parse_json,
    parse_routes,
    settle,
)
from .errors import ConfigError, ConfigUnavailableError
from .text import log_fields
from .verifier import TokenVerifier, VerifiedToken

DEFAULT_MAX_AGE_SECONDS = DEFAULT_CONFIG_MAX_AGE_SECONDS
RETRY_AFTER_FAILURE_SECONDS = 10.0  # at most this often while SSM fails; never more often than max_age
_FIELDS = {"issuers", "routes"}


def max_age_from(environ: Mapping[str, str]) -> int:
    text = environ.get("AUTH_CONFIG_MAX_AGE_SECONDS") or str(DEFAULT_MAX_AGE_SECONDS)
    try:
        value = int(text)
    except ValueError:
        raise ConfigError("AUTH_CONFIG_MAX_AGE_SECONDS", f"must be a whole number of seconds, got {text!r}") from None
    if not MIN_CONFIG_MAX_AGE_SECONDS <= value <= MAX_CONFIG_MAX_AGE_SECONDS:
        raise ConfigError("AUTH_CONFIG_MAX_AGE_SECONDS", f"must be between {MIN_CONFIG_MAX_AGE_SECONDS} and "
                                                         f"{MAX_CONFIG_MAX_AGE_SECONDS}, got {text!r}")
    return value


def parse_parameter(value: Any, base: AuthorizerConfig) -> AuthorizerConfig:
    """The parameter's JSON value → ``base`` with its issuers and routes replaced. Raises ``ConfigError``."""
    if not isinstance(value, dict):
        raise ConfigError("parameter", 'must be a JSON object like {"issuers": [...], "routes": {...}}')
    for name in value:
        if name not in _FIELDS:
            raise ConfigError(name, f"is not a known field; expected some of {sorted(_FIELDS)}")
    if "issuers" not in value:
        raise ConfigError("issuers", "is required (a JSON list of trusted issuers)")
    issuers = parse_issuers(value["issuers"], "issuers")
    routes = parse_routes(value["routes"], "routes") if "routes" in value else base.routes
    issuers, routes = settle(issuers, dict(routes))
    return replace(base, issuers=issuers, routes=routes)


#: Each SSM read: how long to wait for the connection, and for each read of the answer.
SSM_CONNECT_TIMEOUT_SECONDS = 0.4
SSM_READ_TIMEOUT_SECONDS = 0.8
#: Attempts per read: a warm refresh has a configuration to answer with meanwhile, a cold start has none.
WARM_ATTEMPTS, COLD_ATTEMPTS = 1, 2
#: botocore's standard retry mode waits at most this long before its first retry (base 1 s × 2⁰, with jitter).
SSM_FIRST_BACKOFF_SECONDS = 1.0


def ssm_read_seconds(attempts: int) -> float:
    """The most one read of the parameter may take, whole: each attempt's connect and read, and the backoff."""
    backoff = SSM_FIRST_BACKOFF_SECONDS * (attempts - 1)  # only one retry is ever made (COLD_ATTEMPTS is 2)
    return attempts * (SSM_CONNECT_TIMEOUT_SECONDS + SSM_READ_TIMEOUT_SECONDS) + backoff

#: ``read(name, max_age, cold)`` → the parameter's text.
ParameterRead = Callable[[str, int, bool], Any]


class ParameterReader:
    """Reads the parameter's text through Powertools' ``SSMProvider``, every call bounded (see the module docstring).

    Powertools and boto3 are imported at the first read: boto3 costs cold start only when a parameter is
    configured. ``force_fetch``: our own clock decides when the value is due (one comparison per request).
    """

    def __init__(self) -> None:
        self._providers: dict[int, Any] = {}
        self._pending: threading.Thread | None = None  # a read that outlived its bound, still running

    def __call__(self, name: str, max_age: int, cold: bool = False) -> Any:
        attempts = COLD_ATTEMPTS if cold else WARM_ATTEMPTS
        provider = self._providers.get(attempts) or self._provider(attempts)
        return self._bounded(lambda: provider.get(name, max_age=max_age, force_fetch=True), ssm_read_seconds(attempts))

    def _bounded(self, read: Callable[[], Any], seconds: float) -> Any:
        """``read()`` on a thread of its own, waited for ``seconds`` at most. botocore's timeouts bound each socket
        operation, not the exchange: an endpoint that drips its answer would hold the request far longer. A read
        that outlives its bound is left to end on its own, and no other starts until it has."""
        if self._pending is not None and self._pending.is_alive():
            raise TimeoutError("the previous read of the parameter has not ended")
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = read()
            except Exception as problem:  # handed to the caller below, which decides what a failed read means
                outcome["problem"] = problem

        thread = self._pending = threading.Thread(target=run, name="ssm-read", daemon=True)
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            raise TimeoutError(f"no complete answer within {seconds:g} s")
        if "problem" in outcome:
            raise outcome["problem"]
        return outcome["value"]

    def _provider(self, attempts: int) -> Any:
        from aws_lambda_powertools.utilities.parameters import SSMProvider
        from botocore.config import Config

        config = Config(connect_timeout=SSM_CONNECT_TIMEOUT_SECONDS, read_timeout=SSM_READ_TIMEOUT_SECONDS,
                        retries={"mode": "standard", "total_max_attempts": attempts})
        provider = self._providers[attempts] = SSMProvider(boto_config=config)
        return provider


class NoConfigVerifier:
    """The verifier while no configuration has been read: no issuer, no key, no network; every token denied."""

    def __init__(self) -> None:
        self.caches: dict[Any, Any] = {}

    def prefetch(self) -> None:
        pass

    def verify_token(self, token: str) -> VerifiedToken:
        raise ConfigUnavailableError("no valid configuration has been read from the SSM parameter")


class RemoteConfig:
    """The current ``Authorizer`` for the configuration in the parameter; see the module docstring."""

    def __init__(self, base: AuthorizerConfig, build: Callable[[AuthorizerConfig], Authorizer], *,
                 max_age: float = DEFAULT_MAX_AGE_SECONDS, read: ParameterRead | None = None,
                 clock: Callable[[], float] = time.monotonic, logger: Any = None,
                 on_failure: Callable[[], None] | None = None,
                 observe: Callable[[str, str | None, str], None] | None = None) -> None:
        if not base.config_parameter:
            raise ConfigError("AUTH_CONFIG_PARAMETER", "is required for a remote configuration")
        self.name = base.config_parameter
        self.base = base
        self.build = build
        self.max_age = max_age
        self.read = read or ParameterReader()
        self.clock = clock
        self.logger = logger
        self.on_failure = on_failure or (lambda: None)
        self.config: AuthorizerConfig | None = None  # the last good configuration
        self.authorizer = Authorizer(replace(base, issuers=()), verifier=NoConfigVerifier(), logger=logger,
                                     observe=observe)
        self.loaded = False
        self._due = -math.inf

    def current(self) -> Authorizer:
        if self.clock() >= self._due:
            self.refresh()
        return self.authorizer

    def refresh(self, cold: bool = False) -> bool:
        """Read, validate and apply the parameter now. Returns whether a good configuration was read.

        ``cold``: the first read, at cold start, may try twice (nothing can answer until it succeeds).
        """
        try:
            text = self.read(self.name, int(math.ceil(self.max_age)), cold)
            config = parse_parameter(parse_json(text, "parameter"), self.base)
        except ConfigError as problem:
            return self._failed("the configuration parameter is invalid", field=problem.field, problem=problem.problem)
        except Exception as problem:  # SSM errors, throttling, a timeout
            return self._failed("the configuration parameter could not be read",
                                problem=f"{type(problem).__name__}: {_first_line(problem)}")
        self._due = self.clock() + self.max_age
        if config == self.config:
            return True
        previous = self.authorizer if self.loaded else None
        authorizer = self.build(config)
        if previous is not None:
            _keep_caches(previous, authorizer)
        self.config, self.authorizer, self.loaded = config, authorizer, True
        if self.logger is not None:
            self.logger.info("configuration loaded from the parameter", **log_fields({
                "parameter": self.name, "issuers": [issuer.issuer for issuer in config.issuers],
                "routes": sorted(config.routes)}))
        return True

    def _failed(self, message: str, **fields: Any) -> bool:
        # Never more often than max_age, and at most every RETRY_AFTER_FAILURE_SECONDS while it keeps failing.
        self._due = self.clock() + min(self.max_age, RETRY_AFTER_FAILURE_SECONDS)
        self.on_failure()
        if self.logger is not None:
            kept = "the last good configuration stays" if self.loaded else "every request is denied"
            self.logger.error(f"{message}; {kept}", **log_fields({"parameter": self.name, **fields}))
        return False


def _keep_caches(previous: Authorizer, current: Authorizer) -> None:
    """Key sources present before and after keep their JWKS cache: no refetch, no cold keys."""
    # Not the deny-all stand-in of "no configuration yet", which holds no caches.
    if isinstance(previous.verifier, TokenVerifier) and isinstance(current.verifier, TokenVerifier):
        current.verifier.keep_caches(previous.verifier)


def _first_line(problem: Exception) -> str:
    text = str(problem).strip().splitlines()
    return text[0][:300] if text else ""
