"""A sample MCP server (Streamable HTTP, 2026-07-28, stateless) as a Lambda behind the HTTP API's MCP route, on the
official MCP Python SDK: ``sample_mcp.server.handler``. Named so that it never shadows the SDK's ``mcp`` package."""
