"""``JwtAuthorization``'s options beyond the settings — the authorizer function, its name, identity sources and SSM
parameter name — checked before anything is built, each error naming the keyword argument.

    >>> function_options(memory_size=1024, timeout=Duration.seconds(5)).memory_size
    1024
    >>> function_options(memory_size=64)
    Traceback (most recent call last):
    ...
    authorizer.errors.ConfigError: memory_size: must be a whole number of MB from 128 to 10240, got 64
    >>> function_options(timeout=Duration.millis(1500))
    Traceback (most recent call last):
    ...
    authorizer.errors.ConfigError: timeout: must be whole seconds from 1 to 10, got a Duration (1 second 500 millis)
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, Token
from aws_cdk import aws_logs as logs

from .arguments import describe, whole_int, whole_seconds
from .lambda_sources import ConfigError

DEFAULT_MEMORY_MB = 512  # signature checks are CPU-bound; Lambda's CPU grows with memory
API_GATEWAY_AUTHORIZER_TIMEOUT_SECONDS = 10  # API Gateway waits no longer for an authorizer
_IDENTITY_SOURCE = re.compile(r"\$(request\.(header|querystring)\.[^\s,]+|context\.[A-Za-z.]+|stageVariables\.\w+)")
_SSM_PATH_NAME = re.compile(r"(/[A-Za-z0-9_.\-]+){1,15}")
_SSM_NAME_PART = re.compile(r"[^A-Za-z0-9_.\-]+")
#: The authorizer's configuration variables (DESIGN.md, "Configuration (environment)").
AUTHORIZER_VARIABLES = ("AUTH_ISSUERS", "AUTH_ROUTES", "AUTH_LEEWAY_SECONDS", "AUTH_RESPONSE", "AUTH_TOKEN_COOKIE",
                        "AUTH_JWKS_TIMEOUT_SECONDS", "AUTH_JWKS_MAX_AGE_SECONDS", "AUTH_JWKS_MAX_STALE_SECONDS",
                        "AUTH_JWKS_COOLDOWN_SECONDS", "AUTH_CONFIG_PARAMETER", "AUTH_CONFIG_MAX_AGE_SECONDS")


@dataclass(frozen=True)
class FunctionOptions:
    """The authorizer Lambda's tunables (lambda mode)."""

    memory_size: int = DEFAULT_MEMORY_MB
    timeout: Duration = Duration.seconds(API_GATEWAY_AUTHORIZER_TIMEOUT_SECONDS)
    reserved_concurrent_executions: int | None = None
    log_group: logs.ILogGroup | None = None  # the user's own; else one created with log_retention
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH


def function_options(*, memory_size: int = DEFAULT_MEMORY_MB, timeout: Duration | None = None,
                     reserved_concurrent_executions: int | None = None, log_group: logs.ILogGroup | None = None,
                     log_retention: logs.RetentionDays | None = None) -> FunctionOptions:
    whole_int(memory_size, "memory_size", 128, 10240, "MB")
    timeout = timeout if timeout is not None else Duration.seconds(API_GATEWAY_AUTHORIZER_TIMEOUT_SECONDS)
    # Lambda counts its timeout in whole seconds; API Gateway waits at most 10 s for an authorizer, then answers 500.
    whole_seconds(timeout, "timeout", 1, API_GATEWAY_AUTHORIZER_TIMEOUT_SECONDS, "Duration.seconds(5)")
    if reserved_concurrent_executions is not None and (
            isinstance(reserved_concurrent_executions, bool) or not isinstance(reserved_concurrent_executions, int)
            or reserved_concurrent_executions < 1):
        raise ConfigError("reserved_concurrent_executions",
                          f"must be a whole number of at least 1 (0 would stop every request), got "
                          f"{describe(reserved_concurrent_executions)}")
    if log_group is not None and log_retention is not None:
        raise ConfigError("log_group", "give log_group (your own log group, with its own retention) or "
                                       "log_retention (for the log group the construct creates), not both")
    if log_group is not None and not hasattr(log_group, "log_group_arn"):
        raise ConfigError("log_group", f"must be an aws_logs.ILogGroup, got {describe(log_group)}")
    if log_retention is not None and not isinstance(log_retention, logs.RetentionDays):
        raise ConfigError("log_retention", f"must be an aws_logs.RetentionDays such as RetentionDays.ONE_MONTH, got "
                                           f"{describe(log_retention)}")
    if log_retention == logs.RetentionDays.INFINITE:
        raise ConfigError("log_retention", "RetentionDays.INFINITE would keep the authorizer's logs (callers, token "
                                           "subjects) forever; the construct keeps retention bounded: choose a "
                                           "period such as RetentionDays.ONE_YEAR, or pass your own log_group")
    return FunctionOptions(memory_size, timeout, reserved_concurrent_executions, log_group,
                           log_retention or logs.RetentionDays.ONE_MONTH)


