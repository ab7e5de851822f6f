"""Calls tools of an MCP server through the official Python MCP SDK, which
checks every structured result against the tool's advertised output schema.

    python -m flows.mcp_client_check  < request.json

Request: ``{"command": [program, *args], "env": {...}, "cwd": folder (optional),
"calls": [[tool, arguments], ...]}``.
Prints ``{"results": [{"tool", "is_error", "invalid", "text", "structured"}]}``
on the last line: ``invalid`` is the SDK's complaint about a result that does
not match its output schema (null when it matched), ``structured`` the
result's ``structuredContent``.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def run(request: dict) -> list:
    command = request["command"]
    env = dict(os.environ)
    env.update(request.get("env") or {})
    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=request.get("cwd"))
    results = []
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for tool, arguments in request["calls"]:
                try:
                    result = await session.call_tool(tool, arguments)
                except RuntimeError as error:
                    results.append({"tool": tool, "is_error": False, "invalid": str(error), "text": None, "structured": None})
                    continue
                text = " ".join(item.text for item in result.content if getattr(item, "text", None))
                results.append({"tool": tool, "is_error": bool(result.isError), "invalid": None, "text": text,
                                "structured": result.structuredContent})
    return results


def main() -> None:
    request = json.load(sys.stdin)
    print(json.dumps({"results": asyncio.run(run(request))}))


if __name__ == "__main__":
    main()
