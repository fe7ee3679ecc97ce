"""The Iceberg tables of the lakehouse (SPEC §11): catalog, commits, releases, recovery.

Every reader and writer of silver and gold goes through this module:

- :func:`open_catalog` — the embedded SQL catalog ``<data-dir>/catalog/ott.db`` with
  table data under ``<data-dir>/lake/``, or any catalog named by ``--catalog-uri`` /
  ``OTT_CATALOG_URI`` (a SQLAlchemy URL, or an Iceberg REST endpoint such as BigLake
  metastore; further properties come from pyiceberg's own ``PYICEBERG_CATALOG__OTT__*``
  environment variables or ``~/.pyiceberg.yaml``).
- :func:`commit_table` — one commit per table and run: the partitions the run rebuilt
  are removed and the Beam-written files added in ONE transaction and ONE snapshot (an
  Iceberg ``overwrite``), with the run id and row counts in the snapshot summary.
- :func:`record_release` / :func:`current_release` — a stage's release: the snapshot id
  of each of its tables after a complete run, appended to ``<namespace>.releases`` in
  one atomic commit. Readers pin a release, never "whatever the tables hold now".
- :func:`begin_attempt` / :func:`recover` — a marker per run attempt; the next run (or
  ``ott maintain``) rolls back the commits of an attempt that never recorded its
  release and removes the files it left.

Shapes: a table is addressed as ``(namespace, name)`` with its Arrow schema in
``schema.NAMESPACE_TABLES`` and its partition columns in ``schema.TABLE_PARTITIONS``.
Data files hold exactly one value of each partition column, so replacing a partition
never rewrites a file (a metadata-only delete).
"""

from __future__ import annotations

import contextlib
import datetime as dt_
import json
import logging
import os
import secrets
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce

import pyarrow as pa

from beam_pipelines import catalog, fileio, heap
from beam_pipelines.cli_support import OttError
from beam_pipelines.schema import NAMESPACE_TABLES, TABLE_PARTITIONS

log = logging.getLogger("ott.tables")

CATALOG_ENV = "OTT_CATALOG_URI"
CATALOG_NAME = "ott"
NAMESPACES = ("silver", "gold")

# pyiceberg warns for every column of a data file without Parquet statistics (empty
# files, all-null columns) and for deletes that match nothing: noise, not problems.
warnings.filterwarnings("ignore", message="PyArrow statistics missing")
warnings.filterwarnings("ignore", message="Delete operation did not match any records")


def is_remote(data_dir: str) -> bool:
    return "://" in data_dir and not data_dir.startswith("file://")


def resolve_data_dir(data_dir: str) -> str:
    """Local folders become absolute (catalog rows and file paths must not depend on the
    working directory); URLs stay as they are."""
    return data_dir if "://" in data_dir else os.path.abspath(data_dir)


def catalog_uri(data_dir: str, uri: str | None = None) -> str:
    """The catalog to use: ``uri``, else ``$OTT_CATALOG_URI``, else the embedded SQLite file."""
    uri = uri or os.environ.get(CATALOG_ENV) or None
    if uri:
        return uri
    if is_remote(data_dir):
        raise OttError(
            f"a data dir on object storage ({data_dir}) has no embedded catalog: pass --catalog-uri "
            f"or set {CATALOG_ENV} (a SQLAlchemy URL or an Iceberg REST endpoint)"
        )
    path = catalog.catalog_db_file(resolve_data_dir(data_dir))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return f"sqlite:///{path}"


