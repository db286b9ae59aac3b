"""What the stack configuration tests share: loading a ``cdk.json`` context as the app does (jwt mode with the
routes it can serve), and catching the configuration error it raises."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, StackConfig, load_stack_config

from .conftest import JWT_ROUTES

OIDC = {"issuer": "https://idp.example.org", "audience": "my-api"}
#: The context of the local stack: bundling skipped, nothing deployed.
LOCAL = {"aws:cdk:bundling-stacks": []}
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def load(**context: Any) -> StackConfig:
    context.setdefault("issuers", [OIDC])
    if context.get("authorizer") == "jwt":
        context.setdefault("routes", JWT_ROUTES)
    return load_stack_config(context.get)


def error_field(**context: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(**context)
    return caught.value
