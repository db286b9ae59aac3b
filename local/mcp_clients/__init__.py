"""The official MCP SDK clients, driven headless against the local stack (the end-to-end tests and ``make demo``).

| module                     | client                                                                               |
|----------------------------|--------------------------------------------------------------------------------------|
| ``python_sdk``             | ``mcp`` (PyPI): ``mcp.Client`` over Streamable HTTP with ``OAuthClientProvider``, in |
|                            | this process                                                                         |
| ``typescript_sdk``         | ``@modelcontextprotocol/sdk`` 1.x and ``@modelcontextprotocol/client`` 2.x (npm,     |
|                            | pinned in package-lock.json), run by ``typescript_client.mjs`` in a Node process     |

Both authorize as a user would, with nobody at the keyboard: the development authorization server consents for its
development user at once (``local/idp/authorization_settings.py``), and the clients' "browser" follows the
authorization URL with a GET and reads the code from the redirect. Everything else is the SDKs' own: discovery from
the 401, registration, PKCE, ``resource``, refresh, step-up. Tokens are never printed: only their claims.
"""
