"""File I/O of the silver stage through Beam's ``FileSystems`` (local paths or ``gs://``).

- :func:`read_bytes`, :func:`write_bytes`, :func:`list_files`: plain file access.
- :func:`parquet_bytes` / :func:`read_parquet`: deterministic Parquet (same table →
  same bytes: no timestamps or host names in the footer).
- :func:`write_arrow` / :func:`read_arrow`: Arrow IPC files for the batches the
  shuffles park on the file system (see ``silver_pipeline.SpillBuckets``).
- :func:`replace_tree`: the atomic partition swap. A run writes a partition into a
  staging folder; only when it is complete does the swap move the previous folder to
  the trash, move the staged folder into place and delete the trash.

Guarantees: locally a folder move is one ``rename(2)``, so readers see the old or the
new partition, never a mix, and a crash before the swap leaves the previous good
partition untouched. On GCS a "rename" is copy+delete per object, so the swap is not
atomic for concurrent readers, but it is still crash-safe: the new data is complete in
staging before anything is touched, and :func:`recover_interrupted_swaps` (run at the
start of every silver run) puts a trashed partition back when a crash hit between the
two moves.
"""

from __future__ import annotations

import io
import logging

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

log = logging.getLogger("ott.silver")

_RAW = CompressionTypes.UNCOMPRESSED


def is_local(path: str) -> bool:
    return FileSystems.get_filesystem(path).scheme() in (None, "file")


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type=_RAW) as handle:
        return handle.read()


def write_bytes(path: str, data: bytes, mime_type: str = "application/octet-stream") -> None:
    with FileSystems.create(path, mime_type=mime_type, compression_type=_RAW) as handle:
        handle.write(data)


def write_text_atomically(path: str, text: str, staging: str) -> None:
    """Write ``staging`` then move it onto ``path``: readers never see half a file."""
    write_bytes(staging, text.encode("utf-8"), "application/json")
    _ensure_parent(path)
    if is_local(path):
        # os.replace: atomic even when the target exists
        FileSystems.rename([staging], [path])
        return
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([staging], [path])


def _ensure_parent(path: str) -> None:
    """Local renames need the target folder; object stores have no folders."""
    if is_local(path):
        parent = path.rstrip("/").rsplit("/", 1)[0]
        if not FileSystems.exists(parent):
            FileSystems.mkdirs(parent)


def list_files(pattern: str) -> list[str]:
    """Paths matching a glob (``**`` recurses), sorted; none → []."""
    result = FileSystems.match([pattern])[0]
    return sorted(m.path for m in result.metadata_list)


def tree_files(folder: str) -> list[str]:
    return list_files(folder.rstrip("/") + "/**")


def exists(path: str) -> bool:
    if is_local(path):
        return FileSystems.exists(path)
    return FileSystems.exists(path) or bool(tree_files(path))


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def read_parquet(path: str) -> pa.Table:
    return pq.read_table(io.BytesIO(read_bytes(path)))


def write_arrow(path: str, table: pa.Table) -> None:
    """A table as an uncompressed Arrow IPC stream: the cheapest format to write and read back."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    write_bytes(path, memoryview(sink.getvalue()))


def read_arrow(path: str) -> pa.Table:
    """Inverse of :func:`write_arrow` (the table points into the bytes read: no copy)."""
    return pa.ipc.open_stream(pa.py_buffer(read_bytes(path))).read_all()


def delete_tree(folder: str) -> None:
    if is_local(folder):
        if FileSystems.exists(folder):
            FileSystems.delete([folder])
        return
    files = tree_files(folder)
    if files:
        FileSystems.delete(files)


def move_tree(source: str, destination: str) -> None:
    """Move a folder (locally one rename; elsewhere object by object)."""
    if is_local(source):
        _ensure_parent(destination)
        FileSystems.rename([source], [destination])
        return
    files = tree_files(source)
    prefix = source.rstrip("/") + "/"
    FileSystems.rename(files, [destination.rstrip("/") + "/" + f[len(prefix) :] for f in files])


def replace_tree(staged: str, final: str, trash: str) -> None:
    """Swap ``staged`` into ``final``; an absent ``staged`` leaves ``final`` absent."""
    had_previous = exists(final)
    if had_previous:
        move_tree(final, trash)
    if exists(staged):
        move_tree(staged, final)
    if had_previous:
        delete_tree(trash)


def trash_slot(trash_root: str, silver_root: str, final: str) -> str:
    """One flat trash folder per swapped folder, named after its path under silver/."""
    relative = final[len(silver_root.rstrip("/")) + 1 :]
    return trash_root.rstrip("/") + "/" + relative.replace("/", "~")


def recover_interrupted_swaps(silver_root: str) -> None:
    """Undo half-done swaps of a crashed run, then drop its staging and trash folders."""
    trash_root = silver_root.rstrip("/") + "/_trash"
    slots: set[tuple[str, str]] = set()
    for path in tree_files(trash_root):
        run_and_slot = path[len(trash_root) + 1 :].split("/")
        if len(run_and_slot) >= 2:
            slots.add((run_and_slot[0], run_and_slot[1]))
    for run_id, slot in sorted(slots):
        final = silver_root.rstrip("/") + "/" + slot.replace("~", "/")
        if not exists(final):
            log.warning("restoring %s from an interrupted run", final)
            move_tree(f"{trash_root}/{run_id}/{slot}", final)
    delete_tree(trash_root)
    delete_tree(silver_root.rstrip("/") + "/_staging")
