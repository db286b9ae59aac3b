"""Deliberate mistakes with the installed construct's API, one per function: ``mypy --strict`` must report each
(its line ends with ``# mistake: <name>``), and run, each must raise ``ConfigError`` naming the argument
(``python mistakes.py`` prints ``<name> -> <field>: <problem>`` per mistake; ``tests/examples/test_typing.py``)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from apigw_jwt_authorizer import AuthorizationSettings, ConfigError, JwtAuthorization, RouteSpec
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2

ISSUERS = [{"provider": "descope", "project_id": "P2abc"}]
ROUTES = [RouteSpec("GET", "/orders")]


def mode_lambda() -> None:
    AuthorizationSettings.create(mode="Lambda", issuers=ISSUERS, routes=ROUTES)  # mistake: mode_lambda


def issuers_nope() -> None:
    AuthorizationSettings.create(issuers="nope", routes=ROUTES)  # mistake: issuers_nope


def routes_42() -> None:
    AuthorizationSettings.create(issuers=ISSUERS, routes=42)  # mistake: routes_42


def scopes_x() -> None:
    RouteSpec("GET", "/items", scopes="x")  # mistake: scopes_x


def cache_ttl_duration() -> None:
    AuthorizationSettings.create(issuers=ISSUERS, routes=ROUTES,
                                 cache_ttl_seconds=Duration.minutes(5))  # mistake: cache_ttl_duration


def timeout_5() -> None:
    stack = Stack(App(), "S")
    settings = AuthorizationSettings.create(issuers=ISSUERS, routes=ROUTES)
    JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"), settings=settings,
                     timeout=5)  # mistake: timeout_5


def settings_dict() -> None:
    stack = Stack(App(), "S")
    JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"),
                     settings={"mode": "lambda"})  # mistake: settings_dict


MISTAKES: dict[str, Callable[[], None]] = {f.__name__: f for f in (
    mode_lambda, issuers_nope, routes_42, scopes_x, cache_ttl_duration, timeout_5, settings_dict)}

if __name__ == "__main__":
    missed = []
    for name, mistake in MISTAKES.items():
        try:
            mistake()
        except ConfigError as problem:
            print(f"{name} -> {problem}")
        else:
            missed.append(name)
    sys.exit(f"not refused: {', '.join(missed)}" if missed else 0)
