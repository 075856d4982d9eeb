#!/usr/bin/env bash
# Fuzzes the live HTTP API from its OpenAPI document with schemathesis and fails on any
# 5xx answer. One command: `bash scripts/fuzz.sh` (MAX_EXAMPLES=N for a longer run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

max_examples="${MAX_EXAMPLES:-25}"
port="${FUZZ_PORT:-8765}"
venv=target/fuzz-venv
if [ ! -x "$venv/bin/schemathesis" ] && [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check schemathesis
fi
st="$venv/bin/schemathesis"
[ -x "$st" ] || st="$venv/bin/st"

cargo build --quiet -p fustat
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
FUSTAT_MASTER_KEY_FILE="$work/master.key" FUSTAT_LOG_LEVEL=warn \
  target/debug/fustat serve --port "$port" --database-url "sqlite://$work/fuzz.db?mode=rwc" &
server=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.2
done

"$st" run "http://127.0.0.1:$port/openapi.json" \
  --checks not_a_server_error \
  --max-examples "$max_examples" \
  --request-timeout 20 \
  --exclude-path-regex '^/api/v1/agents/ai-generate$'
