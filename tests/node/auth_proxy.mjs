#!/usr/bin/env node
// A loopback pass-through proxy that adds an Authorization header.
//
//   node auth_proxy.mjs TARGET_URL AUTHORIZATION [PORT]
//
// The MCP conformance suite has no option to send headers, and kitaru-mcp
// over HTTP answers 401 to any request without credentials. This proxy
// listens on 127.0.0.1 (PORT, or a free port), forwards every request to TARGET_URL's
// host and port with the path, method, body and all headers unchanged
// (Host and Origin included, so DNS-rebinding checks still reach the server
// as sent), adds `Authorization: AUTHORIZATION` when the request has none,
// and streams the answer back (SSE included). It prints its own base URL
// (http://127.0.0.1:PORT) followed by TARGET_URL's path as one line on
// stdout once it listens, and runs until killed.

import http from 'node:http';
import process from 'node:process';

const [target, authorization, listenPort = '0'] = process.argv.slice(2);
if (!target || !authorization) {
  process.stderr.write('usage: auth_proxy.mjs TARGET_URL AUTHORIZATION [PORT]\n');
  process.exit(2);
}
const upstream = new URL(target);
if (upstream.protocol !== 'http:') {
  process.stderr.write('auth_proxy: only http:// targets\n');
  process.exit(2);
}

const server = http.createServer((request, response) => {
  const headers = { ...request.headers };
  if (!headers.authorization) headers.authorization = authorization;
  const forward = http.request(
    {
      host: upstream.hostname.replace(/^\[|\]$/g, ''),
      port: upstream.port || 80,
      method: request.method,
      path: request.url,
      headers,
      setHost: false,
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
      response.flushHeaders();
      answer.pipe(response);
    },
  );
  forward.on('error', (error) => {
    if (!response.headersSent) {
      response.writeHead(502, { 'content-type': 'text/plain' });
    }
    response.end(`auth_proxy: ${error.message}`);
  });
  request.pipe(forward);
  response.on('close', () => forward.destroy());
});

server.listen(Number(listenPort), '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`http://127.0.0.1:${port}${upstream.pathname}${upstream.search}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