def open_catalog(data_dir: str, uri: str | None = None):
    """The Iceberg catalog of ``data_dir``, with the ``silver`` and ``gold`` namespaces."""
    from pyiceberg.catalog import load_catalog

    uri = catalog_uri(data_dir, uri)
    kind = "rest" if uri.startswith(("http://", "https://")) else "sql"
    warehouse = catalog.lake_dir(resolve_data_dir(data_dir))
    if not is_remote(warehouse):
        warehouse = "file://" + warehouse
    properties = {"type": kind, "uri": uri, **file_io_properties(warehouse)}
    # a catalog's own warehouse setting (e.g. BigLake's) wins; table locations stay under the lake
    if not os.environ.get(f"PYICEBERG_CATALOG__{CATALOG_NAME.upper()}__WAREHOUSE"):
        properties["warehouse"] = warehouse
    try:
        cat = load_catalog(CATALOG_NAME, **properties)
        if uri.startswith("sqlite:"):
            _write_ahead_log(cat)
        for namespace in NAMESPACES:
            cat.create_namespace_if_not_exists(namespace)
    except OttError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver/HTTP error: one line for the user
        raise OttError(f"cannot open the Iceberg catalog {uri}: {type(exc).__name__}: {_first_line(exc)}") from exc
    heap.freeze_now()  # in a stage: what importing pyiceberg made lives as long as the process
    return cat


def _write_ahead_log(cat) -> None:
    """Put a SQLite catalog in write-ahead-log mode (kept in the file: done once).

    Each commit then syncs one log file instead of a rollback journal and the database
    (3.7 -> ~1 ms per catalog commit here; a stage makes one per table), stays just as
    durable (``synchronous`` is left at FULL) and atomic under kill -9, and readers no
    longer block the writer. If another connection holds the database, the switch is
    left to a later open.
    """
    from sqlalchemy.exc import OperationalError

    try:
        with cat.engine.connect() as connection:
            if connection.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    except OperationalError as exc:
        log.debug("catalog stays in rollback-journal mode for now: %s", _first_line(exc))


def open_for_writing(data_dir: str, uri: str | None = None):
    """The catalog, after cleaning up what killed runs left (:func:`recover`): how every
    writing command starts, with the data dir's lock held."""
    cat = open_catalog(data_dir, uri)
    recover(cat, data_dir)
    return cat


def file_io_properties(warehouse: str) -> dict[str, str]:
    """pyiceberg FileIO properties for the table files under ``warehouse``.

    On real GCS, pyiceberg's default FileIO (pyarrow's GcsFileSystem, Google default
    credentials) is used as is. Against a local GCS emulator (``$STORAGE_EMULATOR_HOST``,
    what the offline tests run on) pyarrow's client ignores that variable and looks for
    credentials on the metadata server; fsspec/gcsfs talks to the emulator anonymously.
    Any ``PYICEBERG_CATALOG__OTT__*`` setting still applies where this returns nothing.
    """
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if not (emulator and warehouse.startswith("gs://")):
        return {}
    # gcsfs >= 2026 first asks for the bucket type over gRPC (TLS), which the emulator
    # does not speak: a minute of retries per bucket. Read when gcsfs is imported.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    return {
        "py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO",
        "gcs.service.host": emulator,
        "gcs.oauth2.token": "anon",
        "gcs.project-id": os.environ.get("GOOGLE_CLOUD_PROJECT", "test-project"),
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def identifier(namespace: str, table: str) -> str:
    return f"{namespace}.{table}"


def load_table(cat, data_dir: str, namespace: str, table: str):
    """The table, created (empty, with its partition spec) on first use."""
    from pyiceberg.exceptions import NoSuchTableError

    name = identifier(namespace, table)
    try:
        return cat.load_table(name)
    except NoSuchTableError:
        pass
    schema, spec = _new_table_layout(cat, namespace, table)
    created = cat.create_table_if_not_exists(
        name,
        schema=schema,
        location=catalog.lake_table_dir(resolve_data_dir(data_dir), namespace, table),
        partition_spec=spec,
    )
    columns = TABLE_PARTITIONS.get(table, ())
    if columns and created.spec().is_unpartitioned():  # made unpartitioned by another writer
        with created.update_spec() as spec:
            for column in columns:
                spec.add_identity(column)
        created = cat.load_table(name)
    return created


