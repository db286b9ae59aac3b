"""One request to a local stack with the path sent exactly as written: requests (urllib3) would decode ``%65`` to
``e`` before sending, and the end-to-end tests of encoded paths need the gateway to see the client's spelling."""

from __future__ import annotations

import http.client
import json
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from local.stack import LocalStack


class Reply(NamedTuple):
    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(stack: LocalStack, method: str, path: str, token: str) -> Reply:
    address = urlsplit(stack.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(method, path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        return Reply(response.status, response.read())
    finally:
        connection.close()
