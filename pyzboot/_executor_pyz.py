"""The bundle's bootstrap: unpack the payload once, safely, then run the CLI from it.

It replaces shiv's bootstrap (design §7, issue 10 A). It runs from the zip before anything of the
payload can be imported, so it uses the standard library only and makes its few file-system
changes itself (executor_local.fs is inside the payload it is about to unpack).

Layout, compatible with what ``executor paths``, ``doctor`` and the pruning of old extractions
read: ``$SHIV_ROOT`` (default ``~/.shiv``) holds ``<pyz name>_<build id>/`` with
``site-packages/`` (everything every CPython shares) and ``site-packages-cpXY/`` (the few
distributions whose files differ per CPython, pywin32 on Windows).

Why it cannot brick later launches:
- The one launch that unpacks holds ``.<dir>_lock``: an OS lock (``flock`` / ``msvcrt.locking``)
  that the kernel drops when the process dies, however it dies. The file records the holder's
  pid so that a waiter can name it. No child process is ever started (shiv's ``--compile-pyc``
  ran a process pool whose orphaned workers kept the lock after a SIGKILL).
- The first part (what runs before READY) is written in place, marked ``.incomplete``, each
  module at its first import (OnDemand), the rest after READY or at exit; the mark goes and the
  lock is released only once it is whole. The later part (compiled libraries) is unpacked into
  ``.<dir>.tmp-<pid>`` and renamed into place once complete. A marked folder or a ``.tmp-*``
  left by a killed launch is removed by the next launch that holds the lock (nobody else can
  be writing it then).
- A launch that finds another one unpacking says so on stderr at once and waits at most
  ``$EXECUTOR_UNPACK_TIMEOUT`` seconds (default 120), then exits 12 with a message.
- No compile step at unpack time: the first part comes with the byte-code of every CPython the
  build machine had (unpacked for the running one only); anything else is compiled by Python on
  first import and written beside the source, for each CPython that runs the bundle (even when
  ``PYTHONDONTWRITEBYTECODE`` is set). On a read-only root Python just skips writing it.
"""

import _imp
import atexit
import errno
import io
import json
import os
import shutil
import sys
import threading
import time
import zipfile

if os.name == "nt":
    import msvcrt
else:
    import fcntl

EXIT_UNPACK = 12
DEFAULT_WAIT_S = 120.0
PID_OFFSET = 16  # the pid is written past the locked byte: Windows locks are mandatory
PAYLOAD = "payload.zip"


def say(message):
    sys.stderr.write("executor: " + message + "\n")
    sys.stderr.flush()


def fail(message):
    say(message)
    sys.exit(EXIT_UNPACK)


def archive_path():
    return os.path.realpath(__loader__.archive)


def read_info(archive):
    return json.loads(__loader__.get_data(os.path.join(archive, "bundle-info.json")))


def configured_root():
    root = os.environ.get("SHIV_ROOT")
    return os.path.abspath(os.path.expanduser(root or os.path.join("~", ".shiv")))


def fallback_root():
    """A private folder in the temp dir, for when the configured root is not writable."""
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else None
    name = "executor-shiv" if uid is None else "executor-shiv-%d" % uid
    path = os.path.join(tempfile.gettempdir(), name)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    if uid is not None:
        st = os.lstat(path)
        if not os.path.isdir(path) or os.path.islink(path) or st.st_uid != uid or (
                st.st_mode & 0o077):
            raise PermissionError(errno.EACCES, "not a private folder of this user", path)
    return path


class Lock:
    """An exclusive OS lock on a file, dropped by the kernel when the holder dies."""

    def __init__(self, path):
        self.path = path
        self.locked = False
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def try_acquire(self):
        try:
            if os.name == "nt":
                os.lseek(self.fd, 0, os.SEEK_SET)
                msvcrt.locking(self.fd, msvcrt.LK_NBLCK, 1)
            else:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        self.locked = True
        return True

    def write_pid(self):
        os.lseek(self.fd, PID_OFFSET, os.SEEK_SET)
        os.write(self.fd, ("%d\n" % os.getpid()).ljust(16).encode())

    def holder(self):
        try:
            os.lseek(self.fd, PID_OFFSET, os.SEEK_SET)
            return int(os.read(self.fd, 16).decode().strip() or "0") or None
        except (OSError, ValueError):
            return None

    def close(self):
        if self.locked and os.name == "nt":
            # Windows wants a region unlocked before its file is closed (Wine keeps it held
            # otherwise, against this very process); a killed holder's lock the OS drops.
            try:
                os.lseek(self.fd, 0, os.SEEK_SET)
                msvcrt.locking(self.fd, msvcrt.LK_UNLCK, 1)
            except OSError:
                pass
        self.locked = False
        os.close(self.fd)  # closing drops the lock (POSIX)


