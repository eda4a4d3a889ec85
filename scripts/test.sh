#!/usr/bin/env bash
# The whole test suite: lint, format check, types, then pytest. Usage: scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
echo "== ruff check";  ruff check .
echo "== ruff format --check"; ruff format --check .
echo "== mypy"; mypy
echo "== pytest"
# CI: hypothesis derandomized (tests/conftest.py picks the profile from CI).
exec python -m pytest "$@"