def _new_table_layout(cat, namespace: str, table: str):
    """(Iceberg schema, partition spec) of a table to create: the identity partitions of
    ``TABLE_PARTITIONS`` given at creation — one catalog commit and one metadata file per
    table, instead of creating it unpartitioned and committing a spec update (twice the
    metadata writes, catalog commits and reloads: half of a fresh data dir's first run
    of commits)."""
    from pyiceberg.partitioning import PARTITION_FIELD_ID_START, PartitionField, PartitionSpec
    from pyiceberg.schema import assign_fresh_schema_ids
    from pyiceberg.transforms import IdentityTransform

    schema = assign_fresh_schema_ids(cat._convert_schema_if_needed(NAMESPACE_TABLES[namespace][table]))  # noqa: SLF001
    fields = [
        PartitionField(source_id=schema.find_field(column).field_id, field_id=PARTITION_FIELD_ID_START + i, transform=IdentityTransform(), name=column)
        for i, column in enumerate(TABLE_PARTITIONS.get(table, ()))
    ]
    return schema, PartitionSpec(*fields)


def ensure_tables(cat, data_dir: str, namespace: str) -> None:
    """Create every table of a namespace that does not exist yet (empty, partitioned).

    One listing of the namespace instead of loading each table (metadata read and parsed):
    a stage starting on an existing data dir loads none of them here."""
    existing = {name[-1] for name in cat.list_tables(namespace)}
    for table in NAMESPACE_TABLES[namespace]:
        if table not in existing:
            load_table(cat, data_dir, namespace, table)


# ------------------------------------------------------------------- commits


def partition_filter(columns: Sequence[str], values: Iterable[Sequence]):
    """Rows whose partition columns equal one of ``values`` (tuples in ``columns`` order)."""
    from pyiceberg.expressions import AlwaysFalse, And, EqualTo, Or

    terms = []
    for row in sorted(set(tuple(v) for v in values)):
        terms.append(reduce(And, [EqualTo(c, v) for c, v in zip(columns, row)]) if len(columns) > 1 else EqualTo(columns[0], row[0]))
    if not terms:
        return AlwaysFalse()
    return reduce(Or, terms)


def whole_table():
    from pyiceberg.expressions import AlwaysTrue

    return AlwaysTrue()


@dataclass(frozen=True)
class TableChange:
    """What one run changes in one table, committed at once by :func:`commit_table`.

    ``replace``: the rows (whole partitions) removed first — a pyiceberg expression, or
    None to only add. ``files``: Parquet data files to add (written by Beam workers).
    ``rows``: a small Arrow table written by pyiceberg itself (the audit counts).
    """

    namespace: str
    table: str
    replace: object | None
    files: tuple[str, ...] = ()
    rows: pa.Table | None = None
    summary: dict[str, str] = field(default_factory=dict)


def commit_table(cat, data_dir: str, change: TableChange, run_id: str, attempt: str, table=None) -> int | None:
    """Apply ``change`` as ONE snapshot (one transaction); returns the table's new snapshot id.

    The snapshot removes the data files of the replaced partitions and adds the run's
    files (an ``overwrite``; an ``append`` when nothing is removed). ``table``: the table
    as loaded by the caller (default: loaded now).
    """
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    if table is None:
        table = load_table(cat, data_dir, change.namespace, change.table)
    properties = {"ott.run_id": run_id, "ott.attempt": attempt, **change.summary}
    try:
        with _manifests_read_once():
            _commit(table, change, properties)
    except (CommitFailedException, ValidationException) as exc:
        # pyiceberg retries a commit that lost a race, then validates that the other
        # writer's change does not conflict with ours; either way we lose cleanly
        raise OttError(
            f"commit of {identifier(change.namespace, change.table)} failed: another writer changed it "
            f"({_first_line(exc)}); nothing of this run was committed to it — rerun"
        ) from exc
    snapshot = table.current_snapshot()  # the transaction updated ``table`` in place
    return snapshot.snapshot_id if snapshot else None


_ONE_COMMIT_AT_A_TIME = threading.Lock()