def wait_s():
    try:
        return max(0.0, float(os.environ.get("EXECUTOR_UNPACK_TIMEOUT") or DEFAULT_WAIT_S))
    except ValueError:
        return DEFAULT_WAIT_S


def acquire(lock, target):
    """Take the unpack lock, or wait (bounded, and saying so) for the launch that has it."""
    if lock.try_acquire():
        return
    bound = wait_s()
    started = time.monotonic()
    pid = None
    while pid is None and time.monotonic() - started < 0.5:
        pid = lock.holder()  # the holder writes its pid just after it locks
        if pid is None:
            if lock.try_acquire():
                return
            time.sleep(0.01)
    who = "pid %d" % pid if pid else "another launch"
    say("first start of this version: unpacking, waiting for %s (%s)" % (who, target))
    delay = 0.01
    while not lock.try_acquire():
        if time.monotonic() - started > bound:
            lock.close()
            fail("gave up after %.0f s waiting for %s to finish unpacking %s; if it is stuck, "
                 "end it%s and start again (EXECUTOR_UNPACK_TIMEOUT sets the wait)"
                 % (bound, who, target, " (kill %d)" % pid if pid and os.name != "nt" else ""))
        time.sleep(delay)  # polling an OS lock; there is nothing to wait on
        delay = min(delay * 2, 0.1)


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


def unpack(archive, member, tmp):
    with zipfile.ZipFile(archive) as outer:
        data = outer.read(member)  # stored: read at once (seeking inside a member is slow)
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        made = set()
        mine = "." + sys.implementation.cache_tag + ".pyc"
        for info in inner.infolist():
            if info.is_dir():
                continue
            if info.filename.endswith(".pyc") and not info.filename.endswith(mine):
                continue  # the byte-code of another CPython: it compiles its own
            dest = os.path.join(tmp, *info.filename.split("/"))
            parent = os.path.dirname(dest)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            with inner.open(info) as src, open(dest, "wb") as out:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)


def rename_into_place(tmp, final):
    deadline = time.monotonic() + 8
    while True:
        try:
            os.rename(tmp, final)
            return
        except PermissionError:  # Windows: a scanner may still hold a new file for a moment
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def unpack_locked(archive, member, root, base, final, done):
    """Unpack ``member`` of the archive into the folder ``final``, under the lock of ``base``."""
    os.makedirs(root, exist_ok=True)
    lock = Lock(os.path.join(root, "." + base + "_lock"))
    try:
        acquire(lock, final)
        lock.write_pid()
        test_pause(member, final)
        if done(final):
            return  # the launch we waited for finished it
        parent, leaf = os.path.split(final)
        os.makedirs(parent, exist_ok=True)
        # Holding the lock, nobody else is unpacking this build: leftovers are a killed launch's.
        for name in os.listdir(parent):
            if name.startswith("." + leaf + ".tmp-"):
                remove_tree(os.path.join(parent, name))
        if os.path.lexists(final):  # not ours: we only ever rename complete folders in
            stale = os.path.join(parent, "." + leaf + ".tmp-stale-%d" % os.getpid())
            os.rename(final, stale)
            remove_tree(stale)
        tmp = os.path.join(parent, "." + leaf + ".tmp-%d" % os.getpid())
        started = time.monotonic()
        unpack(archive, member, tmp)
        rename_into_place(tmp, final)
        if os.environ.get("EXECUTOR_LOG_LEVEL", "").lower() == "debug":
            say("unpacked %s in %.0f ms" % (final, (time.monotonic() - started) * 1000))
    finally:
        lock.close()


INCOMPLETE = ".incomplete"  # in a first-part folder still being written: not usable


