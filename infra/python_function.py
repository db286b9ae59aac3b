"""A Lambda function for one of this project's Python packages, with its own log group and a least-privilege role.

Both functions (the authorizer and the sample backend) are built the same way: arm64, the newest Python runtime,
code bundled by ``infra.bundling`` without Docker, Powertools settings in the environment, logs in a log group
with bounded retention, and a role that may write to that log group and nothing else.
"""

from __future__ import annotations

from typing import Mapping

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .bundling import ARCHITECTURE, RUNTIME, package_code


class PackageFunction(Construct):
    """``function``, ``role`` and ``log_group`` for the Python package ``package`` (handler ``package.module.fn``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        package: str,
        handler: str,
        service_name: str,
        description: str,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_level: str = "INFO",
        memory_size: int = 256,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        # No AWSLambdaBasicExecutionRole: it may write to every log group in the account.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{service_name}: write its own logs, nothing else",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=package_code(self, package),
            handler=handler,
            description=description,
            role=self.role,
            log_group=self.log_group,
            memory_size=memory_size,
            timeout=timeout or Duration.seconds(10),
            environment={**powertools_environment(service_name, log_level), **(environment or {})},
        )


def powertools_environment(service_name: str, log_level: str = "INFO") -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": service_name,
        "POWERTOOLS_LOG_LEVEL": log_level,
        # No active X-Ray tracing here (its permissions are account-wide), so Powertools should not try.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
