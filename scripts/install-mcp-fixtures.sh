#!/usr/bin/env bash
# Installs the public reference MCP servers the tests use, into target/mcp-fixtures/:
#   @modelcontextprotocol/server-everything (npm) and mcp-server-time (PyPI).
# Idempotent; needs node/npm and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="${FUSTAT_MCP_FIXTURES:-target/mcp-fixtures}"
mkdir -p "$dir"
if [ ! -f "$dir/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js" ]; then
  npm install --no-audit --no-fund --loglevel=error --prefix "$dir/npm" \
    @modelcontextprotocol/server-everything@2026.8.31
fi
if [ ! -x "$dir/venv/bin/mcp-server-time" ]; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check mcp-server-time
fi
echo "reference MCP servers are in $dir"
