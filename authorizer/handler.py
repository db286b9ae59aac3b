"""The Lambda entry point, ``authorizer.handler.handler``.

Configuration is read and validated at import, once per cold start: an invalid ``AUTH_*`` variable fails the
cold start with a message naming it, so a misconfigured authorizer never answers (API Gateway returns 500).
Keys are prefetched here too; a prefetch failure is logged and the first request tries again.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from .authorize import Authorizer, Unauthorized
from .errors import ConfigError
from .events import REST_REQUEST, REST_TOKEN, read_event
from .policy import deny_policy

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "jwt-authorizer"))

try:
    AUTHORIZER = Authorizer.from_environment(os.environ, logger=logger)
except ConfigError as problem:
    logger.error("invalid authorizer configuration", field=problem.field, problem=problem.problem)
    raise
AUTHORIZER.prefetch()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return AUTHORIZER.authorize(event, getattr(context, "aws_request_id", None))
    except Unauthorized:
        raise Exception("Unauthorized") from None  # REST: API Gateway answers 401 for exactly this message
    except Exception:  # fail closed: a bug must deny, never surface as a 500 or an Allow
        logger.exception("authorizer error; denying")
        if read_event(event).shape in (REST_TOKEN, REST_REQUEST):
            raise Exception("Unauthorized") from None
        if isinstance(event, dict) and event.get("version") == "2.0" and AUTHORIZER.config.response == "simple":
            return {"isAuthorized": False}
        return deny_policy(None)
