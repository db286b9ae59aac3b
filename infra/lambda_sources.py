"""The authorizer Lambda's package, as the CDK code imports and bundles it, in a checkout or installed.

In a checkout it is ``authorizer/`` beside ``infra/``; in the installed distribution ``apigw-jwt-authorizer`` the
same files are the package ``apigw_jwt_authorizer_lambda`` beside the construct's ``apigw_jwt_authorizer``
(``pyproject.toml`` maps both directories), and bundling copies them from there into the bundle's ``authorizer/``.
It is a package of its own, not a subpackage of the construct, so that ``mypy -p apigw_jwt_authorizer`` checks the
construct a CDK user imports, not the Lambda's code (whose runtime dependencies are not installed beside it).
The CDK side imports only the authorizer's standard-library parts (``config``, ``errors``, ``mcp_config``), so the construct
validates settings exactly as the Lambda's cold start will, without python-jose or requests installed.

Which of the two is imported is decided by this package's own name. Type checkers see both branches unless told:
this repository's mypy configuration declares ``_IN_CHECKOUT`` always true; a user's mypy, which knows nothing of
it, types the installed branch (first, so its names win) and ignores the other, whose modules it cannot find.

    >>> AUTHORIZER_DIR.joinpath("handler.py").is_file(), PACKAGE
    (True, 'authorizer')
"""

from __future__ import annotations

from pathlib import Path

_IN_CHECKOUT = __package__ == "infra"

if not _IN_CHECKOUT:  # installed: apigw_jwt_authorizer_lambda
    import apigw_jwt_authorizer_lambda as _package
    from apigw_jwt_authorizer_lambda.config import *  # noqa: F403  (what the CDK code needs of its validation)
    from apigw_jwt_authorizer_lambda.errors import ConfigError as ConfigError  # re-exported for the CDK code
    from apigw_jwt_authorizer_lambda.mcp_config import McpResource as McpResource
    from apigw_jwt_authorizer_lambda.mcp_config import bind_resources as bind_resources
    from apigw_jwt_authorizer_lambda.mcp_config import parse_mcp as parse_mcp
else:
    import authorizer as _package  # type: ignore[no-redef, import-not-found, unused-ignore]
    from authorizer.config import *  # type: ignore[import-not-found, unused-ignore]  # noqa: F403
    from authorizer.errors import (  # type: ignore[import-not-found, no-redef, unused-ignore]
        ConfigError as ConfigError,
    )
    from authorizer.mcp_config import (  # type: ignore[import-not-found, no-redef, unused-ignore]
        McpResource as McpResource,
    )
    from authorizer.mcp_config import (  # type: ignore[import-not-found, no-redef, unused-ignore]
        bind_resources as bind_resources,
    )
    from authorizer.mcp_config import (  # type: ignore[import-not-found, no-redef, unused-ignore]
        parse_mcp as parse_mcp,
    )

#: The authorizer package's directory (``authorizer/`` of the checkout, or the installed package).
AUTHORIZER_DIR = Path(_package.__file__).resolve().parent
#: Its name in the bundle, where the handler is ``authorizer.handler.handler``.
PACKAGE = "authorizer"