def checked_identity_source(identity_source: Sequence[str] | None, required: Sequence[str],
                            mode: str, token_cookie: str | None) -> list[str] | None:
    """``identity_source`` as given (or None for the default), after checking that it keeps what the settings
    need: ``required`` (the Lambda authorizer's default) holds ``$context.routeKey`` when a cached answer could be
    reused on a route with other rules; a token cookie means no identity source at all (API Gateway would answer 401 without one)."""
    if identity_source is None:
        return None
    if isinstance(identity_source, str):
        raise ConfigError("identity_source", f"must be a list of identity sources, got the string {identity_source!r}")
    sources = list(identity_source)
    if not sources or not all(isinstance(s, str) and _IDENTITY_SOURCE.fullmatch(s) for s in sources):
        raise ConfigError("identity_source", "must be a non-empty list like ['$request.header.Authorization'] "
                                             f"($request.header.*, $request.querystring.*, $context.*, "
                                             f"$stageVariables.*), got {sources!r}")
    if mode == "lambda" and token_cookie is not None:
        raise ConfigError("identity_source", "settings.token_cookie leaves the authorizer without identity "
                                             "sources (a request carrying only the cookie must reach it)")
    if mode == "jwt" and len(sources) != 1:
        raise ConfigError("identity_source", "API Gateway's native JWT authorizer reads the token from exactly "
                                             f"one identity source, got {sources!r}")
    missing = [s for s in required if s.startswith("$context.") and s not in sources]
    if mode == "lambda" and missing:
        raise ConfigError("identity_source", f"must include {', '.join(missing)}: the authorizer reads from them "
                                             "how far its answer may be reused ($context.routeKey: on its route "
                                             "only, with caching and route rules or with tenant rules; "
                                             "$context.requestId: never, for tenant routes without a cache)")
    return sources


def parameter_name_for(stack_name: str, construct_path: str, name: str | None) -> str:
    """The created SSM parameter's name: the user's ``parameter_name``, else ``/<stack>/<construct path>/
    authorizer-config`` (one per construct, so two constructs in a stack do not collide). A path part holding
    characters SSM does not allow has them replaced by ``-`` and a short hash of the part appended, so construct IDs
    that differ only there (``"Orders apiAuth"``, ``"Orders-apiAuth"``) still get distinct names.

        >>> parameter_name_for("Shop", "Orders apiAuth", None), parameter_name_for("Shop", "Orders-apiAuth", None)
        ('/Shop/Orders-apiAuth-7212f4/authorizer-config', '/Shop/Orders-apiAuth/authorizer-config')
    """
    if name is not None:
        if not isinstance(name, str) or not _SSM_PATH_NAME.fullmatch(name) or len(name) > 1011:
            raise ConfigError("parameter_name", f"must be an SSM parameter path like /orders/authorizer-config, "
                                                f"got {describe(name)}")
        return name
    parts = [_ssm_part(part) for part in construct_path.split("/") if part]
    return "/".join(["", stack_name, *parts, "authorizer-config"])


def _ssm_part(part: str) -> str:
    cleaned = _SSM_NAME_PART.sub("-", part)
    if cleaned == part:
        return part
    return f"{cleaned}-{hashlib.sha256(part.encode()).hexdigest()[:6]}"


def checked_authorizer_name(name: str | None) -> str | None:
    """``authorizer_name``: None (the construct ID) or 1–128 characters."""
    if name is not None and (not isinstance(name, str) or not (Token.is_unresolved(name) or 1 <= len(name) <= 128)):
        raise ConfigError("authorizer_name", f"must be a name of 1 to 128 characters, got {describe(name)}")
    return name


def check_environment_names(extra: Mapping[str, str] | None) -> None:
    """An ``AUTH_*`` name the authorizer does not read is a typo that would silently keep the default."""
    if extra is not None and (not isinstance(extra, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items())):
        raise ConfigError("environment", f"must be a dict of variable name → string value such as "
                                         f"{{'AUTH_LEEWAY_SECONDS': '30'}}, got {describe(extra)}")
    for name in extra or {}:
        if name.startswith("AUTH_") and name not in AUTHORIZER_VARIABLES:
            close = difflib.get_close_matches(name, AUTHORIZER_VARIABLES, n=1)
            hint = f"did you mean {close[0]}?" if close else f"it reads {', '.join(AUTHORIZER_VARIABLES)}"
            raise ConfigError("environment", f"{name} is not a variable the authorizer reads; {hint}")
