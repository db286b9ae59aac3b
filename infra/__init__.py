"""The CDK code: typed configuration, Docker-free bundling, the reusable ``JwtAuthorization`` construct and the
sample stack. ``app.py`` only calls ``build_app``. Imports the authorizer's config validation, never the reverse.

Installed (``pip install apigw-jwt-authorizer``) this package is ``apigw_jwt_authorizer``::

    from apigw_jwt_authorizer import AuthorizationSettings, JwtAuthorization
"""

__version__ = "0.1.0"

from .node_notice import announce_end_of_life_node

announce_end_of_life_node()  # before aws_cdk is first imported: one plain line instead of jsii's bytes banner

from .authorizer_construct import JwtAuthorization  # noqa: E402
from .cdk_app import build_app  # noqa: E402
from .config import (  # noqa: E402
    AuthorizationSettings,
    ConfigError,
    ConfigParameter,
    RouteSpec,
    StackConfig,
    load_stack_config,
)
from .mcp_settings import McpEndpoint, McpRule  # noqa: E402
from .stack import JwtAuthorizerStack  # noqa: E402
from .typed_settings import AuthorizerMode, Issuer, LambdaResponse, ProviderIssuer, TenantRule  # noqa: E402

__all__ = [
    "AuthorizationSettings",
    "AuthorizerMode",
    "ConfigError",
    "ConfigParameter",
    "Issuer",
    "JwtAuthorization",
    "JwtAuthorizerStack",
    "LambdaResponse",
    "McpEndpoint",
    "McpRule",
    "ProviderIssuer",
    "RouteSpec",
    "StackConfig",
    "TenantRule",
    "__version__",
    "build_app",
    "load_stack_config",
]
