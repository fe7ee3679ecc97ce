"""List bronze files: regular files only, anything else is a one-line error (SPEC §9).

``list_bronze_files(pattern) -> list[str]`` returns the sorted paths matching a glob
(``part-*.csv`` inside ``dt=`` folders, or one dimension file). On a local disk every
entry the glob matches is checked with ``lstat``/``stat`` *before* anything opens it:

- a regular file, or a symlink that resolves to one, is listed;
- a FIFO (opening it would block ``ott silver`` forever), a directory, a socket, a
  device, a dangling symlink, a symlink loop, or a file the process may not read is an
  :class:`~beam_pipelines.cli_support.OttError` naming the entry and what it is — never
  a hang and never a silent skip (Beam's own ``FileSystems.match`` drops dangling
  symlinks, loops and directories without a word).

On object storage (``gs://`` …) every object is a regular file, so the match is used as
is. Plain function, no Beam pipeline: ``silver.plan.list_bronze`` calls it.
"""

from __future__ import annotations

import errno
import glob
import os
import stat

from apache_beam.io.filesystems import FileSystems

from beam_pipelines.cli_support import OttError

_FILE_SCHEME = "file://"

# st_mode test → how the error names the entry
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _is_local(pattern: str) -> bool:
    return pattern.startswith(_FILE_SCHEME) or "://" not in pattern


def not_a_regular_file(path: str) -> str | None:
    """Why the local ``path`` cannot be read as a bronze file, or None when it can."""
    try:
        link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError as exc:  # vanished between the glob and the check
        return f"unreadable ({os.strerror(exc.errno or errno.EIO)})"
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop"
        if link and exc.errno == errno.ENOENT:
            return f"a dangling symlink (to '{os.readlink(path)}')"
        return f"unreadable ({os.strerror(exc.errno or errno.EIO)})"
    for test, kind in _KINDS:
        if test(mode):
            return kind + (" behind a symlink" if link else "")
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if not os.access(path, os.R_OK):
        return "unreadable (permission denied)"
    return None


def list_bronze_files(pattern: str) -> list[str]:
    """Sorted regular files matching ``pattern``; [] when none; OttError on anything else."""
    if not _is_local(pattern):
        return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    prefix = _FILE_SCHEME if pattern.startswith(_FILE_SCHEME) else ""
    paths = sorted(glob.glob(pattern[len(prefix) :], recursive=True))
    problems = [(path, why) for path in paths if (why := not_a_regular_file(path)) is not None]
    if problems:
        path, why = problems[0]
        more = f" (and {len(problems) - 1} more such entries)" if len(problems) > 1 else ""
        raise OttError(f"bronze entry '{path}' is {why}; only regular files can be read{more}")
    return [prefix + path for path in paths]
