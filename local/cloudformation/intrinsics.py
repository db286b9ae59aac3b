"""CloudFormation's intrinsic functions, resolved with what a local run can know.

Account ``123456789012``, region ``us-east-1``, parameter defaults, physical ids derived from logical ids. What
cannot be known (``Fn::ImportValue``, an SSM-typed parameter, an attribute of a resource that is not emulated)
raises :class:`Unresolvable`.

    resolver = IntrinsicResolver(template, "AuthStack")
    resolver.resolve({"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}"})  # 'arn:aws:execute-api:us-east-1'
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"


class TemplateError(Exception):
    """The assembly or template cannot be served: missing files, no HTTP API, a route that points nowhere."""


class Unresolvable(Exception):
    """An intrinsic function whose value a local run cannot know."""


# --- intrinsic functions -----------------------------------------------------------------------------------------

NO_VALUE = object()  # Ref AWS::NoValue: the property or list item disappears


def local_id(logical_id: str, length: int) -> str:
    """A stable stand-in for an id API Gateway would generate (lower-case letters and digits)."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:length]


def api_id_for(logical_id: str) -> str:
    """The API's id: its logical id, lower-cased letters and digits, at most 10 characters (like real ids)."""
    return re.sub(r"[^a-z0-9]", "", logical_id.lower())[:10] or local_id(logical_id, 10)


class IntrinsicResolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub and their companions within one template."""

    def __init__(self, template: Mapping[str, Any], stack_name: str, parameters: Mapping[str, str] | None = None,
                 api_endpoint: str | None = None) -> None:
        """``api_endpoint``: what an HTTP API's ``ApiEndpoint`` is here (the local API's URL); by default the URL
        AWS would give it, which nothing local answers."""
        self.stack_name = stack_name
        self.api_endpoint = api_endpoint
        self._resources: Mapping[str, Any] = template.get("Resources", {})
        self._parameters: Mapping[str, Any] = template.get("Parameters", {})
        self._mappings: Mapping[str, Any] = template.get("Mappings", {})
        self._conditions: Mapping[str, Any] = template.get("Conditions", {})
        self._overrides = dict(parameters or {})
        self._in_progress: set[str] = set()

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key == "Ref":
                    return self._ref(argument)
                if key.startswith("Fn::") or key == "Condition":
                    return self._function(key, argument)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        return value

    def resolve_string(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (int, float)):
            return str(resolved)
        if not isinstance(resolved, str):
            raise Unresolvable(f"expected a string, got {json.dumps(resolved)}")
        return resolved

    # -- Ref and physical ids

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.stack_name}/"
            "00000000-0000-0000-0000-000000000000",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self._parameters:
            return self._parameter(name)
        if name in self._resources:
            return self.physical_id(name)
        raise Unresolvable(f"Ref {name}: no such parameter or resource")

    def _parameter(self, name: str) -> Any:
        declaration = self._parameters[name]
        parameter_type = str(declaration.get("Type", "String"))
        if name in self._overrides:
            value = self._overrides[name]
        elif parameter_type.startswith("AWS::SSM::Parameter::Value"):
            raise Unresolvable(f"Ref {name}: an SSM-backed parameter (pass its value as a parameter override)")
        elif "Default" in declaration:
            value = declaration["Default"]
        else:
            raise Unresolvable(f"Ref {name}: parameter without a default (pass it as a parameter override)")
        if parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<"):
            return [item.strip() for item in str(value).split(",")]
        return value

    def resource_type(self, logical_id: str) -> str:
        return str(self._resources.get(logical_id, {}).get("Type", ""))

    def _properties(self, logical_id: str) -> Mapping[str, Any]:
        return self._resources.get(logical_id, {}).get("Properties", {}) or {}

    def physical_id(self, logical_id: str) -> str:
        """What Ref returns for a resource, as far as a local run can tell."""
        resource_type = self.resource_type(logical_id)
        properties = self._properties(logical_id)
        if resource_type == "AWS::Lambda::Function":
            return self.function_name(logical_id)
        if resource_type == "AWS::ApiGatewayV2::Api":
            return api_id_for(logical_id)
        if resource_type in ("AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Route"):
            return local_id(logical_id, 7)
        if resource_type == "AWS::ApiGatewayV2::Stage":
            return self._named(logical_id, properties.get("StageName"), logical_id)
        if resource_type == "AWS::SSM::Parameter":
            return self._named(logical_id, properties.get("Name"), f"CFN-{logical_id}")
        if resource_type == "AWS::IAM::Role":
            return self._named(logical_id, properties.get("RoleName"), f"{self.stack_name}-{logical_id}"[:64])
        return logical_id

    def function_name(self, logical_id: str) -> str:
        default = f"{self.stack_name}-{logical_id}"[:64]
        return self._named(logical_id, self._properties(logical_id).get("FunctionName"), default)

    def _named(self, logical_id: str, explicit: Any, default: str) -> str:
        if explicit is None:
            return default
        if logical_id in self._in_progress:
            raise Unresolvable(f"{logical_id}: its name refers to itself")
        self._in_progress.add(logical_id)
        try:
            return self.resolve_string(explicit)
        finally:
            self._in_progress.discard(logical_id)

    def function_arn(self, logical_id: str) -> str:
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name(logical_id)}"

    # -- Fn::*

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        resource_type = self.resource_type(logical_id)
        if not resource_type:
            raise Unresolvable(f"Fn::GetAtt {logical_id}.{attribute}: no such resource")
        physical = self.physical_id(logical_id)
        known: dict[tuple[str, str], Any] = {
            ("AWS::Lambda::Function", "Arn"): lambda: self.function_arn(logical_id),
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{physical}",
            ("AWS::ApiGatewayV2::Api", "ApiId"): lambda: physical,
            ("AWS::ApiGatewayV2::Api", "ApiEndpoint"):
                lambda: self.api_endpoint or f"https://{physical}.execute-api.{REGION}.{URL_SUFFIX}",
            ("AWS::ApiGatewayV2::Authorizer", "AuthorizerId"): lambda: physical,
            ("AWS::ApiGatewayV2::Integration", "IntegrationId"): lambda: physical,
            ("AWS::ApiGatewayV2::Route", "RouteId"): lambda: physical,
            ("AWS::SSM::Parameter", "Value"): lambda: self.resolve(self._properties(logical_id).get("Value")),
            ("AWS::SSM::Parameter", "Type"): lambda: self._properties(logical_id).get("Type", "String"),
        }
        getter = known.get((resource_type, attribute))
        if getter is None:
            raise Unresolvable(f"Fn::GetAtt {logical_id}.{attribute} ({resource_type}) is not known locally")
        return getter()

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self._get_att(logical_id, self.resolve_string(attribute))
        if name == "Fn::Join":
            delimiter, items = argument
            resolved = self.resolve(items)
            if not isinstance(resolved, list):
                raise Unresolvable("Fn::Join: the second argument is not a list")
            return self.resolve_string(delimiter).join(self.resolve_string(item) for item in resolved)
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Select":
            index, items = argument
            resolved = self.resolve(items)
            return resolved[int(self.resolve(index))]
        if name == "Fn::Split":
            delimiter, text = argument
            return self.resolve_string(text).split(self.resolve_string(delimiter))
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self._condition(condition) else when_false)
        if name == "Fn::FindInMap":
            mapping, first, second = (self.resolve_string(part) for part in argument[:3])
            try:
                return self.resolve(self._mappings[mapping][first][second])
            except KeyError:
                raise Unresolvable(f"Fn::FindInMap {mapping}.{first}.{second}: not in the template's mappings") from None
        if name == "Fn::Base64":
            return base64.b64encode(self.resolve_string(argument).encode()).decode()
        if name == "Fn::GetAZs":
            return [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        if name == "Fn::Length":
            return len(self.resolve(argument))
        if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._evaluate_condition({name: argument})
        if name == "Fn::ImportValue":
            raise Unresolvable("Fn::ImportValue: another stack's export is not known locally")
        raise Unresolvable(f"{name} is not supported locally")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], argument[1] if len(argument) > 1 else {}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return self.resolve_string(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return self.resolve_string(self._get_att(logical_id, attribute))
            return self.resolve_string(self._ref(expression))

        return re.sub(r"\$\{([^}]+)\}", replace, self.resolve_string(text))

    def _condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise Unresolvable(f"Condition {name}: not in the template")
        return self._evaluate_condition(self._conditions[name])

    def _evaluate_condition(self, expression: Any) -> bool:
        if isinstance(expression, bool):
            return expression
        if not isinstance(expression, dict) or len(expression) != 1:
            raise Unresolvable(f"not a condition: {json.dumps(expression)}")
        ((name, argument),) = expression.items()
        if name == "Condition":
            return self._condition(argument)
        if name == "Fn::Equals":
            left, right = (self.resolve(part) for part in argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self._evaluate_condition(argument[0])
        if name == "Fn::And":
            return all(self._evaluate_condition(item) for item in argument)
        if name == "Fn::Or":
            return any(self._evaluate_condition(item) for item in argument)
        raise Unresolvable(f"{name} is not a condition function")


# --- the API's parts ---------------------------------------------------------------------------------------------
