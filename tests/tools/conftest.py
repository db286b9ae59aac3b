"""Fixtures for the operator CLI: one development issuer for the module, and moto for every AWS call."""

from __future__ import annotations

import pytest
from moto import mock_aws

from local.idp.clients import default_clients
from local.idp.issuer import DevIssuer

REGION = "eu-west-1"


@pytest.fixture(scope="package")
def issuer():
    """The development OIDC issuer on 127.0.0.1 (key generation is the slow part: one per test package)."""
    with DevIssuer(clients=default_clients()) as running:
        yield running


@pytest.fixture
def aws(monkeypatch):
    """moto for every AWS API call, with credentials that could never reach AWS."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield
