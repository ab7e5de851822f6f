#!/usr/bin/env node
// An independent MCP client on the official TypeScript SDK
// (@modelcontextprotocol/sdk, pinned in package.json), for tests that check
// how a real non-Rust client sees our server.
//
// stdin: one JSON request
//   {"command": [program, ...args], "env": {...}, "calls": [[tool, args], ...],
//    "list": true, "timeout_ms": 60000}
//   (env, calls, list and timeout_ms are optional.)
// stdout: exactly one JSON line at the end
//   {"tools": n, "prompts": n, "templates": n, "list_error": null,
//    "results": [{"tool", "is_error", "thrown", "text", "structured"}, ...],
//    "warnings": [...]}
//   tools/prompts/templates are null when not listed. Everything else goes
//   to stderr (the server's stderr is inherited).
// Exit 0 whatever the calls did; exit 1 only when the server cannot be
// started or initialized.
//
// The SDK checks a result against the tool's outputSchema only for tools it
// saw in tools/list (Client.cacheToolMetadata), so tools are listed whenever
// there are calls, even without "list".

import process from 'node:process';
import { format } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

// ---- warnings: everything the SDK (or ajv, its schema compiler) prints ----
const warnings = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => {
    const line = format(...args);
    warnings.push(line);
    process.stderr.write(`[${level}] ${line}\n`);
  };
}
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  const text = warning instanceof Error ? `${warning.name}: ${warning.message}` : String(warning);
  const line = type && !(warning instanceof Error) ? `${type}: ${text}` : text;
  warnings.push(line);
  process.stderr.write(`[emitWarning] ${line}\n`);
};
// Warnings Node raises internally do not go through process.emitWarning.
process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));

function readStdin() {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => (data += chunk));
    process.stdin.on('end', () => resolve(data));
    process.stdin.on('error', reject);
  });
}

function finish(output, code) {
  process.stdout.write(`${JSON.stringify(output)}\n`, () => process.exit(code));
}

function errorMessage(error) {
  return error instanceof Error ? error.message : String(error);
}

/** All pages of a list method. */
async function listAll(method, key) {
  const items = [];
  let cursor;
  do {
    const page = await method(cursor === undefined ? undefined : { cursor });
    items.push(...(page[key] ?? []));
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

function joinedText(result) {
  if (!result || !Array.isArray(result.content)) return null;
  return result.content
    .filter((block) => block?.type === 'text')
    .map((block) => block.text)
    .join('\n');
}

async function main() {
  let request;
  try {
    request = JSON.parse(await readStdin());
  } catch (error) {
    process.stderr.write(`ts_client: stdin is not one JSON request: ${errorMessage(error)}\n`);
    process.exit(1);
  }
  const [command, ...args] = request.command ?? [];
  if (typeof command !== 'string') {
    process.stderr.write('ts_client: request.command must be [program, ...args]\n');
    process.exit(1);
  }
  const calls = request.calls ?? [];
  const timeout = request.timeout_ms ?? 60_000;

  const transport = new StdioClientTransport({
    command,
    args,
    env: { ...process.env, ...(request.env ?? {}) },
    cwd: request.cwd,
    stderr: 'inherit',
  });
  const client = new Client({ name: 'kitaru-mcp-ts-client', version: '1.0.0' }, { capabilities: {} });
  client.onerror = (error) => process.stderr.write(`ts_client: transport error: ${errorMessage(error)}\n`);

  try {
    await client.connect(transport, { timeout });
  } catch (error) {
    process.stderr.write(`ts_client: cannot connect: ${errorMessage(error)}\n`);
    await client.close().catch(() => {});
    process.exit(1);
  }

  // Keep the raw result of the last tools/call, so a call the SDK rejected
  // (output schema) still shows what the server said.
  let lastResult = null;
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (message && 'result' in message && Array.isArray(message.result?.content)) {
      lastResult = message.result;
    }
    deliver?.(message, extra);
  };

  const output = { tools: null, prompts: null, templates: null, list_error: null, results: [], warnings };
  const listErrors = [];
  const capabilities = client.getServerCapabilities() ?? {};
  if (request.list || calls.length > 0) {
    try {
      let pages = 0;
      const tools = await listAll((p) => (pages++, client.listTools(p, { timeout })), 'tools');
      // Each listTools page replaces the SDK's validator cache: keep all pages.
      if (pages > 1) client.cacheToolMetadata(tools);
      if (request.list) output.tools = tools.length;
    } catch (error) {
      listErrors.push(`tools/list: ${errorMessage(error)}`);
    }
  }
  if (request.list) {
    if (capabilities.prompts) {
      try {
        output.prompts = (await listAll((p) => client.listPrompts(p, { timeout }), 'prompts')).length;
      } catch (error) {
        listErrors.push(`prompts/list: ${errorMessage(error)}`);
      }
    } else {
      output.prompts = 0;
    }
    if (capabilities.resources) {
      try {
        output.templates = (
          await listAll((p) => client.listResourceTemplates(p, { timeout }), 'resourceTemplates')
        ).length;
      } catch (error) {
        listErrors.push(`resources/templates/list: ${errorMessage(error)}`);
      }
    } else {
      output.templates = 0;
    }
  }
  if (listErrors.length > 0) output.list_error = listErrors.join('; ');

  for (const [tool, toolArgs] of calls) {
    lastResult = null;
    let result = null;
    let thrown = null;
    try {
      result = await client.callTool({ name: tool, arguments: toolArgs ?? {} }, undefined, { timeout });
    } catch (error) {
      thrown = errorMessage(error);
      result = lastResult;
    }
    output.results.push({
      tool,
      is_error: result ? result.isError === true : null,
      thrown,
      text: joinedText(result),
      structured: result ? result.structuredContent !== undefined : null,
    });
  }

  await client.close().catch((error) => process.stderr.write(`ts_client: close: ${errorMessage(error)}\n`));
  finish(output, 0);
}

main().catch((error) => {
  process.stderr.write(`ts_client: ${error?.stack ?? error}\n`);
  process.exit(1);
});
