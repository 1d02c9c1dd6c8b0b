"""Prove that the interpreter running this script has Windows file-sharing semantics.

Run it under the Windows CPython on Wine:
    bash tests/windows/winpy.sh python tests/windows/probe_sharing.py
One line per check; exit status 1 if any expectation fails (e.g. when run on Linux).
Standard library only.
"""
import gc
import os
import shutil
import sqlite3
import sys
import tempfile

failures = 0


def check(name, ok, detail=""):
    global failures
    if not ok:
        failures += 1
    print(f"{'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}", flush=True)


def try_replace(src, dst):
    """Return (exception or None) from os.replace(src, dst)."""
    try:
        os.replace(src, dst)
    except OSError as e:
        return e
    return None


def describe(err):
    if err is None:
        return "no error"
    return f"{type(err).__name__} errno={err.errno} winerror={getattr(err, 'winerror', None)}"


def is_sharing_violation(err):
    return isinstance(err, PermissionError) and getattr(err, "winerror", None) == 32


def wal_db(path, rows):
    con = sqlite3.connect(path)
    mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    con.execute("CREATE TABLE t(x)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])
    con.commit()
    return con, mode


def main():
    winver = getattr(sys, "getwindowsversion", lambda: None)()
    print(f"python {sys.version.split()[0]} on {sys.platform}"
          f"{f' (Windows {winver.major}.{winver.minor}.{winver.build})' if winver else ''},"
          f" sqlite {sqlite3.sqlite_version}", flush=True)
    check("sys.platform is win32", sys.platform == "win32", sys.platform)

    work = tempfile.mkdtemp(prefix="probe-sharing-")
    try:
        # 1. An open SQLite connection (WAL) holds the file: rename must fail with WinError 32.
        db, moved = os.path.join(work, "held.db"), os.path.join(work, "held-moved.db")
        con, mode = wal_db(db, 10)
        check("sqlite journal_mode is wal", mode == "wal", mode)
        err = try_replace(db, moved)
        check("open connection: os.replace -> PermissionError winerror 32",
              is_sharing_violation(err), describe(err))
        if err is None:
            os.replace(moved, db)                  # not Windows: undo, keep probing
        con.close()
        err = try_replace(db, moved)
        check("after close(): os.replace succeeds", err is None, describe(err))

        # 2. close() while an unfinished cursor lives in a reference cycle (gc disabled):
        #    on 3.11+ close() leaves a "zombie" connection whose file handle stays open
        #    until the cursor's statement is finalized, i.e. until gc.collect().
        if sys.version_info < (3, 11):
            print("SKIP  cursor-in-cycle checks need Python 3.11+ "
                  "(<=3.10 close() finalizes all statements)", flush=True)
        else:
            db, moved = os.path.join(work, "cycle.db"), os.path.join(work, "cycle-moved.db")
            gc.disable()
            try:
                con, _ = wal_db(db, 1000)

                def make_cycle(con):
                    cur = con.cursor()
                    cur.execute("SELECT x FROM t")
                    cur.fetchone()                 # statement left unfinished
                    holder = {"cur": cur}
                    holder["self"] = holder        # unreachable only through gc

                make_cycle(con)
                try:
                    con.close()
                    closed = None
                except Exception as e:  # reported, not raised
                    closed = e
                check("cycle: con.close() returns without error", closed is None,
                      describe(closed) if closed else "")
                del con
                err = try_replace(db, moved)
                check("cycle, before gc.collect(): os.replace -> PermissionError winerror 32",
                      is_sharing_violation(err), describe(err))
                if err is None:
                    os.replace(moved, db)

                collected = gc.collect()
                err = try_replace(db, moved)
                check("cycle, after gc.collect(): os.replace succeeds", err is None,
                      f"{describe(err)}; gc.collect() -> {collected}")
            finally:
                gc.enable()
    finally:
        gc.collect()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'OK' if not failures else 'FAILED'}: {failures} failed check(s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
