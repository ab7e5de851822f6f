#!/usr/bin/env bash
# Runs server scenarios of the official MCP conformance suite
# (@modelcontextprotocol/conformance, pinned in package.json) against a
# streamable HTTP MCP server.
#
#   tests/node/conformance.sh URL SCENARIO...
#   e.g. tests/node/conformance.sh http://127.0.0.1:8765/ server-initialize ping tools-list
#
# Prints one line per scenario ("PASS name: N passed, 0 failed" or
# "FAIL name: ... -- <first failure>") and a closing "N passed, N failed"
# line (scenarios); exits 1 when any scenario fails, 2 on a usage error.
#
# The suite sends no credentials and has no option for headers. Set
# CONFORMANCE_AUTHORIZATION (e.g. "Bearer anything") to put a loopback proxy
# (auth_proxy.mjs) in front of URL that adds that Authorization header to
# every request lacking one; Host and Origin pass through unchanged, so the
# server sees the proxy's port in them (CONFORMANCE_PROXY_PORT fixes that
# port; a free one otherwise).
# CONFORMANCE_VERBOSE=1 prints the suite's own output too; it is kept in
# $CONFORMANCE_OUTPUT_DIR (default: a temporary folder) otherwise.
#
# Needs `npm ci --prefix tests/node` first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"

if [[ $# -lt 2 ]]; then
  echo "usage: $0 URL SCENARIO..." >&2
  exit 2
fi
if [[ ! -f "$suite" ]]; then
  echo "conformance suite not installed: run npm ci --prefix $here" >&2
  exit 2
fi

url="$1"
shift
out="${CONFORMANCE_OUTPUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/mcp-conformance.XXXXXX")}"
mkdir -p "$out"

proxy_pid=""
cleanup() {
  if [[ -n "$proxy_pid" ]]; then
    kill "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

if [[ -n "${CONFORMANCE_AUTHORIZATION:-}" ]]; then
  coproc PROXY { exec node "$here/auth_proxy.mjs" "$url" "$CONFORMANCE_AUTHORIZATION" "${CONFORMANCE_PROXY_PORT:-0}"; }
  proxy_pid=$PROXY_PID
  if ! IFS= read -r -t 10 -u "${PROXY[0]}" proxied; then
    echo "conformance: the auth proxy did not start" >&2
    exit 2
  fi
  echo "conformance: $url through $proxied (adds Authorization)"
  url="$proxied"
fi

passed=0
failed=0
for scenario in "$@"; do
  dir="$out/$scenario"
  rm -rf "$dir"
  mkdir -p "$dir"
  log="$dir/output.txt"
  set +e
  node "$suite" server --url "$url" --scenario "$scenario" -o "$dir" >"$log" 2>&1
  code=$?
  set -e
  if [[ "${CONFORMANCE_VERBOSE:-}" == 1 ]]; then
    sed "s/^/  [$scenario] /" "$log"
  fi
  checks="$(find "$dir" -name checks.json -print -quit)"
  summary="$(
    node - "$checks" "$code" "$log" <<'EOF'
const fs = require('node:fs');
const [checksPath, code, log] = process.argv.slice(2);
let checks = null;
try { checks = JSON.parse(fs.readFileSync(checksPath, 'utf8')); } catch {}
if (!Array.isArray(checks)) {
  const tail = fs.readFileSync(log, 'utf8').trim().split('\n').filter((l) => l.trim()).slice(0, 3).join(' | ');
  console.log(`FAIL: no results (exit ${code}) -- ${tail}`);
  process.exit(0);
}
const ok = checks.filter((c) => c.status === 'SUCCESS').length;
const bad = checks.filter((c) => c.status === 'FAILURE');
const warn = checks.filter((c) => c.status === 'WARNING').length;
const verdict = bad.length === 0 && code === '0' ? 'PASS' : 'FAIL';
let line = `${verdict}: ${ok} passed, ${bad.length} failed`;
if (warn) line += `, ${warn} warnings`;
if (bad.length) line += ` -- ` + bad.map((c) => `${c.id}: ${c.errorMessage ?? c.description}`).join('; ');
else if (code !== '0') line += ` -- exit ${code}`;
console.log(line);
EOF
  )"
  verdict="${summary%%:*}"
  echo "$verdict $scenario:${summary#*:}"
  if [[ "$verdict" == PASS ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done

echo "conformance: output in $out"
echo "conformance: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