def begin_first(archive, root, base, final):
    """Take the lock and start the first part in ``final``: an OnDemand that holds the lock
    until complete(), or None when the launch we waited for has finished it."""
    os.makedirs(root, exist_ok=True)
    lock = Lock(os.path.join(root, "." + base + "_lock"))
    try:
        acquire(lock, final)
        lock.write_pid()
        test_pause(PAYLOAD, final)
        if first_part_done(final):
            lock.close()
            return None
        parent, leaf = os.path.split(final)
        # Holding the lock, nobody else is unpacking this build: leftovers are a killed launch's.
        for name in os.listdir(parent):
            if name.startswith("." + leaf + ".tmp-"):
                remove_tree(os.path.join(parent, name))
        if os.path.lexists(final):  # a killed launch's incomplete folder
            stale = os.path.join(parent, "." + leaf + ".tmp-stale-%d" % os.getpid())
            os.rename(final, stale)
            remove_tree(stale)
        os.mkdir(final)
        with open(os.path.join(final, INCOMPLETE), "w") as f:
            f.write("%d\n" % os.getpid())
        return OnDemand(archive, final, lock)
    except BaseException:
        lock.close()
        raise


class OnDemand:
    """The first part of a first launch, written as it is imported, the rest at complete().

    Writing its ~900 files took 0.2-0.8 s here, and a launch imports under a fifth of them
    before READY: each module's files are written at its first import (this finder comes first
    on sys.meta_path), the files that are not modules (.pth, package data, metadata) at once,
    and complete() writes the rest after READY (or at exit), removes the INCOMPLETE marker and
    only then releases the lock. Killed before that, the folder stays marked and the next launch
    that takes the lock removes it and starts over.
    """

    def __init__(self, archive, final, lock):
        self.final = final
        self.lock = lock
        self.mutex = threading.Lock()  # nothing imports while holding it (see ensure_later)
        self.done = False
        self.started = time.monotonic()
        with zipfile.ZipFile(archive) as outer:
            data = outer.read(PAYLOAD)  # stored: read at once (seeking inside a member is slow)
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        mine = "." + sys.implementation.cache_tag + ".pyc"
        self.pending = {}
        self.dirs = set()
        for info in self.zip.infolist():
            name = info.filename
            if info.is_dir() or (name.endswith(".pyc") and not name.endswith(mine)):
                continue  # the byte-code of another CPython: it compiles its own
            self.pending[name] = info
            parent = name.rpartition("/")[0]
            while parent and parent not in self.dirs:
                self.dirs.add(parent)
                parent = parent.rpartition("/")[0]
        self.total = len(self.pending)
        self.made = set()
        with self.mutex:
            for name in [n for n in self.pending if not n.endswith((".py", ".pyc"))]:
                self.write(name)

    def write(self, name):
        info = self.pending.pop(name, None)
        if info is None:
            return
        dest = os.path.join(self.final, *name.split("/"))
        parent = os.path.dirname(dest)
        if parent not in self.made:
            os.makedirs(parent, exist_ok=True)
            self.made.add(parent)
        with self.zip.open(info) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)

    def members_of(self, module):
        """The payload files of a module or package: its source and this CPython's byte-code."""
        rel = "site-packages/" + module.replace(".", "/")
        head, _, leaf = rel.rpartition("/")
        tag = sys.implementation.cache_tag
        return (rel + ".py", "%s/__pycache__/%s.%s.pyc" % (head, leaf, tag),
                rel + "/__init__.py", "%s/__pycache__/__init__.%s.pyc" % (rel, tag))

    def find_spec(self, name, path=None, target=None):
        if self.done:
            return None
        try:
            with self.mutex:
                for member in self.members_of(name):
                    self.write(member)
                rel = "site-packages/" + name.replace(".", "/")
                if rel in self.dirs:  # a package, perhaps a namespace one: its folder
                    os.makedirs(os.path.join(self.final, *rel.split("/")), exist_ok=True)
        except OSError as exc:
            fail("could not unpack the bundle into %s: %s" % (self.final, exc))
        self.forget_listings()
        return None  # the path finders, now seeing the files, find the module

    def forget_listings(self):
        # The path finders cache folder listings by mtime, which may not move on a coarse clock.
        for entry, finder in list(sys.path_importer_cache.items()):
            if finder is not None and str(entry).startswith(self.final):
                finder.invalidate_caches()

    def invalidate_caches(self):
        pass

    def complete(self):
        """Write the rest, unmark the folder, release the lock; once, from any thread."""
        if self.done:
            return
        try:
            while True:
                with self.mutex:
                    if self.done:
                        return
                    if not self.pending:
                        os.remove(os.path.join(self.final, INCOMPLETE))
                        self.done = True
                        break
                    self.write(next(iter(self.pending)))
        except OSError as exc:  # the lock stays ours: nobody may remove what we run from
            say("could not finish unpacking %s: %s; the next launch will start it over"
                % (self.final, exc))
            return
        self.forget_listings()
        self.lock.close()
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        if os.environ.get("EXECUTOR_LOG_LEVEL", "").lower() == "debug":
            say("unpacked %s in %.0f ms, %d files, as they were needed then the rest"
                % (self.final, (time.monotonic() - self.started) * 1000, self.total))


