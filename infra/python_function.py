"""A Lambda function for one of this project's Python packages, with its own log group and a least-privilege role.

Both functions (the authorizer and the sample backend) are built the same way: arm64, the newest Python runtime,
code bundled by ``infra.bundling`` without Docker, Powertools settings in the environment, logs in a log group
with bounded retention, and a role that may write to that log group and nothing else — plus, with ``tracing``,
active X-Ray tracing and the X-Ray write permissions it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import jsii
from aws_cdk import Acknowledgment, CfnResource, Duration, IStableStringProducer, Lazy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .bundling import ARCHITECTURE, PROJECT_ROOT, RUNTIME, package_code


class PackageFunction(Construct):
    """``function``, ``role`` and ``log_group`` for the Python package ``package`` (handler ``package.module.fn``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        package: str,
        handler: str,
        source_root: Path = PROJECT_ROOT,
        package_dir: Path | None = None,
        service_name: str,
        description: str,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_group: logs.ILogGroup | None = None,
        log_level: str = "INFO",
        memory_size: int = 256,
        timeout: Duration | None = None,
        tracing: bool = False,
        reserved_concurrent_executions: int | None = None,
        runtime: lambda_.Runtime = RUNTIME,
        architecture: lambda_.Architecture = ARCHITECTURE,
        code: lambda_.Code | None = None,
        extra_sources: Sequence[str] = (),
        bytecode: bool = False,
    ) -> None:
        """``runtime`` and ``architecture``: the function's platform, which bundling installs wheels for;
        ``source_root``: the directory holding ``package/``; ``tracing``: active X-Ray tracing, and Powertools'
        Tracer enabled (``POWERTOOLS_TRACE_DISABLED=false``); ``log_group``: the caller's own, instead of one
        created with ``log_retention``; ``code``: the function's code as given (inline code, with no dependency to
        bundle) instead of ``package`` bundled; ``extra_sources``: single files of other packages bundled at the same
        paths (``infra.bundling.stage_package``); ``bytecode``: the bundle compiled by the runtime's Python version
        (``infra.bytecode``)."""
        super().__init__(scope, construct_id)
        # The caller's own log group (its retention is the caller's), else one with bounded retention.
        self.log_group = log_group or logs.LogGroup(self, "Logs", retention=log_retention)
        self._role_description = _RoleDescription(service_name, ["write its own logs"])
        # No AWSLambdaBasicExecutionRole: it may write to every log group in the account.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=Lazy.string(self._role_description),  # says every permission granted below
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=runtime,
            architecture=architecture,
            code=code or package_code(self, package, source_root=source_root, tracing=tracing, runtime=runtime,
                                      architecture=architecture, package_dir=package_dir,
                                      extra_sources=extra_sources, bytecode=bytecode),
            handler=handler,
            description=description,
            role=self.role,
            log_group=self.log_group,
            memory_size=memory_size,
            timeout=timeout or Duration.seconds(10),
            environment={**powertools_environment(service_name, log_level, tracing), **(environment or {})},
            tracing=lambda_.Tracing.ACTIVE if tracing else None,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        keep_only_policy_dependency(self.function, self.role)
        if tracing:
            self._role_description.permissions.append("send X-Ray traces")
            self.acknowledge_xray_permissions()

    def allow_get_parameter(self, parameter: ssm.IStringParameter) -> None:
        """``ssm:GetParameter`` on this one parameter, nothing more.

        Not ``parameter.grant_read``: that adds ``GetParameters``, ``GetParameterHistory`` and
        ``DescribeParameters``, which the function never calls. A String parameter needs no KMS permission.
        """
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["ssm:GetParameter"],
            resources=[parameter.parameter_arn],
        ))
        self._role_description.permissions.append("read its SSM configuration parameter")

    def acknowledge_xray_permissions(self) -> None:
        """cdk-nag's IAM5: active tracing grants ``xray:PutTraceSegments``/``PutTelemetryRecords`` on ``*``."""
        Validations.of(self.role).acknowledge(Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            reason="tracing is on: Lambda's active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, "
                   "which support no resource-level permissions, so X-Ray requires Resource \"*\"; they only write "
                   "trace data. Every other statement of this role names its one resource",
        ))


@jsii.implements(IStableStringProducer)
class _RoleDescription:
    """The role's description, produced at synthesis so it lists what was granted after the role was made."""

    def __init__(self, service_name: str, permissions: list[str]) -> None:
        self.service_name = service_name
        self.permissions = permissions

    def produce(self) -> str:
        return f"{self.service_name}: {', '.join(self.permissions)}, nothing else"


def keep_only_policy_dependency(function: lambda_.Function, role: iam.Role) -> None:
    """CDK makes a function depend on its role and the role's default policy (a construct dependency, which no API
    removes). The role is referenced already (``Fn::GetAtt``), so that ``DependsOn`` is redundant (cfn-lint W3005);
    the policy's stays, so the function never runs before it may write its logs."""
    function_resource = function.node.default_child
    policy = role.node.try_find_child("DefaultPolicy")
    policy_resource = policy.node.default_child if policy is not None else None
    assert isinstance(function_resource, CfnResource) and isinstance(policy_resource, CfnResource)
    function_resource.add_override("DependsOn", [policy_resource.logical_id])


def powertools_environment(service_name: str, log_level: str = "INFO", tracing: bool = False) -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": service_name,
        "POWERTOOLS_LOG_LEVEL": log_level,
        # Explicit either way: without active tracing there is no segment to add to, so Powertools must not try.
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
    }
