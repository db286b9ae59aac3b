"""The CDK code: typed configuration, Docker-free bundling, the reusable ``JwtAuthorization`` construct and the
sample stack. ``app.py`` only calls ``build_app``. Imports the authorizer's config validation, never the reverse.

Installed (``pip install apigw-jwt-authorizer``) this package is ``apigw_jwt_authorizer``::

    from apigw_jwt_authorizer import AuthorizationSettings, JwtAuthorization
"""

__version__ = "0.1.0"

from .authorizer_construct import JwtAuthorization
from .cdk_app import build_app
from .config import (
    AuthorizationSettings,
    ConfigError,
    ConfigParameter,
    RouteSpec,
    StackConfig,
    load_stack_config,
)
from .mcp_settings import McpEndpoint, McpRule
from .stack import JwtAuthorizerStack
from .typed_settings import AuthorizerMode, Issuer, LambdaResponse, ProviderIssuer, TenantRule

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
