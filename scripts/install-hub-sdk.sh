#!/usr/bin/env bash
# Installs the official LangGraph clients the Hub protocol tests drive the server with:
#   langgraph-sdk (PyPI) into target/hub-venv/, and @langchain/langgraph-sdk (npm) into
#   target/hub-js/ in two versions: 0.1.x (what Agent Hub pins) and 1.x (current).
# Idempotent; needs python3 (with venv) and node/npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${FUSTAT_HUB_VENV:-target/hub-venv}"
js="${FUSTAT_HUB_JS:-target/hub-js}"
py_version="0.4.14"
js_old="0.1.10"
js_new="1.15.0"
if ! "$venv/bin/python" -c "import langgraph_sdk, sys; sys.exit(0 if langgraph_sdk.__version__ == '$py_version' else 1)" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "langgraph-sdk==$py_version"
fi
echo "langgraph-sdk $py_version is in $venv"
if [ ! -f "$js/node_modules/langgraph-sdk-0.1/package.json" ] || [ ! -f "$js/node_modules/langgraph-sdk-1/package.json" ]; then
  mkdir -p "$js"
  [ -f "$js/package.json" ] || echo '{"name": "fustat-hub-clients", "private": true}' > "$js/package.json"
  npm install --no-audit --no-fund --loglevel=error --prefix "$js" \
    "langgraph-sdk-0.1@npm:@langchain/langgraph-sdk@$js_old" \
    "langgraph-sdk-1@npm:@langchain/langgraph-sdk@$js_new"
fi
echo "@langchain/langgraph-sdk $js_old and $js_new are in $js"
