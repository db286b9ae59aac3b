"""The authorizer Lambda's package, as the CDK code imports and bundles it, in a checkout or installed.

In a checkout it is ``authorizer/`` beside ``infra/``; in the installed distribution ``apigw-jwt-authorizer`` the
same files are ``apigw_jwt_authorizer/authorizer/`` (``pyproject.toml`` maps both directories), and bundling copies
them from there. The CDK side imports only the authorizer's standard-library parts (``config``, ``errors``), so the
construct validates settings exactly as the Lambda's cold start will, without python-jose or requests installed.

    >>> SOURCE_ROOT.joinpath(PACKAGE, "handler.py").is_file()
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__ == "infra":
    import authorizer as _package
    from authorizer.config import *  # noqa: F403  (whatever the CDK code needs of the authorizer's validation)
    from authorizer.errors import ConfigError as ConfigError  # re-exported for the CDK code
else:  # installed: apigw_jwt_authorizer.authorizer
    from . import authorizer as _package
    from .authorizer.config import *  # noqa: F403
    from .authorizer.errors import ConfigError as ConfigError  # re-exported for the CDK code

#: The directory that holds the ``authorizer`` package (the project root, or the installed package).
SOURCE_ROOT = Path(_package.__file__).resolve().parent.parent
PACKAGE = "authorizer"
