"""The embedded store: one GeoPackage file (opens directly in QGIS).

Layout of the file
------------------
- one spatial table per layer kind (``incidents``, ``zac``…), EPSG:4326, with GDAL's R-tree
  spatial index, the kind's columns plus ``batch_id``; ``fid`` is the GeoPackage primary key;
- ``vigie_batches``: one row per import (id, kind, file name, sha256, user, UTC time, counts,
  simulated flag, options and validation report as JSON), registered as an ``attributes`` table.

Layer rows and their batch live in the same file, so they change together.

Atomicity (copy-on-write)
-------------------------
The store file is never modified in place. A write (import or rollback) takes a lock file
(``store.gpkg.lock``, so two writers queue), copies the store to a temporary file in the same
folder, writes there, ``fsync``s it and moves it onto the store with ``os.replace`` (atomic on
POSIX). Killed at any instant, a writer leaves either the old file or the new one, never a mix;
a leftover temporary file is removed by the next writer. Readers in other processes that opened
the old file keep reading it; new readers see the new file. The cost is one file copy per write
(about 0.3 s per 200 MB).

In the copy, an import appends a batch that is small beside the layer through GDAL (whose
per-row R-tree triggers cost about 35 µs a row on the loaded test machine); otherwise it
rewrites the layer whole (old rows keep their ``fid``, new rows get the next ones) in one
streamed GDAL write, so GDAL builds the R-tree in bulk (about 8 µs a row). A rollback deletes a
small batch with SQL and rewrites the layer without a large one.

Datetimes
---------
``datetime`` columns are written as GeoPackage DateTime (ISO 8601 text with ``Z``, UTC, to the
millisecond); NaT is NULL. They come back as ``datetime64[ns, UTC]`` (any input time zone is
stored as the same instant). ``date`` columns are written as naive DateTime at midnight and come
back as naive ``datetime64[ns]``. Missing booleans are stored as False.

Reads
-----
Two paths, measured in ``bench/bench_store.py``:

- pushdown: bbox (through the R-tree), categories and the period (a day-rounded superset on the
  ISO text) go into the GDAL read (``bbox=``, ``where=``). Best for one read (a CLI command).
- in-memory columns, for the large point layers (``LayerSpec.large``: incidents, lights), per
  store object and keyed on ``version``: the whole layer is loaded once (a few seconds per
  million incidents) and later reads filter it with NumPy masks on cached arrays (x, y,
  occurred_from as int64 ns, category codes) in tens of milliseconds. Best for a server.

A filtered read takes the pushdown path while the columns are not loaded, the first time it
sees a version; the second filtered read of the same version (or ``warm()``) loads them.
Unfiltered reads never load them. ``cache=False`` always pushes down. Both paths give the
semantics of ``layers.filters``: the pushdown path calls ``apply_filters`` on what GDAL returns,
the in-memory path calls ``layers.columns.filter_mask`` (which ``apply_filters`` calls too) on
the cached columns, so both return the same rows: the test suite runs on both.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from filelock import FileLock, Timeout

from layers.columns import filter_mask, frame_columns
from layers.errors import InputError, StoreError
from layers.filters import Filters, apply_filters
from layers.registry import LAYERS, LayerSpec, get_spec
from layers.store.base import Batch, Store
from layers.store.frames import as_type, check_columns, check_filters, check_frame, empty_frame

__all__ = ["BATCH_TABLE", "GeoPackageStore"]

#: name of the batches table inside the GeoPackage
BATCH_TABLE = "vigie_batches"
_LOCK_TIMEOUT_S = 600
_CHUNK = 100_000
#: rollbacks of batches larger than this rewrite the layer instead of deleting row by row
_REWRITE_ROWS = 20_000
#: imports append through GDAL when the layer holds at least this many times the new rows
_APPEND_RATIO = 4
#: GeoPackage column types (as GDAL writes them) of the registry's types, for migrations
_GPKG_TYPES = {"str": "TEXT", "float": "REAL", "int": "INTEGER", "bool": "BOOLEAN", "datetime": "DATETIME",
               "date": "DATE"}

_BATCH_DDL = f"""
CREATE TABLE IF NOT EXISTS {BATCH_TABLE} (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    user TEXT NOT NULL,
    created TEXT NOT NULL,
    n_read INTEGER NOT NULL,
    n_stored INTEGER NOT NULL,
    n_rejected INTEGER NOT NULL,
    simulated INTEGER NOT NULL DEFAULT 0,
    options TEXT NOT NULL DEFAULT '{{}}',
    report TEXT NOT NULL DEFAULT '[]'
)
"""

def _sql_quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Columns:
    """A large point layer held in memory: the frame and, per time zone, the lazy column view
    that ``layers.columns.filter_mask`` reads (arrays computed once, on first use)."""

    version: str
    frame: gpd.GeoDataFrame
    views: dict = field(default_factory=dict)

    def columns(self, tz: str):
        view = self.views.get(tz)
        if view is None:
            view = self.views[tz] = frame_columns(self.frame, tz=tz)
        return view


class GeoPackageStore(Store):
    """Layers and import batches in one GeoPackage file.

    Parameters
    ----------
    path : str or Path
        The ``.gpkg`` file; created on the first import (its folder must exist or be creatable).

    cache : bool
        Keep the large point layers (incidents, lights) in memory, keyed on ``version``, and
        filter them with NumPy masks (see "Reads" in the module docstring). ``False`` pushes
        every filter into the GDAL read instead.

    See the module docstring for the file layout, the atomicity design and the datetime
    encoding.
    """

    def __init__(self, path: str | Path, *, cache: bool = True):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.cache = bool(cache)
        self._columns: dict[str, _Columns] = {}
        self._seen: dict[str, str] = {}  # kind -> version read once through GDAL
        self._cache_lock = threading.Lock()
        self._schema_checked = False
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"The store path {self.path} is a folder; give a .gpkg file path.")

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    # ------------------------------------------------------------------ state

    @property
    def version(self) -> str:
        """``inode-mtime_ns-size`` of the file (every write replaces the file), ``empty`` if none."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "empty"
        return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"

    def _connect(self) -> sqlite3.Connection | None:
        """A read-only SQLite connection on the current file (``None`` if there is no store)."""
        if not self.path.exists():
            return None
        con = None
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            con.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # sqlite opens lazily: probe the file
            return con
        except sqlite3.Error as e:  # unreadable or not a GeoPackage at all
            if con is not None:
                con.close()
            raise StoreError(
                f"Cannot open the store {self.path}: {e}. Restore the file from a backup, or point "
                "GEO_APP_STORE_URL at the right GeoPackage."
            ) from None

    def _tables(self, con: sqlite3.Connection) -> set[str]:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    # ------------------------------------------------------------------ schema

    def _missing_columns(self, con: sqlite3.Connection) -> dict[str, list]:
        """Registry columns absent from the layers of an older store: kind -> [ColumnSpec]."""
        tables = self._tables(con)
        out = {}
        for kind, spec in LAYERS.items():
            if kind not in tables:
                continue
            have = {r[1] for r in con.execute(f'PRAGMA table_info("{kind}")')}
            missing = [c for c in spec.columns if c.name not in have]
            if missing:
                out[kind] = missing
        return out

    def migrate(self) -> list[str]:
        """Add to the layers of a store written by an older Vigie the columns the registry has
        gained since (e.g. the incidents' ``geocode_precision`` and ``geocode_score``), empty
        for the rows already stored; copy-on-write like an import. Returns the columns added
        (``kind.column``); ``[]`` when the store is up to date. Reads and imports call it once
        per store object, so an old store opens without a rebuild."""
        con = self._connect()
        if con is None:
            return []
        with contextlib.closing(con):
            missing = self._missing_columns(con)
        if not missing:
            return []
        added = []
        with self._transaction() as tmp:
            with contextlib.closing(sqlite3.connect(tmp)) as wcon:
                missing = self._missing_columns(wcon)  # another process may have done it
                for kind, cols in missing.items():
                    for col in cols:
                        wcon.execute(f'ALTER TABLE "{kind}" ADD COLUMN "{col.name}" {_GPKG_TYPES[col.type]}')
                        added.append(f"{kind}.{col.name}")
                wcon.commit()
        return added

    def _ensure_schema(self) -> None:
        if not self._schema_checked:
            self.migrate()
            self._schema_checked = True

    def _has_layer(self, kind: str) -> bool:
        con = self._connect()
        if con is None:
            return False
        with contextlib.closing(con):
            return kind in self._tables(con)

    # ------------------------------------------------------------------ reads

    def read(
        self,
        kind: str,
        filters: Filters | None = None,
        *,
        columns: list[str] | None = None,
        tz: str = "Europe/Paris",
    ) -> gpd.GeoDataFrame:
        """Features of ``kind`` passing ``filters``, EPSG:4326.

        Returns the kind's columns (or ``columns``) plus ``batch_id``, ``fid`` and
        ``geometry``, with a fresh ``RangeIndex``. For kinds other than incidents only ``bbox``
        applies (features intersecting it); the other filters raise ``ParameterError``.
        """
        spec = get_spec(kind)
        wanted = check_columns(spec, columns)
        filters = check_filters(spec, filters)
        if not self._has_layer(kind):
            return empty_frame(spec, wanted)
        if self.cache and spec.large and spec.is_point and self._use_cache(spec.name, filters):
            gdf = self._read_cached(spec, filters, tz)
            return gdf[[*wanted, "batch_id", "fid", "geometry"]].reset_index(drop=True)
        needed = list(wanted)
        if filters is not None:
            if (filters.start is not None or filters.end is not None or filters.hours or filters.weekdays) and (
                "occurred_from" not in needed
            ):
                needed.append("occurred_from")
            if filters.categories is not None and "category" not in needed:
                needed.append("category")
        gdf = self._read_raw(kind, filters, needed)
        gdf = self._coerce(spec, gdf)
        if filters is not None and not filters.is_empty and len(gdf):
            if spec.name == "incidents":
                zac_layer = self.read("zac") if filters.zac else None
                gdf = apply_filters(gdf, filters, tz=tz, zac_layer=zac_layer)
            elif spec.is_point:
                gdf = apply_filters(gdf, Filters(bbox=filters.bbox))
        out = gdf[[*wanted, "batch_id", "fid", "geometry"]]
        return out.reset_index(drop=True)

    def _use_cache(self, kind: str, filters: Filters | None) -> bool:
        """Serve from memory when the columns are loaded, or from the second filtered read of
        the same version on. A one-shot command's single filtered read goes through GDAL
        (faster than loading everything), and unfiltered reads never fill the cache (a caller
        reading whole layers, such as the web services, keeps its own copy)."""
        version = self.version
        c = self._columns.get(kind)
        if c is not None and c.version == version:
            return True
        if filters is None:
            return False
        if self._seen.get(kind) == version:
            return True
        self._seen[kind] = version
        return False

    def warm(self, kinds=None) -> None:
        """Load the in-memory columns of the large point layers now (a server calls this at
        start so its first request is fast); no-op with ``cache=False``."""
        if not self.cache:
            return
        for kind in kinds or [k for k, spec in LAYERS.items() if spec.large and spec.is_point]:
            spec = get_spec(kind)
            if self._has_layer(kind):
                self._cached(spec)

    def _cached(self, spec: LayerSpec) -> _Columns:
        """The in-memory columns of ``spec``'s layer at the current version (loaded if stale)."""
        version = self.version
        with self._cache_lock:
            c = self._columns.get(spec.name)
            if c is None or c.version != version:
                self._columns.pop(spec.name, None)  # free the stale copy before loading
                gdf = self._coerce(spec, self._read_raw(spec.name, None, list(spec.column_names)))
                c = _Columns(version, gdf)
                self._columns[spec.name] = c
            return c

    def _read_cached(self, spec: LayerSpec, filters: Filters | None, tz) -> gpd.GeoDataFrame:
        c = self._cached(spec)
        if filters is None or filters.is_empty:
            return c.frame.copy()
        zac_layer = self.read("zac") if filters.zac else None
        keep = filter_mask(c.columns(str(tz)), filters, zac_layer=zac_layer)
        return c.frame.iloc[np.flatnonzero(keep)]

    def read_after(self, kind: str, fid: int, *, tz: str = "Europe/Paris") -> gpd.GeoDataFrame:
        """Features of ``kind`` with a ``fid`` above ``fid`` (the primary key: an index range
        scan), ordered by ``fid``."""
        spec = get_spec(kind)
        if not self._has_layer(kind):
            return empty_frame(spec, list(spec.column_names))
        gdf = self._coerce(spec, self._read_raw(kind, None, list(spec.column_names), where=f"fid > {int(fid)}"))
        gdf = gdf.reset_index(drop=True).sort_values("fid", kind="stable")
        return gdf[[*spec.column_names, "batch_id", "fid", "geometry"]].reset_index(drop=True)

    def _where(self, filters: Filters | None) -> str | None:
        if filters is None:
            return None
        clauses = []
        if filters.categories is not None:
            clauses.append(f"category IN ({', '.join(_sql_quote(c) for c in filters.categories) or 'NULL'})")
        # the stored text is ISO 8601 in UTC; compare on whole days with one day of margin so
        # the pushed clause is a superset whatever the text's precision, then filter exactly
        if filters.start is not None:
            day = (filters.start.tz_convert("UTC") - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
            clauses.append(f"occurred_from >= '{day}'")
        if filters.end is not None:
            day = (filters.end.tz_convert("UTC") + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
            clauses.append(f"occurred_from < '{day}'")
        return " AND ".join(clauses) or None

    def _read_raw(self, kind: str, filters: Filters | None, columns: list[str], *,
                  where: str | None = None) -> gpd.GeoDataFrame:
        self._ensure_schema()
        bbox = filters.bbox if filters is not None else None
        where = " AND ".join(w for w in (self._where(filters), where) if w) or None
        try:
            gdf = pyogrio.read_dataframe(
                self.path,
                layer=kind,
                columns=[*columns, "batch_id"],
                bbox=bbox,
                where=where,
                fid_as_index=True,
                use_arrow=True,
            )
        except pyogrio.errors.DataSourceError as e:  # pragma: no cover - corrupted file
            raise StoreError(f"Cannot read layer '{kind}' from the store {self.path}: {e}") from None
        gdf.index = gdf.index.astype("int64")
        gdf["fid"] = gdf.index.to_numpy()
        if gdf.crs is None or not gdf.crs.equals("EPSG:4326"):  # pragma: no cover - foreign edit
            gdf = gdf.set_crs(4326, allow_override=True)
        return gdf

    def _coerce(self, spec: LayerSpec, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Give every column its registry dtype (GDAL returns ms datetimes, nullable bools…)."""
        gdf = gdf.copy()
        for col in spec.columns:
            if col.name in gdf.columns:
                gdf[col.name] = as_type(gdf[col.name], col.type, unit="ns")
        gdf["batch_id"] = gdf["batch_id"].astype("str")
        return gdf

    def count(self, kind: str, filters: Filters | None = None, *, tz: str = "Europe/Paris") -> int:
        spec = get_spec(kind)
        if filters is None or filters.is_empty:
            return self.counts().get(spec.name, 0)
        return len(self.read(kind, filters, columns=[], tz=tz))

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(LAYERS, 0)
        con = self._connect()
        if con is None:
            return out
        with contextlib.closing(con):
            tables = self._tables(con)
            for kind in LAYERS:
                if kind in tables:
                    out[kind] = con.execute(f'SELECT count(*) FROM "{kind}"').fetchone()[0]
        return out

    def batches(self, kind: str | None = None) -> list[Batch]:
        if kind is not None:
            get_spec(kind)
        con = self._connect()
        if con is None:
            return []
        with contextlib.closing(con):
            if BATCH_TABLE not in self._tables(con):
                return []
            sql = f"SELECT * FROM {BATCH_TABLE}"
            args: tuple = ()
            if kind is not None:
                sql += " WHERE kind = ?"
                args = (kind,)
            con.row_factory = sqlite3.Row
            rows = con.execute(sql + " ORDER BY created, rowid", args).fetchall()
        return [self._batch_from_row(r) for r in rows]

    @staticmethod
    def _batch_from_row(r) -> Batch:
        return Batch(
            id=r["id"],
            kind=r["kind"],
            file_name=r["file_name"],
            checksum=r["checksum"],
            user=r["user"],
            created=r["created"],
            n_read=int(r["n_read"]),
            n_stored=int(r["n_stored"]),
            n_rejected=int(r["n_rejected"]),
            simulated=bool(r["simulated"]),
            options=json.loads(r["options"]),
            report=json.loads(r["report"]),
        )

    # ------------------------------------------------------------------ writes

    @contextlib.contextmanager
    def _transaction(self):
        """Copy-on-write: yield a temporary copy of the store, then move it onto the store.

        The copy is discarded if the block raises; a killed process leaves only the temporary
        file, which the next writer removes.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_path), timeout=_LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"The store {self.path} is being written by another import (lock file "
                f"{self.lock_path}); try again when it is done."
            ) from None
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}.gpkg")
        try:
            for stale in self.path.parent.glob(f".{self.path.name}.tmp-*"):
                stale.unlink(missing_ok=True)
            if self.path.exists():
                # a plain byte copy: the file is never written in place, so this is a snapshot
                with open(self.path, "rb") as src, open(tmp, "wb") as dst:
                    while chunk := src.read(16 * 1024 * 1024):
                        dst.write(chunk)
            yield tmp
            for suffix in ("-journal", "-wal", "-shm"):
                if Path(str(tmp) + suffix).exists():  # pragma: no cover - GDAL left a journal
                    raise StoreError(f"The temporary store {tmp} was not closed cleanly.")
            _fsync(tmp)
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            tmp.unlink(missing_ok=True)
            lock.release()

    def _check_frame(self, spec: LayerSpec, gdf: gpd.GeoDataFrame, batch: Batch) -> gpd.GeoDataFrame:
        gdf = check_frame(spec, gdf, batch)
        if any(b.id == batch.id for b in self.batches()):
            raise InputError(f"A batch with id '{batch.id}' is already in the store.")
        return gdf

    def _prepare(self, spec: LayerSpec, gdf: gpd.GeoDataFrame, batch_id: str | None) -> gpd.GeoDataFrame:
        """The frame as written: the kind's columns with storage dtypes, ``batch_id``, geometry.

        ``batch_id`` None keeps the frame's own ``batch_id`` column (rows already stored).
        """
        data = {}
        n = len(gdf)
        for col in spec.columns:
            s = gdf[col.name] if col.name in gdf.columns else pd.Series([None] * n, index=gdf.index)
            s = as_type(s, col.type, unit="ms")
            data[col.name] = s.to_numpy() if col.type in ("bool", "float") else s.array
        if batch_id is None:
            data["batch_id"] = gdf["batch_id"].astype("str").array
        else:
            data["batch_id"] = pd.array([batch_id] * n, dtype="str")
        return gpd.GeoDataFrame(data, geometry=gdf.geometry.to_numpy(), crs=4326)

    def import_batch(self, kind: str, gdf: gpd.GeoDataFrame, batch: Batch, *, progress=None) -> Batch:
        """Append ``gdf`` as the batch ``batch``, all or nothing (see the module docstring).

        In the temporary copy, a batch that is small beside the layer (``_APPEND_RATIO``) is
        appended through GDAL, whose per-row R-tree triggers cost about 35 µs a row; otherwise
        the layer is rewritten whole (old rows keep their ``fid``, new rows get the next ones)
        in one streamed write, so GDAL builds the R-tree in bulk (about 8 µs a row).
        Returns the batch as stored (``n_stored`` = number of features written).
        """
        spec = get_spec(kind)
        self._ensure_schema()
        gdf = self._check_frame(spec, gdf, batch)
        frame = self._prepare(spec, gdf, batch.id)
        stored = replace(batch, n_stored=len(frame))
        with self._transaction() as tmp:
            n_old = self._count_in(tmp, kind)
            if n_old and len(frame) * _APPEND_RATIO <= n_old:
                self._append_layer(tmp, spec, frame, progress)
            else:
                old = None
                if n_old:
                    old = pyogrio.read_dataframe(tmp, layer=kind, fid_as_index=True, use_arrow=True)
                    first = int(old.index.max()) + 1
                    old = self._prepare(spec, old, None).assign(fid=old.index.to_numpy(dtype="int64"))
                else:
                    first = 1
                frame = frame.assign(fid=np.arange(first, first + len(frame), dtype="int64"))
                if old is not None:
                    frame = pd.concat([old, frame], ignore_index=True)
                self._write_layer(tmp, spec, frame, progress)
            self._write_batch_row(tmp, stored)
        return stored

    def _count_in(self, path: Path, kind: str) -> int:
        """Rows of layer ``kind`` in the GeoPackage ``path`` (0 if it has no such layer)."""
        if not path.exists():
            return 0
        with contextlib.closing(sqlite3.connect(path)) as con:
            if kind not in self._tables(con):
                return 0
            return con.execute(f'SELECT count(*) FROM "{kind}"').fetchone()[0]

    @staticmethod
    def _append_layer(tmp: Path, spec: LayerSpec, frame: gpd.GeoDataFrame, progress) -> None:
        """Append ``frame`` to the existing layer through GDAL, in chunks for ``progress``."""
        total = len(frame)
        for start in range(0, total, _CHUNK):
            pyogrio.write_dataframe(
                frame.iloc[start : start + _CHUNK], tmp, layer=spec.name, driver="GPKG", append=True,
                use_arrow=True, promote_to_multi=False,
            )
            if progress is not None:
                progress(min(start + _CHUNK, total), total)

    @staticmethod
    def _write_layer(tmp: Path, spec: LayerSpec, frame: gpd.GeoDataFrame, progress) -> None:
        """(Re)create the layer ``spec.name`` in ``tmp`` from ``frame`` (with a ``fid`` column,
        which GDAL uses as the GeoPackage primary key), streamed in chunks for ``progress``."""
        import pyarrow as pa
        from pyogrio.raw import write_arrow

        cols = [*spec.column_names, "batch_id", "fid", "geometry"]
        table = pa.table(gpd.GeoDataFrame(frame[cols], geometry="geometry", crs=4326).to_arrow(
            index=False, geometry_encoding="WKB"))
        total = table.num_rows

        def chunks():
            done = 0
            for part in table.to_batches(max_chunksize=_CHUNK):
                yield part
                done += part.num_rows
                if progress is not None:
                    progress(done, total)

        write_arrow(
            pa.RecordBatchReader.from_batches(table.schema, chunks()), tmp, layer=spec.name,
            driver="GPKG", geometry_name="geometry",
            geometry_type="Point" if spec.is_point else "Unknown", crs="EPSG:4326",
        )

    @staticmethod
    def _write_batch_row(tmp: Path, batch: Batch) -> None:
        con = sqlite3.connect(tmp)
        try:
            con.execute(_BATCH_DDL)
            registered = con.execute(
                "SELECT 1 FROM gpkg_contents WHERE table_name = ?", (BATCH_TABLE,)
            ).fetchone()
            if not registered:
                con.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                    "VALUES (?, 'attributes', ?, 'Vigie import batches')",
                    (BATCH_TABLE, BATCH_TABLE),
                )
            d = asdict(batch)
            d["simulated"] = int(bool(d["simulated"]))
            d["options"] = json.dumps(d["options"], default=str, ensure_ascii=False)
            d["report"] = json.dumps(d["report"], default=str, ensure_ascii=False)
            cols = list(d)
            con.execute(
                f"INSERT INTO {BATCH_TABLE} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [d[c] for c in cols],
            )
            con.commit()
        finally:
            con.close()

    def rollback(self, batch_id: str) -> Batch:
        """Remove the batch's features and the batch itself, atomically; returns the batch.

        A small batch is deleted with SQL in the temporary copy (GDAL's R-tree delete trigger is
        plain SQL, so the index follows); a large one (more than ``_REWRITE_ROWS`` rows) rewrites
        the layer without it in one streamed write, as per-row trigger deletes are slow (about
        35 s per million rows against a few seconds).
        """
        batch = self.batch(batch_id)
        spec = get_spec(batch.kind)
        with self._transaction() as tmp:
            if batch.n_stored > _REWRITE_ROWS and self._has_layer(spec.name):
                kept = pyogrio.read_dataframe(tmp, layer=spec.name, fid_as_index=True, use_arrow=True,
                                              where=f"batch_id <> {_sql_quote(batch.id)}")
                fids = kept.index.to_numpy(dtype="int64")
                kept = self._prepare(spec, kept, None).assign(fid=fids)
                self._write_layer(tmp, spec, kept, None)
            con = sqlite3.connect(tmp)
            try:
                if spec.name in self._tables(con):
                    con.execute(f'DELETE FROM "{spec.name}" WHERE batch_id = ?', (batch.id,))
                con.execute(f"DELETE FROM {BATCH_TABLE} WHERE id = ?", (batch.id,))
                con.commit()
            finally:
                con.close()
        return batch
