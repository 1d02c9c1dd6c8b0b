#!/usr/bin/env bash
# Run the whole test suite from a fresh checkout: makes .venv, installs the project with its test
# dependencies, lints, builds the bundle, runs pytest on two workers, then the Windows part under
# Wine (tests/windows/run.sh) unless EXECUTOR_SKIP_WINE=1.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/ruff check src tests build.py bench pyzboot
.venv/bin/python build.py >/dev/null

status=0
.venv/bin/python -m pytest -n 2 "$@" || status=$?

if [ "${EXECUTOR_SKIP_WINE:-0}" != "1" ] && [ -x tests/windows/run.sh ]; then
  tests/windows/run.sh || status=$?
fi
exit "$status"