@contextlib.contextmanager
def _manifests_read_once() -> Iterator[None]:
    """Within one commit, read each manifest's entries once.

    Replacing partitions reads the current manifests three times: :func:`_live_files`
    finds the files to remove, then pyiceberg's overwrite reads the same manifests to
    keep the other entries and again to record the deleted ones (about a third of a
    gold rerun's commit time). Manifests never change once written (each has its own
    path) and the entries are only read, so the first read serves the other two.
    """
    from pyiceberg.manifest import ManifestFile

    with _ONE_COMMIT_AT_A_TIME:  # the method is swapped on the class: one commit per process at a time
        fetch = ManifestFile.fetch_manifest_entry
        read: dict[tuple[str, bool], list] = {}

        def fetch_once(self, io, discard_deleted: bool = True):
            key = (self.manifest_path, discard_deleted)
            if key not in read:
                read[key] = fetch(self, io, discard_deleted)
            return read[key]

        ManifestFile.fetch_manifest_entry = fetch_once
        try:
            yield
        finally:
            ManifestFile.fetch_manifest_entry = fetch


def _commit(table, change: TableChange, properties: dict[str, str]) -> None:
    """One transaction on ``table``: at most one snapshot (plus, on a table's first data
    files, the name-mapping property that lets readers find columns by name)."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files
    from pyiceberg.table import TableProperties

    metadata = table.metadata
    added = _data_files(table, change.files) if change.files else []
    rows = change.rows if change.rows is not None and change.rows.num_rows else None
    if rows is not None:
        _check_file_schema(metadata.schema(), rows.schema, metadata.format_version)
    has_data = table.current_snapshot() is not None
    removed = None
    if change.replace is not None and has_data and _replaces_whole_files(metadata, change.replace):
        removed = _live_files(table, change.replace)
    exact = removed is not None
    removed = removed or []
    with _transaction(table) as tx:
        if change.replace is not None and has_data and not exact:
            # not a whole-partition replace: pyiceberg's delete (rewrites files if needed)
            tx.delete(change.replace, snapshot_properties=properties)
        if not added and rows is None:
            if removed:
                tx.delete(change.replace, snapshot_properties=properties)
            return
        if metadata.name_mapping() is None:  # as pyiceberg's add_files does: files written without field ids
            tx.set_properties(**{TableProperties.DEFAULT_NAME_MAPPING: metadata.schema().name_mapping.model_dump_json()})
        producer = _overwrite(tx, table, properties) if removed else tx.update_snapshot(snapshot_properties=properties).fast_append()
        with producer:
            if removed:
                producer.delete_by_predicate(change.replace)  # scopes the conflict check on a retry
                for data_file in removed:
                    producer.delete_data_file(data_file)
            for data_file in added:
                producer.append_data_file(data_file)
            if rows is not None:
                for data_file in _dataframe_to_data_files(
                    table_metadata=tx.table_metadata, write_uuid=producer.commit_uuid, df=rows, io=table.io
                ):
                    producer.append_data_file(data_file)


# pyiceberg classes extended here, defined on first use (pyiceberg is imported lazily)
_PRODUCERS: dict[str, type] = {}


def _transaction(table):
    """``table.transaction()``, except that the staged metadata is built once per change
    of the transaction instead of on every read of ``Transaction.table_metadata``.

    pyiceberg rebuilds it (a deep copy of the pydantic table metadata, which grows with
    every snapshot) each time a snapshot producer reads it: dozens of times per commit,
    most of a small commit's time. The metadata models are frozen, so sharing one copy
    until the next staged update (or refresh) changes nothing else.
    """
    if "transaction" not in _PRODUCERS:
        from pyiceberg.table import Transaction
        from pyiceberg.table.update import update_table_metadata

        class _Transaction(Transaction):
            _staged: tuple | None = None

            @property
            def table_metadata(self):
                base, updates = self._table.metadata, self._updates
                if self._staged is None or self._staged[0] is not base or self._staged[1] is not updates:
                    self._staged = (base, updates, update_table_metadata(base, updates))
                return self._staged[2]

        _PRODUCERS["transaction"] = _Transaction
    return _PRODUCERS["transaction"](table)


def _overwrite(tx, table, properties: dict[str, str]):
    """pyiceberg's overwrite snapshot producer, except that the manifests of earlier
    snapshots left with no live file (the deleted-entries manifests of earlier
    overwrites) are dropped, as a fast append drops them: kept, every commit would read
    one more of them per earlier commit."""
    if "overwrite" not in _PRODUCERS:
        from pyiceberg.table.update.snapshot import _OverwriteFiles

        class _Overwrite(_OverwriteFiles):
            def _process_manifests(self, manifests):
                return [
                    m
                    for m in super()._process_manifests(manifests)
                    if m.has_added_files() or m.has_existing_files() or m.added_snapshot_id == self._snapshot_id
                ]

        _PRODUCERS["overwrite"] = _Overwrite
    from pyiceberg.table.refs import MAIN_BRANCH
    from pyiceberg.table.snapshots import Operation

    return _PRODUCERS["overwrite"](
        operation=Operation.OVERWRITE, transaction=tx, io=table.io, branch=MAIN_BRANCH, snapshot_properties=properties
    )


def _replaces_whole_files(metadata, expression) -> bool:
    """True when ``expression`` only names identity partition columns: then, as every data
    file holds one value of each partition column, it matches whole files (or none)."""
    from pyiceberg.expressions.visitors import bind, extract_field_ids
    from pyiceberg.transforms import IdentityTransform

    identity = {f.source_id for f in metadata.spec().fields if isinstance(f.transform, IdentityTransform)}
    return extract_field_ids(bind(metadata.schema(), expression, case_sensitive=True)) <= identity


def _live_files(table, expression) -> list | None:
    """The data files of the current snapshot in the partitions ``expression`` selects
    (None when a manifest has another partition spec: then the caller lets pyiceberg
    decide). Evaluated on each file's partition values, with the expression bound once
    (pyiceberg's scan planning binds a residual per file: seconds for ~100 files)."""
    from pyiceberg.expressions.visitors import expression_evaluator, inclusive_projection, manifest_evaluator
    from pyiceberg.manifest import ManifestContent
    from pyiceberg.schema import Schema

    metadata = table.metadata
    schema, spec = metadata.schema(), metadata.spec()
    partition_expression = inclusive_projection(schema, spec)(expression)
    in_manifest = manifest_evaluator(spec, schema, partition_expression, True)
    in_partition = expression_evaluator(Schema(*spec.partition_type(schema).fields), partition_expression, True)
    files = []
    for manifest in table.current_snapshot().manifests(table.io):
        if manifest.content != ManifestContent.DATA:
            continue
        if manifest.partition_spec_id != spec.spec_id:
            return None
        if in_manifest(manifest):
            files.extend(
                entry.data_file
                for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
                if in_partition(entry.data_file.partition)
            )
    return files


def _data_files(table, paths: Sequence[str]) -> list:
    """pyiceberg ``DataFile`` entries for Parquet files written by the Beam workers.

    What ``add_files`` builds, minus its per-file overhead: the statistics plan and the
    schema check are computed once per table (once per distinct file schema) instead of
    once per file, and local footers are read in this thread (a footer read is ~0.1 ms;
    handing each to pyiceberg's thread pool costs more, most of all on a busy machine).
    Remote footers (object storage latency) are read on that pool.
    """
    import pyarrow.parquet as pq
    from pyiceberg.io.pyarrow import (
        compute_statistics_plan,
        data_file_statistics_from_parquet_metadata,
        parquet_path_to_id_mapping,
    )
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.utils.concurrent import ExecutorFactory

    if len(paths) != len(set(paths)):
        raise ValueError("File paths must be unique")
    metadata = table.metadata
    schema, spec = metadata.schema(), metadata.spec()
    stats_columns = compute_statistics_plan(schema, metadata.properties)
    column_mapping = parquet_path_to_id_mapping(schema)

    def footer(path: str):
        input_file = table.io.new_input(path)
        with input_file.open() as stream:
            return pq.read_metadata(stream), len(input_file)

    checked: list[pa.Schema] = []
    files = []
    remote = any(is_remote(p) for p in paths)
    footers = ExecutorFactory.get_or_create().map(footer, paths) if remote else map(footer, paths)
    for path, (parquet_metadata, size) in zip(paths, footers):
        arrow_schema = parquet_metadata.schema.to_arrow_schema()
        if not any(arrow_schema.equals(s, check_metadata=True) for s in checked):
            _check_file_schema(schema, arrow_schema, metadata.format_version)
            checked.append(arrow_schema)
        statistics = data_file_statistics_from_parquet_metadata(
            parquet_metadata=parquet_metadata, stats_columns=stats_columns, parquet_column_mapping=column_mapping
        )
        files.append(
            DataFile.from_args(
                content=DataFileContent.DATA,
                file_path=path,
                file_format=FileFormat.PARQUET,
                partition=statistics.partition(spec, schema),
                file_size_in_bytes=size,
                sort_order_id=None,
                spec_id=metadata.default_spec_id,
                equality_ids=None,
                key_metadata=None,
                **statistics.to_serialized_dict(),
            )
        )
    return files


def _check_file_schema(schema, arrow_schema: pa.Schema, format_version) -> None:
    """pyiceberg's check that a data file (or rows) fits the table's schema, with a fast
    path: a schema that maps onto the table's exactly (same field ids, names, types and
    nullability) passes without pyiceberg building its comparison report, whose first
    use imports ``rich`` (30 ms of a stage's commits). Anything else gets the full check
    and its error."""
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible, pyarrow_to_schema

    try:
        provided = pyarrow_to_schema(arrow_schema, name_mapping=schema.name_mapping, format_version=format_version)
    except ValueError:
        provided = None
    if provided is None or provided.as_struct() != schema.as_struct():
        _check_pyarrow_schema_compatible(schema, arrow_schema, format_version=format_version)


def commit_tables(
    cat, data_dir: str, changes: Sequence[TableChange], run_id: str, attempt: str, loaded: dict | None = None
) -> dict[str, int | None]:
    """:func:`commit_table` for each change, in order: {table: new snapshot id}.
    ``loaded``: {table: table object} already loaded by the caller (reused).

    (Run on threads, the commits took as long: most of a commit is pyiceberg copying the
    table metadata under the GIL.)
    """
    loaded = loaded or {}
    return {change.table: commit_table(cat, data_dir, change, run_id, attempt, loaded.get(change.table)) for change in changes}


def snapshot_id(cat, namespace: str, table: str) -> int | None:
    snapshot = cat.load_table(identifier(namespace, table)).current_snapshot()
    return snapshot.snapshot_id if snapshot else None


# ------------------------------------------------------------------- reading


def data_files(cat, namespace: str, table: str, snapshot: int | None, row_filter=None) -> list[str]:
    """Paths of the data files of ``table`` at ``snapshot`` (None: an empty table), sorted."""
    if snapshot is None:
        return []
    tbl = cat.load_table(identifier(namespace, table))
    if row_filter is not None:
        return sorted(task.file.file_path for task in tbl.scan(snapshot_id=snapshot, row_filter=row_filter).plan_files())
    # every live data file of the snapshot, straight from its manifests (a scan plan
    # would also build a task and a residual filter per file)
    from pyiceberg.manifest import ManifestContent

    found = tbl.snapshot_by_id(snapshot)
    if found is None:
        raise OttError(f"snapshot {snapshot} of {identifier(namespace, table)} is gone (expired?)")
    manifests = found.manifests(tbl.io)
    if any(m.content != ManifestContent.DATA for m in manifests):  # delete files: let the scan apply them
        return sorted(task.file.file_path for task in tbl.scan(snapshot_id=snapshot).plan_files())
    return sorted(e.data_file.file_path for m in manifests for e in m.fetch_manifest_entry(tbl.io, discard_deleted=True))


def read_table(
    cat, namespace: str, table: str, snapshot: int | None, columns: Sequence[str] | None = None, loaded=None
) -> pa.Table:
    """The rows of ``table`` at ``snapshot`` in the contract's Arrow types (Iceberg reads
    timestamps back as microseconds; the contract stores milliseconds). ``loaded``: the
    table object when the caller has it."""
    schema = NAMESPACE_TABLES[namespace][table]
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    if snapshot is None:
        return schema.empty_table()
    tbl = loaded if loaded is not None else cat.load_table(identifier(namespace, table))
    scan = tbl.scan(snapshot_id=snapshot, selected_fields=tuple(columns) if columns is not None else ("*",))
    return scan.to_arrow().select(schema.names).cast(schema)


# ------------------------------------------------------------------- releases


@dataclass(frozen=True)
class Release:
    """One row of ``<namespace>.releases``."""

    release_id: int
    run_id: str
    attempt: str
    kind: str
    created_at: dt_.datetime
    snapshots: dict[str, int | None]
    inputs: dict[str, int | None]

    def summary(self) -> str:
        return f"release {self.release_id} run {self.run_id} ({self.kind}, {self.created_at:%Y-%m-%d %H:%M:%S} UTC)"


RELEASE_ID_PROPERTY = "ott.release_id"  # in the summary of the releases table's snapshots


def releases(cat, data_dir: str, namespace: str, loaded=None) -> list[Release]:
    """Every release of a namespace, oldest first."""
    table = loaded if loaded is not None else load_table(cat, data_dir, namespace, "releases")
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    rows = read_table(cat, namespace, "releases", snapshot.snapshot_id, loaded=table).to_pylist()
    return sorted(
        (
            Release(
                release_id=r["release_id"],
                run_id=r["run_id"],
                attempt=r["attempt"],
                kind=r["kind"],
                created_at=r["created_at"],
                snapshots=json.loads(r["snapshots"]),
                inputs=json.loads(r["inputs"] or "{}"),
            )
            for r in rows
        ),
        key=lambda r: r.release_id,
    )


def current_release(cat, data_dir: str, namespace: str) -> Release | None:
    found = releases(cat, data_dir, namespace)
    return found[-1] if found else None


def record_release(
    cat,
    data_dir: str,
    namespace: str,
    run_id: str,
    attempt: str,
    snapshots: dict[str, int | None],
    inputs: dict[str, int | None] | None = None,
    kind: str = "publish",
) -> Release:
    """Append one release row: the atomic step that makes a run's tables current together."""
    table = load_table(cat, data_dir, namespace, "releases")
    release = Release(
        release_id=_last_release_id(cat, data_dir, namespace, table) + 1,
        run_id=run_id,
        attempt=attempt,
        kind=kind,
        created_at=dt_.datetime.now(dt_.timezone.utc),  # metadata of the release, not data
        snapshots=dict(sorted(snapshots.items())),
        inputs=dict(sorted((inputs or {}).items())),
    )
    row = pa.Table.from_pylist(
        [
            {
                "release_id": release.release_id,
                "run_id": run_id,
                "attempt": attempt,
                "kind": kind,
                "created_at": release.created_at,
                "snapshots": json.dumps(release.snapshots),
                "inputs": json.dumps(release.inputs),
            }
        ],
        schema=NAMESPACE_TABLES[namespace]["releases"],
    )
    change = TableChange(namespace, "releases", None, rows=row, summary={RELEASE_ID_PROPERTY: str(release.release_id)})
    commit_table(cat, data_dir, change, run_id, attempt, table)
    return release


def _last_release_id(cat, data_dir: str, namespace: str, table) -> int:
    """The id of the newest release (0: none): from the summary of the releases table's
    current snapshot (each release's own commit), else from its rows."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return 0
    recorded = (snapshot.summary.additional_properties or {}).get(RELEASE_ID_PROPERTY)
    if recorded is not None:
        return int(recorded)
    found = releases(cat, data_dir, namespace, loaded=table)  # tables released before the property
    return found[-1].release_id if found else 0


# ------------------------------------------------------------------- attempts and recovery


def new_run_id(stage: str, label: str | None = None) -> str:
    """The default run id: ``<stage>[-<label>]-<UTC time>`` (unique per run, names the
    run audit and the release; the time is metadata, never data)."""
    stamp = dt_.datetime.now(dt_.timezone.utc).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return "-".join(p for p in (stage, label, stamp) if p)


def new_attempt(run_id: str) -> str:
    """A unique id for one execution of a run: names its files, marker and snapshots."""
    return f"{run_id}-{secrets.token_hex(3)}"


def begin_attempt(data_dir: str, namespace: str, run_id: str, attempt: str) -> None:
    """Leave a marker: until :func:`end_attempt`, recovery treats the attempt as killed."""
    marker = {"namespace": namespace, "run_id": run_id, "attempt": attempt, "pid": os.getpid()}
    fileio.write_bytes(catalog.lake_run_marker(data_dir, attempt), json.dumps(marker).encode(), "application/json")


def end_attempt(data_dir: str, attempt: str) -> None:
    fileio.delete_tree(catalog.lake_scratch_dir(data_dir, attempt))
    path = catalog.lake_run_marker(data_dir, attempt)
    if fileio.exists(path):
        fileio.delete_paths([path])


def recover(cat, data_dir: str) -> list[str]:
    """Undo what killed attempts left; returns one line per attempt cleaned.

    For an attempt without a release: every table it committed is rolled back to the
    snapshot before its first commit (the snapshots it made are expired), and the files
    it wrote are deleted. With a release (killed after the release was recorded) only the
    marker and scratch files go. Call with the data dir's lock held.
    """
    cleaned = []
    for path in fileio.list_files(catalog.lake_runs_dir(data_dir) + "/*.json"):
        marker = json.loads(fileio.read_bytes(path))
        released = abandon_attempt(cat, data_dir, marker["namespace"], marker["attempt"])
        cleaned.append(
            f"cleaned up after killed run {marker['run_id']} (attempt {marker['attempt']}: "
            f"{'its release was recorded' if released else 'rolled back, files removed'})"
        )
        log.warning(cleaned[-1])
    return cleaned


def abandon_attempt(cat, data_dir: str, namespace: str, attempt: str) -> bool:
    """Undo an attempt that did not finish (see :func:`recover`); True when it had
    recorded its release (then nothing is undone)."""
    released = any(r.attempt == attempt for r in releases(cat, data_dir, namespace))
    if not released:
        for table in NAMESPACE_TABLES[namespace]:
            _roll_back_attempt(cat, data_dir, namespace, table, attempt)
            fileio.delete_tree(catalog.lake_attempt_dir(resolve_data_dir(data_dir), namespace, table, attempt))
    end_attempt(data_dir, attempt)
    return released


def _roll_back_attempt(cat, data_dir: str, namespace: str, table: str, attempt: str) -> None:
    tbl = load_table(cat, data_dir, namespace, table)
    mine = [s for s in tbl.snapshots() if (s.summary.additional_properties or {}).get("ott.attempt") == attempt]
    if not mine:
        return
    first = min(mine, key=lambda s: s.sequence_number)
    if first.parent_snapshot_id is not None:
        tbl.manage_snapshots().set_current_snapshot(first.parent_snapshot_id).commit()
    else:
        tbl.delete(whole_table(), snapshot_properties={"ott.attempt": f"rollback-{attempt}"})
    tbl = cat.load_table(identifier(namespace, table))
    current = tbl.current_snapshot()
    expire = [s.snapshot_id for s in mine if current is None or s.snapshot_id != current.snapshot_id]
    if expire:
        tbl.maintenance.expire_snapshots().by_ids(expire).commit()
