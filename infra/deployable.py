"""What a deployed authorizer cannot use, refused at synthesis for a deployment: a loopback issuer or ``jwks_uri``
(neither API Gateway nor Lambda can reach this machine), and in lambda mode a ``ca_bundle`` that is not a PEM file
bundled under ``authorizer/``. The local stack, which synthesizes with bundling skipped, accepts both.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from .lambda_sources import AUTHORIZER_DIR, ConfigError, expand_issuer, is_loopback_host

#: The deployed authorizer's code: the bundle's root (the ``authorizer/`` package and its dependencies) is unpacked
#: at Lambda's task root, so a file ``authorizer/<path>`` of this project is ``/var/task/authorizer/<path>`` there.
BUNDLED_AUTHORIZER_DIR = "/var/task/authorizer/"
AUTHORIZER_SOURCE_DIR = AUTHORIZER_DIR
CA_BUNDLE_EXAMPLE = "certs/wso2-ca.pem"


def check_deployable_issuers(issuers: list[Any], mode: str) -> None:
    """What a deployed authorizer cannot use: a loopback issuer or ``jwks_uri`` (API Gateway and Lambda cannot
    reach this machine), and in lambda mode a ``ca_bundle`` that is not a file bundled under ``authorizer/``."""
    for index, spec in enumerate(issuers):
        where = f"issuers[{index}]"
        for issuer in expand_issuer(spec, where):
            for name, url in (("issuer", issuer.issuer), ("jwks_uri", issuer.jwks_uri)):
                if url and is_loopback_host(urlsplit(url).hostname):
                    configured = name if name in spec or "base_url" not in spec else "base_url"
                    raise ConfigError(
                        f"{where}.{configured}",
                        f"{url} is on a loopback host: neither API Gateway nor the deployed Lambda can reach this "
                        "machine. Use the provider's public URL; loopback issuers are for the local stack only "
                        "(synthesized with bundling skipped, as `make local` does)",
                    )
            if mode == "lambda" and issuer.ca_bundle is not None:
                check_bundled_ca_bundle(issuer.ca_bundle, f"{where}.ca_bundle")


def check_bundled_ca_bundle(path: str, where: str) -> None:
    """Only ``authorizer/`` is deployed, at ``/var/task/authorizer/``: ``ca_bundle`` must name a PEM file there
    that exists in this project's ``authorizer/``."""
    how = (f"put the CA's PEM file under authorizer/ in this project (e.g. authorizer/{CA_BUNDLE_EXAMPLE}), which is "
           f"bundled with the code, and set ca_bundle to {BUNDLED_AUTHORIZER_DIR}<its path there> "
           f"(e.g. {BUNDLED_AUTHORIZER_DIR}{CA_BUNDLE_EXAMPLE})")
    relative = PurePosixPath(path.removeprefix(BUNDLED_AUTHORIZER_DIR))
    if not path.startswith(BUNDLED_AUTHORIZER_DIR) or relative.is_absolute() or ".." in relative.parts:
        raise ConfigError(where, f"{path!r} is not in the deployed code, which holds only the authorizer/ package, "
                                 f"at {BUNDLED_AUTHORIZER_DIR}: {how}")
    local = AUTHORIZER_SOURCE_DIR.joinpath(*relative.parts)
    if not local.is_file():
        raise ConfigError(where, f"{path} is authorizer/{relative} of this project, which does not exist: {how}")
    if b"-----BEGIN CERTIFICATE-----" not in local.read_bytes():
        raise ConfigError(where, f"authorizer/{relative} holds no PEM certificate (-----BEGIN CERTIFICATE-----): "
                                 "ca_bundle must be the issuer's CA certificate(s) in PEM form")
