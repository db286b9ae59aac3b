"""The function behind an MCP endpoint's Protected Resource Metadata routes (RFC 9728): it answers each
``GET /.well-known/oauth-protected-resource[<path>]`` with the document the construct generated at synthesis
(``DOCUMENTS``: path → document, in its environment). Standard library only: its code is inlined into the template.
"""

import json
import os
from typing import Any

DOCUMENTS = json.loads(os.environ.get("DOCUMENTS", "{}"))
HEADERS = {"content-type": "application/json", "cache-control": "public, max-age=300"}


def handler(event: Any, context: Any) -> dict[str, Any]:
    path = event.get("rawPath") if isinstance(event, dict) else None
    document = DOCUMENTS.get(path) if isinstance(path, str) else None
    if document is None:
        return {"statusCode": 404, "headers": HEADERS, "body": json.dumps({"message": "Not Found"})}
    return {"statusCode": 200, "headers": HEADERS, "body": json.dumps(document, separators=(",", ":"))}
