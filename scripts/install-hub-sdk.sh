#!/usr/bin/env bash
# Installs the official LangGraph Python client (langgraph-sdk from PyPI) into
# target/hub-venv/, for the tests that drive the Hub protocol with it. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="${FUSTAT_HUB_VENV:-target/hub-venv}"
version="0.4.14"
if ! "$dir/bin/python" -c "import langgraph_sdk, sys; sys.exit(0 if langgraph_sdk.__version__ == '$version' else 1)" 2>/dev/null; then
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "langgraph-sdk==$version"
fi
echo "langgraph-sdk $version is in $dir"
