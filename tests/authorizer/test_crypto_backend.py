"""The cold start refuses a python-jose that does not verify with its ``cryptography`` backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from jose import backends
from jose.backends import cryptography_backend, rsa_backend

from authorizer.crypto_backend import require_cryptography_backend
from authorizer.errors import CryptoBackendError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_jose_uses_cryptography() -> None:
    require_cryptography_backend()
    assert backends.RSAKey is cryptography_backend.CryptographyRSAKey


def test_a_pure_python_rsa_backend_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "RSAKey", rsa_backend.RSAKey)
    with pytest.raises(CryptoBackendError, match=r"jose\.backends\.rsa_backend\.RSAKey for RSAKey, not "
                                                 "CryptographyRSAKey"):
        require_cryptography_backend()


def test_a_missing_ec_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "ECKey", None)
    with pytest.raises(CryptoBackendError, match="for ECKey, not CryptographyECKey"):
        require_cryptography_backend()


def test_the_handler_fails_its_cold_start_without_the_cryptography_backend() -> None:
    """A real cold start in a fresh interpreter whose jose fell back to the pure-Python RSA backend."""
    code = ("import jose.backends, jose.backends.rsa_backend as r; jose.backends.RSAKey = r.RSAKey; "
            "import authorizer.handler")
    env = {**os.environ, "AUTH_ISSUERS": '[{"issuer": "https://idp.example.org", "audience": "api"}]',
           "POWERTOOLS_METRICS_NAMESPACE": "Test"}
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode != 0
    assert "CryptoBackendError: python-jose uses jose.backends.rsa_backend.RSAKey" in result.stderr
