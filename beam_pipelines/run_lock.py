"""One writer per data dir (SPEC §11): an exclusive lock every writing command holds.

``with hold(data_dir, "ott silver", wait=False):`` takes ``<data-dir>/ott.lock`` (an OS
file lock through the ``filelock`` library: released by the kernel when the process
dies, so a ``kill -9`` never leaves a stale lock). A second run exits at once with one
line naming the holder (pid, command, start time, from ``ott.lock.json`` beside the
lock), or waits for it with ``wait=True`` (``--wait`` on the command line).

The lock is re-entrant within a process: ``ott run`` holds it for the whole pipeline
and each stage it calls takes it again for free.

A data dir on object storage has no local file to lock: the lock is then a file in the
machine's temporary folder named after the URL, which keeps two runs on one machine
apart; runs on different machines are kept apart by the catalog, whose commits fail
(one line, nothing lost) when another writer committed first.
"""

from __future__ import annotations

import contextlib
import datetime as dt_
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator

from filelock import FileLock, Timeout

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttError

# lock path -> (FileLock, depth): re-entrancy within this process
_HELD: dict[str, tuple[FileLock, int]] = {}


def lock_path(data_dir: str) -> str:
    if "://" in data_dir and not data_dir.startswith("file://"):
        digest = hashlib.sha256(data_dir.rstrip("/").encode()).hexdigest()[:16]
        folder = os.path.join(tempfile.gettempdir(), "ott-locks")
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f"{digest}.lock")
    path = catalog.lock_file(os.path.abspath(data_dir))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _holder_file(path: str) -> str:
    return path + ".json"


def holder(data_dir: str) -> str:
    """Who holds the lock, as one phrase (or "unknown" when the note is unreadable)."""
    try:
        with open(_holder_file(lock_path(data_dir)), encoding="utf-8") as handle:
            note = json.load(handle)
        return f"pid {note['pid']} ({note['command']}, started {note['started']})"
    except (OSError, ValueError, KeyError):
        return "unknown holder"


@contextlib.contextmanager
def hold(data_dir: str, command: str, wait: bool = False) -> Iterator[None]:
    """Hold the data dir's lock for the block; raise :class:`OttError` if another run has it."""
    path = lock_path(data_dir)
    if path in _HELD:
        lock, depth = _HELD[path]
        _HELD[path] = (lock, depth + 1)
        try:
            yield
        finally:
            lock, depth = _HELD[path]
            _HELD[path] = (lock, depth - 1)
        return
    lock = FileLock(path, timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except Timeout:
        raise OttError(
            f"another run holds the lock of {data_dir}: {holder(data_dir)}; "
            "wait for it, or pass --wait to queue behind it"
        ) from None
    _HELD[path] = (lock, 1)
    try:
        note = {
            "pid": os.getpid(),
            "command": command,
            "started": dt_.datetime.now(dt_.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        with open(_holder_file(path), "w", encoding="utf-8") as handle:
            json.dump(note, handle)
        yield
    finally:
        del _HELD[path]
        with contextlib.suppress(OSError):
            os.remove(_holder_file(path))
        lock.release()


def add_lock_flags(parser) -> None:
    """``--wait`` on every writing command."""
    parser.add_argument(
        "--wait", action="store_true", help="if another run holds the data dir's lock, wait for it instead of exiting"
    )
