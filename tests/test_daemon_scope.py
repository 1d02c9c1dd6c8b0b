"""``daemon run --scope DIR`` picks the tenant a fresh data dir serves, as EXECUTOR_SCOPE_DIR does,
and without it the tenant comes from the data dir, whatever folder the daemon starts in."""

from __future__ import annotations

from pathlib import Path

from executor_local.store.tenant import tenant_for_dir
from proc import Daemon, wait_for


def _served_tenant(pyz: Path, env: dict[str, str], args: list[str], cwd: Path) -> str:
    with Daemon(pyz, args, env, cwd=cwd) as d:
        d.wait_ready()
        wait_for(lambda: "serving tenant " in d.err, 10, "the tenant line")
        line = next(x for x in d.err.splitlines() if "serving tenant " in x)
        assert d.terminate() == 0
    return line.split("serving tenant ", 1)[1].split()[0]


def test_scope_flag_picks_the_tenant(pyz: Path, env: dict[str, str], tmp_path: Path) -> None:
    scope = tmp_path / "project"
    scope.mkdir()
    data = tmp_path / "data"
    base = ["--data-dir", str(data), "daemon", "run", "--foreground", "--port", "0"]
    assert _served_tenant(pyz, env, [*base, "--scope", str(scope)], tmp_path) == (
        tenant_for_dir(scope))
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert _served_tenant(pyz, env, base, other) == tenant_for_dir(data)