def test_pause(member, final):
    """Test seam (EXECUTOR_TEST_MODE=1): hold the lock forever, after writing the folder about
    to be unpacked to $EXECUTOR_TEST_UNPACK_PAUSE (the first part) or
    $EXECUTOR_TEST_UNPACK_PAUSE_LATER (the later part), so a test can see others wait on us."""
    name = "EXECUTOR_TEST_UNPACK_PAUSE" + ("_LATER" if member != PAYLOAD else "")
    marker = os.environ.get(name)
    if os.environ.get("EXECUTOR_TEST_MODE") == "1" and marker:
        with open(marker + ".tmp", "w") as f:
            f.write(final)
        os.replace(marker + ".tmp", marker)
        while True:
            time.sleep(3600)


def first_part_done(target):
    return (os.path.isdir(os.path.join(target, "site-packages"))
            and not os.path.exists(os.path.join(target, INCOMPLETE)))


def not_writable(exc):
    return isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (
        errno.EROFS, errno.EACCES, errno.EPERM)


def with_fallback(what, attempt):
    """``attempt(root)`` in the configured root, else in a private temp folder; returns root."""
    root = configured_root()
    try:
        attempt(root)
        return root
    except OSError as exc:
        if not not_writable(exc):
            fail("could not unpack %s into %s: %s" % (what, root, exc))
        first = exc
    try:
        alt_root = fallback_root()
        attempt(alt_root)
    except OSError as exc:
        fail("cannot unpack %s: %s is not writable (%s), nor is the temp dir (%s); set "
             "SHIV_ROOT to a writable folder" % (what, root, first, exc))
    say("%s is not writable (%s); using %s instead (set SHIV_ROOT to choose)"
        % (root, first.strerror or first, alt_root))
    os.environ["SHIV_ROOT"] = alt_root  # children and `executor paths` use the same root
    return alt_root


class Bundle:
    """This bundle's extraction: the first part (needed before READY) and the later part."""

    def __init__(self, archive, info):
        self.archive = archive
        self.info = info
        self.base = "%s_%s" % (os.path.basename(archive), info["build_id"])
        self.target = os.path.join(configured_root(), self.base)
        self.later = None  # the later part's folder, once it is on the import path
        self.unpacked = None  # the later part's folder, once it is complete on disk
        self.finder = None
        self.first = None  # the OnDemand writing the first part, on a first launch
        self.mutex = threading.Lock()
        # A bundle for another OS still runs its pure-Python part here (to say that it is the
        # wrong file); its .pth files (pywin32's) would fail, so they are not run.
        self.foreign = this_platform() != info["platform"]

    def add_dir(self, path):
        import site

        if self.foreign:
            sys.path.append(path)
        else:
            site.addsitedir(path)

    def ensure_first(self):
        if first_part_done(self.target):
            return
        started = []
        root = with_fallback("the bundle", lambda root: started.append(begin_first(
            self.archive, root, self.base, os.path.join(root, self.base))))
        self.target = os.path.join(root, self.base)
        self.first = started[-1] if started else None
        if self.first is not None:
            sys.meta_path.insert(0, self.first)
            atexit.register(self.complete_first)  # a command that never reaches READY

    def complete_first(self):
        """Finish a first part written on demand (after READY); a no-op when there is none."""
        if self.first is not None:
            self.first.complete()

    def later_dir(self):
        return os.path.join(self.target, "later")

    def ensure_later(self):
        """Unpack the later part (compiled libraries) if need be; True once it is importable.

        Two locks, always taken in one order. Unpacking, under ``self.mutex``, imports nothing:
        a thread that holds Python's import lock (LaterFinder.find_spec runs under it) may wait
        for it, while any other thread that is not importing a later name goes on importing
        (the daemon's event loop, when the unpacking runs after READY). Putting the part on
        the path runs its .pth files, which import, so that step holds the import lock.
        """
        if self.later is not None:
            return True
        import tempfile  # noqa: F401  (with_fallback's; importing under the mutex could deadlock)

        self.complete_first()  # it holds the lock file the later part's unpacking takes

        with self.mutex:
            if self.unpacked is None:
                self.unpacked = self.unpack_later()
        acquire_import_lock()
        try:
            if self.later is None:
                self.add_later(self.unpacked)
        finally:
            release_import_lock()
        return True

    def unpack_later(self):
        later = self.later_dir()
        if os.path.isdir(later):
            return later
        root_of_target = os.path.dirname(self.target)

        def attempt(root):
            final = os.path.join(root, self.base, "later") if root != root_of_target else later
            unpack_locked(self.archive, "payload-later.zip", root, self.base, final,
                          os.path.isdir)
            return final

        result = []
        root = with_fallback("the compiled libraries", lambda root: result.append(attempt(root)))
        return result[-1] if result else os.path.join(root, self.base, "later")

    def add_later(self, later):
        import importlib

        # Off the import path first: the .pth files run below import names of the later part
        # (pywin32's), which must not come back here while the mutex is held.
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        before = list(sys.path)
        overlay = os.path.join(later, "site-packages-cp%d%d" % sys.version_info[:2])
        if os.path.isdir(overlay):
            self.add_dir(overlay)
        self.add_dir(os.path.join(later, "site-packages"))
        added = [p for p in sys.path if p not in before]
        first = os.path.join(self.target, "site-packages")
        at = sys.path.index(first) + 1 if first in sys.path else 0
        rest = [p for p in sys.path if p not in added]
        sys.path[:] = rest[:at] + added + rest[at:]
        self.later = later
        importlib.invalidate_caches()

    def setup_path(self):
        before = list(sys.path)
        self.add_dir(os.path.join(self.target, "site-packages"))
        added = [p for p in sys.path if p not in before]
        sys.path[:] = added + [p for p in sys.path if p not in added]
        if os.path.isdir(self.later_dir()):
            self.add_later(self.later_dir())
        else:
            self.finder = LaterFinder(self, self.info.get("lazy_names", []))
            sys.meta_path.insert(0, self.finder)


class LaterFinder:
    """Unpacks the later part at the first import of one of its names, then steps aside."""

    def __init__(self, bundle, names):
        self.bundle = bundle
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if path is None and name in self.names:
            if os.environ.get("EXECUTOR_LOG_LEVEL", "").lower() == "debug":
                say("import of %s: unpacking the later part of the bundle" % name)
            self.bundle.ensure_later()
        return None  # the path finders, now seeing the later part, find the module

    def invalidate_caches(self):
        pass


def this_platform():
    machine = (os.uname().machine if hasattr(os, "uname")
               else os.environ.get("PROCESSOR_ARCHITECTURE", "")).lower()
    if sys.platform == "win32":
        return "windows-" + {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    system = "macos" if sys.platform == "darwin" else sys.platform.rstrip("0123456789")
    return system + "-" + {"amd64": "x86_64", "arm64": "aarch64" if system == "linux"
                           else "arm64"}.get(machine, machine)


BUNDLE = None


def acquire_import_lock():
    if hasattr(_imp, "acquire_lock"):
        _imp.acquire_lock()


def release_import_lock():
    if hasattr(_imp, "release_lock"):
        _imp.release_lock()


def ensure_later():
    """For the program: unpack the compiled libraries now (the daemon calls it after READY)."""
    return BUNDLE.ensure_later() if BUNDLE is not None else False


def main():
    global BUNDLE
    archive = archive_path()
    BUNDLE = bundle = Bundle(archive, read_info(archive))
    bundle.ensure_first()
    bundle.setup_path()
    # Python writes each module's byte-code on first import, for whichever CPython runs us.
    sys.dont_write_bytecode = False
    if bundle.foreign:
        running = this_platform()
        say("warning: this file is for %s, and this computer is %s: its compiled modules will "
            "not load (`executor doctor` checks them); get executor-%s.pyz"
            % (bundle.info["platform"], running, running))
    from executor_local.cli import main as cli_main

    cli_main()
