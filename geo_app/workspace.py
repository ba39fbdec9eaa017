"""The workspace: every read of the store and every analysis, user-agnostic and cached.

The web (through ``geo_app.access.Viewer``), the CLI and the monthly report all read through a
``Workspace``, so a hotspot area has one pipeline, a filter one implementation
(``layers.columns.filter_mask``), and the same filters give the same ids and counts wherever
they are asked.

Versions. Every result is computed from one store version and cached under it. A request pins
the version it starts with (``Workspace.pinned()``); every result it asks for then comes from
that version. A layer is read with the version checked before and after the read (the store
replaces its file atomically on every write), so data of two versions never mix; when an
import lands in the middle of a request the read raises ``VersionChanged``, which the web
answers by running the request again on the new version (``geo_app.create_app``).

Caches are bounded in bytes (``cache_mb``), their keys always begin with the store version,
and loading a new version drops the results of the older ones.

Appends. When the store moves to a version that only added rows (an import: no batch removed,
stored rows keep their fids, new rows get higher ones), the layers, the incident columns and
their darkness classes are extended with the added rows (``Store.read_after``) instead of read
again; a rollback, or any change that is not an append, rebuilds them. The previous version's
values are kept aside for this until the new ones are built.

Speed with a million incidents: the incidents of a version are read once and kept as NumPy
columns (``layers.columns.IncidentColumns``); a filter is a boolean mask over them; counts, Gi*
and KDE run on binned coordinates (``layers.hotspots.count_cells`` / ``gistar_counts`` /
``kde_xy``) over one ``analysis_grid`` per version, each incident's cell and street segment
being assigned once per version (``incident_cells``, ``incident_segments``); hotspot summaries
take counts per cell × category × darkness class. Costly layers (KDE, emerging hotspots,
proposals) are computed only when asked.

Snapshots (ten million incidents). Every per-incident value of a version — the columns, the
attribute table, darkness, cells, segments, the proposal models — is saved once under the
deployment's ``cache/`` folder (``layers.store.snapshot``) and mapped back read-only by every
process (``_persisted``): a server starts without reading the incident layer, and the mapped
pages are shared page cache rather than each process's own memory. ``geo-app import`` saves
the new version (``prepare``); a server saving what it computed does so in the background.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import box as shapely_box

from geo_app.memory import large_blocks_to_system, release_free_memory
from layers.columns import (
    NAT,
    IncidentColumns,
    concat_columns,
    display_grid,
    filter_mask,
    incident_columns,
    utc_ns,
)
from layers.errors import NotFound, ParameterError, VigieError
from layers.filters import Filters
from layers.registry import get_spec
from layers.store.snapshot import decode_dataclass, encode_dataclass, private_nbytes

__all__ = [
    "ANALYSES",
    "CONTEXT_KINDS",
    "IncidentRows",
    "KeyFigures",
    "VersionChanged",
    "Workspace",
]

log = logging.getLogger(__name__)

#: hotspot methods of layers.hotspots the API and pages offer
ANALYSES = ("gistar", "kde", "counts", "lisa")

#: every layer kind a page may draw beside the incidents
CONTEXT_KINDS = ("zac", "areas", "schools", "shops", "cameras", "lights")

#: analysis layers computed only when asked (the dashboard's hidden layers)
LAZY_LAYERS = ("kde", "emerging", "proposals")

#: results that depend on the store version only: kept in their own cache, so that many
#: filter combinations never evict them
_PER_VERSION = frozenset({"frame", "columns", "darkness", "analysis_grid", "counts", "extent", "appended",
                          "batches", "proposal_models", "cells", "segments", "time_range"})

#: per-version values a newer version extends when the store only appended rows
_EXTENDABLE = frozenset({"frame", "columns", "darkness", "cells", "segments"})

#: store versions whose batches and layer ends are remembered (to tell an append from a change)
_MARKS_KEPT = 8


class _IncidentTable:
    """The incident layer as a workspace keeps it between requests, compactly (issue 15).

    * No geometry column: the points are rebuilt from the lon/lat of ``IncidentColumns`` for
      the rows an answer asks for (``rows``) instead of one shapely point per incident (about
      216 bytes each). The store reads the layer in EPSG:4326, whose lon/lat
      ``incident_columns`` keeps exactly (``shapely.get_x``/``get_y``), so the rebuilt points
      equal the stored ones; a frame in another CRS keeps its own coordinates (``xy``). A
      missing or empty point comes back as None.
    * No ``fid`` nor ``occurred_from`` when ``IncidentColumns`` holds them already (``fid``
      int64, ``t`` the nanoseconds UTC of a ``datetime64[ns, UTC]`` column).
    * Text columns (pandas' ``str`` dtype) as ``Categorical`` (1–2 byte codes and one copy of
      each distinct value instead of 8–30 bytes per row), decoded back to ``str`` for the asked
      rows: a row comes back equal, dtype included, to the stored one.
    """

    def __init__(self, table: pd.DataFrame, order: list, dtypes: dict, name: str, crs, xy=None,
                 fid_end: tuple[int, int] = (0, 0)):
        self.table, self.order, self.dtypes, self.name, self.crs, self.xy = table, order, dtypes, name, crs, xy
        #: the arrays are mapped from a snapshot (page cache, not this process's memory)
        self.mapped = False
        #: (last fid, rows), as ``Workspace._end`` records them
        self.fid_end = fid_end

    @classmethod
    def of(cls, gdf: gpd.GeoDataFrame) -> _IncidentTable:
        name = gdf.geometry.name
        xy = None
        if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
            geoms = np.asarray(gdf.geometry.values)
            xy = (shapely.get_x(geoms), shapely.get_y(geoms))
        dtypes = {c: gdf[c].dtype for c in gdf.columns if c != name}
        keep = {}
        for c, dtype in dtypes.items():
            if c in _DERIVED and str(dtype) == _DERIVED[c]:
                continue  # rebuilt from IncidentColumns
            col = gdf[c]
            if isinstance(dtype, pd.StringDtype):
                col = col.astype("category")
            elif _is_utc_ns(dtype):  # int64 nanoseconds (NAT when missing): shareable as it is
                col = pd.Series(pd.DatetimeIndex(col).asi8, index=col.index, name=c)
            keep[c] = col
        table = pd.DataFrame(keep, index=gdf.index)
        fid = gdf["fid"].to_numpy() if "fid" in gdf else np.zeros(0, np.int64)
        return cls(table, list(gdf.columns), dtypes, name, gdf.crs, xy,
                   (int(fid.max()) if len(fid) else 0, len(gdf)))

    def extend(self, added: gpd.GeoDataFrame) -> _IncidentTable:
        """This table followed by the rows of ``added`` (the layer gained by an import)."""
        from pandas.api.types import union_categoricals

        more = _IncidentTable.of(added)
        if list(more.table.columns) != list(self.table.columns):
            raise VigieError("the appended incidents do not have the stored columns.")
        parts = {}
        for c in self.table.columns:
            a, b = self.table[c], more.table[c]
            if isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype):
                try:
                    parts[c] = pd.Series(union_categoricals([a.array, b.array], ignore_order=True), copy=False)
                    continue
                except TypeError:  # categories of different dtypes (e.g. a column all missing)
                    a, b = a.astype(self.dtypes[c]), b.astype(self.dtypes[c])
            parts[c] = pd.concat([a, b], ignore_index=True)
        table = pd.DataFrame(parts)
        table.index = pd.RangeIndex(len(table))
        for c in table.columns:  # what of() would give for the whole layer
            if isinstance(self.dtypes[c], pd.StringDtype) and not isinstance(table[c].dtype, pd.CategoricalDtype):
                table[c] = table[c].astype("category")
        xy = None if self.xy is None else tuple(np.concatenate([a, b]) for a, b in zip(self.xy, more.xy))
        return _IncidentTable(table, self.order, self.dtypes, self.name, self.crs, xy,
                              (max(self.fid_end[0], more.fid_end[0]), len(table)))

    @property
    def nbytes(self) -> int:
        """Bytes held in this process's own memory (0 when mapped from a snapshot)."""
        if self.mapped:
            return 0
        return (int(self.table.memory_usage(index=True, deep=True).sum())
                + (0 if self.xy is None else sum(a.nbytes for a in self.xy)))

    def column(self, c: str, rows, cols: IncidentColumns) -> pd.Series:
        """Attribute ``c`` of rows ``rows`` (positions; None: all) in its stored dtype, with
        a RangeIndex."""
        take = slice(None) if rows is None else rows
        if c not in self.table.columns:  # rebuilt from the incident columns
            if c == "fid":
                return pd.Series(cols.fid[take], dtype=self.dtypes[c], name=c, copy=True)
            t = cols.t[take].view("datetime64[ns]")  # NAT is NumPy's NaT
            return pd.Series(pd.DatetimeIndex(t).tz_localize("UTC"), dtype=self.dtypes[c], name=c)
        col = self.table[c]
        col = col if rows is None else col.iloc[rows]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(self.dtypes[c])
        elif _is_utc_ns(self.dtypes[c]):
            ns = np.array(col.to_numpy(), dtype=np.int64).view("datetime64[ns]")  # NAT is NumPy's NaT
            col = pd.Series(pd.DatetimeIndex(ns).tz_localize("UTC"), dtype=self.dtypes[c], name=c)
        else:
            col = col.copy()
        return col.reset_index(drop=True)

    def to_arrays(self) -> tuple[dict, dict]:
        """This table as ``(arrays, meta)`` for ``layers.store.snapshot.Snapshots.save``: per
        column its values, or its category codes and categories (text as an Arrow array)."""
        import pyarrow as pa

        arrays, kinds = {}, {}
        for c in self.table.columns:
            col = self.table[c]
            if isinstance(col.dtype, pd.CategoricalDtype):
                cats = col.cat.categories
                if not isinstance(cats.dtype, pd.StringDtype) and len(cats):
                    return {}, {}  # categories of another type: not saved
                arrays[f"{c}.codes"] = col.cat.codes.to_numpy()
                arrays[f"{c}.categories"] = pa.array(np.asarray(cats, dtype=object), type=pa.large_string())
                kinds[c] = ("category", cats.dtype)
            elif isinstance(col.dtype, np.dtype) and col.dtype != object:
                arrays[c] = col.to_numpy()
                kinds[c] = ("values", None)
            else:
                return {}, {}  # an extension or object column: not saved
        if self.xy is not None:
            arrays["xy.x"], arrays["xy.y"] = self.xy
        index = self.table.index
        if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
            return {}, {}
        meta = {"kinds": kinds, "columns": list(self.table.columns), "order": self.order, "dtypes": self.dtypes,
                "name": self.name, "crs": self.crs, "fid_end": self.fid_end, "rows": len(self.table)}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict, meta: dict) -> _IncidentTable:
        """The table ``to_arrays`` saved, over the (memory-mapped) saved arrays."""
        parts = {}
        for c in meta["columns"]:
            how, dtype = meta["kinds"][c]
            if how == "category":
                cats = arrays[f"{c}.categories"]
                values = (pd.array(cats.to_pandas(types_mapper=lambda t, d=dtype: d), dtype=dtype) if len(cats)
                          else pd.array([], dtype=dtype))
                cat = pd.Categorical.from_codes(arrays[f"{c}.codes"], dtype=pd.CategoricalDtype(pd.Index(values)))
                parts[c] = pd.Series(cat, name=c, copy=False)
            else:
                parts[c] = pd.Series(arrays[c], name=c, copy=False)
        table = pd.DataFrame(parts, index=pd.RangeIndex(meta["rows"]), copy=False)
        xy = (arrays["xy.x"], arrays["xy.y"]) if "xy.x" in arrays else None
        out = cls(table, meta["order"], meta["dtypes"], meta["name"], meta["crs"], xy, meta["fid_end"])
        out.mapped = True
        return out

    def rows(self, rows, cols: IncidentColumns, *, columns=None, geometry: bool = True):
        """Rows ``rows`` (positions; None: all) as a new frame equal to the stored rows; only
        the attributes ``columns`` when given, and without points unless ``geometry``."""
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
        index = self.table.index if rows is None else self.table.index[rows]
        data = {}
        for c in self.order:
            if c == self.name:
                if not geometry:
                    continue
                x, y = (cols.lon, cols.lat) if self.xy is None else self.xy
                if rows is not None:
                    x, y = x[rows], y[rows]
                pts = shapely.points(x, y)
                pts[~(np.isfinite(x) & np.isfinite(y))] = None
                data[c] = gpd.GeoSeries(pts, crs=self.crs)
            elif columns is None or c in columns:
                data[c] = self.column(c, rows, cols)
        out = pd.DataFrame(data)
        out.index = index
        return gpd.GeoDataFrame(out, geometry=self.name) if geometry else out


class IncidentRows:
    """The incident layer of one store version as a read-only, frame-like object whose rows
    are built only when taken: ``len()``, ``columns``, ``name in``, ``rows[name]`` (a whole
    column as a Series, e.g. the ids), ``rows.iloc[positions]`` (a new GeoDataFrame,
    ``Workspace.incidents_at``) and ``rows.take(positions, columns=..., points=...)`` (some
    columns only). ``Viewer.select`` hands it to a client's ``pick`` so that a
    page of 100 features builds 100 points, not one per stored incident."""

    def __init__(self, workspace: Workspace):
        self._ws = workspace
        self._table = workspace._frame("incidents")
        self._cols = workspace.columns()

    def __len__(self) -> int:
        return len(self._cols)

    @property
    def columns(self) -> list:
        return list(self._table.order)

    def __contains__(self, name) -> bool:
        return name in self._table.order

    def __getitem__(self, name: str) -> pd.Series:
        if name == self._table.name:
            return self.iloc[np.arange(len(self))].geometry
        if name not in self._table.dtypes:
            raise KeyError(name)
        return self._table.column(name, None, self._cols)

    @property
    def geometry_name(self) -> str:
        return self._table.name

    def take(self, positions: np.ndarray, *, columns: tuple[str, ...] | None = None,
             points: bool = True) -> gpd.GeoDataFrame:
        """Rows ``positions`` with only the attributes ``columns`` (None: all), and their
        geometry column empty (None) unless ``points``: what a filter reading a few columns
        needs, without building points or decoding text it does not read."""
        positions = np.asarray(positions, dtype=np.int64)
        if points:
            return self._table.rows(positions, self._cols, columns=columns)
        out = self._table.rows(positions, self._cols, columns=columns, geometry=False)
        empty = gpd.GeoSeries(np.full(len(out), None, dtype=object), index=out.index, crs=self._table.crs)
        out = gpd.GeoDataFrame(out, geometry=empty)
        return out if out.geometry.name == self._table.name else out.rename_geometry(self._table.name)

    @property
    def iloc(self):
        rows = self

        class _Take:
            def __getitem__(self, positions):
                positions = np.arange(len(rows))[positions] if isinstance(positions, slice) else positions
                return rows._table.rows(np.asarray(positions, dtype=np.int64), rows._cols)

        return _Take()


#: columns of the incident layer ``IncidentColumns`` holds exactly, with their stored dtype
_DERIVED = {"fid": "int64", "occurred_from": "datetime64[ns, UTC]"}


class _BackgroundSaver:
    """One thread saving snapshots in turn; a process forked from this one (a gunicorn worker)
    gets its own thread on its first save (a forked child has none of its parent's threads)."""

    def __init__(self):
        self._pid, self._pool = None, None

    def submit(self, fn, *args):
        from concurrent.futures import ThreadPoolExecutor

        if self._pid != os.getpid():
            self._pid, self._pool = os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-save")
        return self._pool.submit(fn, *args)

    def shutdown(self, wait: bool = True) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.shutdown(wait=wait)
        self._pid, self._pool = None, None


#: modules whose code computes the saved per-incident arrays (a change invalidates snapshots)
_SNAPSHOT_CODE = ("layers.columns", "layers.temporal", "layers.grid", "layers.streets", "layers.store.snapshot",
                  "layers.recommend.prepared", "geo_app.workspace")


@functools.lru_cache(maxsize=1)
def _code_stamp() -> str:
    """A digest of the source of ``_SNAPSHOT_CODE``: snapshots saved by other code are not used."""
    import hashlib
    import importlib

    h = hashlib.sha256()
    for name in _SNAPSHOT_CODE:
        module = importlib.import_module(name)
        try:
            h.update(Path(module.__file__).read_bytes())
        except (OSError, TypeError):  # no source file (a zipped or frozen install): the release
            from importlib.metadata import PackageNotFoundError, version

            try:
                h.update(f"{name} {version('vigie')}".encode())
            except PackageNotFoundError:
                h.update(name.encode())
    return h.hexdigest()[:16]


def _store_identity(store) -> str | None:
    """What names ``store`` across processes (a GeoPackage's path, a PostGIS URL), or None
    (an in-memory store: nothing to save snapshots against)."""
    ident = getattr(store, "path", None) or getattr(store, "url", None)
    return str(Path(ident).resolve()) if isinstance(ident, Path) else (str(ident) if ident else None)


def _is_utc_ns(dtype) -> bool:
    return str(dtype) == "datetime64[ns, UTC]"


class VersionChanged(VigieError):
    """The store changed while a request was reading it (an import or a rollback landed)."""

    status = 503


@dataclass(frozen=True)
class KeyFigures:
    """Counts shown beside the dashboard map."""

    total: int
    previous: int | None
    change_pct: float | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    prev_start: pd.Timestamp | None
    prev_end: pd.Timestamp | None
    simulated: int


def nbytes(value) -> int:
    """Approximate memory held by a cached value, in bytes (arrays, frames, containers)."""
    if value is None:
        return 0
    private = private_nbytes(value)  # arrays, IncidentColumns, prepared models: mapped ones are free
    if private is not None:
        return private
    if isinstance(value, _IncidentTable):
        return value.nbytes
    if isinstance(value, pd.DataFrame):
        size = int(value.memory_usage(index=True, deep=False).sum())
        if isinstance(value, gpd.GeoDataFrame):
            geoms = value.geometry.values
            size += int(shapely.get_num_coordinates(np.asarray(geoms)).sum()) * 16 + len(value) * 64
        return size
    if isinstance(value, pd.Series):
        return int(value.memory_usage(index=True, deep=False))
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values()) + 64 * len(value)
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value) + 8 * len(value)
    if isinstance(getattr(value, "nbytes", None), int):  # e.g. layers.effect.EffectIndex
        return value.nbytes
    return sys.getsizeof(value)


class ByteCache:
    """A thread-safe LRU dict bounded in bytes (``nbytes`` of its values).

    One thread computes a missing key; the others asking for it meanwhile wait for that result
    (the server's warm-up thread and the first visitor never both read a million incidents).
    A value larger than the whole budget is returned but not kept.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self.used = 0
        self._d: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._lock = threading.Lock()
        self._pending: dict = {}

    def __len__(self) -> int:
        return len(self._d)

    def keys(self) -> list:
        with self._lock:
            return list(self._d)

    def get(self, key, fn: Callable[[], Any]):
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = threading.Lock()
                pending.acquire()
        if not owner:
            with pending:  # released when the computing thread is done
                pass
            with self._lock:
                if key in self._d:
                    return self._d[key]
            return self.get(key, fn)  # it failed there: try here (and raise here)
        try:
            value = fn()
            self.put(key, value)
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.release()

    def put(self, key, value) -> None:
        size = nbytes(value)
        with self._lock:
            if key in self._d:
                self.used -= self._sizes.pop(key)
                del self._d[key]
            if size > self.max_bytes:
                return
            self._d[key] = value
            self._sizes[key] = size
            self.used += size
            while self.used > self.max_bytes and self._d:
                old, _ = self._d.popitem(last=False)
                self.used -= self._sizes.pop(old)

    def peek(self, key):
        """The cached value or None (never computes)."""
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
            return None

    def drop(self, keep: Callable[[Any], bool]) -> None:
        """Remove every entry whose key ``keep`` rejects."""
        with self._lock:
            for key in [k for k in self._d if not keep(k)]:
                del self._d[key]
                self.used -= self._sizes.pop(key)

    def clear(self) -> None:
        self.drop(lambda key: False)

    def pop_where(self, take: Callable[[Any], bool]) -> dict:
        """Remove the entries whose key ``take`` accepts and return them."""
        with self._lock:
            out = {key: self._d.pop(key) for key in [k for k in self._d if take(k)]}
            for key in out:
                self.used -= self._sizes.pop(key)
            return out


class _Caches:
    """The caches one workspace and all its pinned copies share."""

    def __init__(self, max_bytes: int):
        # per version (frames, columns, grid): half the budget, apart from per-filter results
        self.base = ByteCache(max_bytes // 2)
        self.results = ByteCache(max_bytes // 2)
        self.latest: str | None = None
        self.lock = threading.Lock()
        # values of an older version kept to be extended: (name, params) -> (version, value)
        self.prev: dict = {}
        # per version: {"batches": {batch id: kind}, "ends": {kind: (last fid, rows)}}
        self.marks: OrderedDict = OrderedDict()
        # incident columns computed on the way by a read of the incident table, per version
        self.fresh: dict = {}

    def seen(self, version: str) -> None:
        """A layer of ``version`` was loaded: results of older versions will not be asked again
        (requests pinned to them re-run), so free them, keeping the latest layers and incident
        columns aside to be extended when the new version only appended rows."""
        with self.lock:
            if self.latest == version:
                return
            old, self.latest = self.latest, version
        kept = self.base.pop_where(lambda key: key[0] == old and key[1] in _EXTENDABLE)
        with self.lock:
            for (v, name, params), value in kept.items():
                self.prev[(name, params)] = (v, value)
        for cache in (self.base, self.results):
            cache.drop(lambda key: key[0] == version)
        with self.lock:
            self.fresh = {v: c for v, c in self.fresh.items() if v == version}

    def take_prev(self, name: str, params: tuple):
        """``(version, value)`` kept aside for ``name`` and ``params`` (removed), or None."""
        with self.lock:
            return self.prev.pop((name, params), None)

    def mark(self, version: str, **parts) -> None:
        """Remember what ``version`` held (``batches`` and layer ``ends``)."""
        with self.lock:
            m = self.marks.setdefault(version, {"batches": None, "ends": {}})
            self.marks.move_to_end(version)
            if parts.get("batches") is not None:
                m["batches"] = parts["batches"]
            m["ends"].update(parts.get("ends") or {})
            while len(self.marks) > _MARKS_KEPT:
                self.marks.popitem(last=False)


class Workspace:
    """Reads and analyses of one deployment, cached per store version.

    Parameters
    ----------
    home : geo_app.config.Home
        The deployment (settings, taxonomy, store).
    store : Store, optional
        A store object to use instead of ``home.store`` (tests, benchmarks).
    cache_mb : int
        Memory budget of the caches, in MB (half for per-version data such as the incident
        columns, half for per-filter results). Arrays mapped from a snapshot do not count.
    snapshots : bool, default True
        Save the per-incident arrays of each version under ``<home>/cache`` and map them
        back (``snapshots()``); False computes everything in memory.

    Notes
    -----
    A ``Workspace`` follows the store's latest version; ``pinned()`` gives a copy that answers
    every call from the version current when it is made (one per request or command).
    """

    def __init__(self, home, *, store=None, cache_mb: int = 2048, snapshots: bool = True):
        self.home = home
        self._store = store
        self._snaps = None if snapshots else False
        self._caches = _Caches(int(cache_mb) * 2**20)
        self._pin: str | None = None

    # -- deployment -------------------------------------------------------------------------
    @property
    def store(self):
        return self._store if self._store is not None else self.home.store

    @property
    def settings(self):
        return self.home.settings

    @property
    def taxonomy(self):
        return self.home.taxonomy

    @property
    def tz(self) -> str:
        return self.settings.timezone

    @property
    def k(self) -> int:
        """The small-count threshold of the aggregate rules (``k_anonymity``)."""
        return int(self.settings.k_anonymity)

    def pinned(self) -> Workspace:
        """A copy sharing this workspace's caches whose every answer comes from the store
        version current now."""
        new = object.__new__(Workspace)
        new.__dict__.update(self.__dict__)
        new._pin = str(self.store.version)
        return new

    @property
    def version(self) -> str:
        """The store version answers come from (the pinned one, else the store's current)."""
        return self._pin if self._pin is not None else str(self.store.version)

    def cached(self, name: str, params: tuple, fn: Callable[[], Any]):
        """``fn()`` cached under this version, ``name`` and ``params`` (hashable)."""
        cache = self._caches.base if name in _PER_VERSION else self._caches.results
        return cache.get((self.version, name, params), fn)

    def peek(self, name: str, params: tuple):
        """The cached result of ``name`` and ``params`` at this version, or None."""
        cache = self._caches.base if name in _PER_VERSION else self._caches.results
        return cache.peek((self.version, name, params))

    def clear(self, *, saved: bool = False) -> None:
        """Forget every cached result (the next answers are computed anew, none extended);
        with ``saved``, remove the snapshots on disk too (the next answers read the store)."""
        if saved and self.snapshots() is not None:
            self.snapshots().clear()
        self._caches.base.clear()
        self._caches.results.clear()
        with self._caches.lock:
            self._caches.prev.clear()
            self._caches.fresh.clear()
            self._caches.marks.clear()

    # -- appends ----------------------------------------------------------------------------
    def _batches(self) -> dict:
        """``{batch id: kind}`` of this version (remembered to tell appends from changes)."""
        def compute():
            got = {b.id: b.kind for b in self._consistent(lambda store: store.batches())}
            self._caches.mark(self.version, batches=got)
            return got
        return self.cached("batches", (), compute)

    def _end(self, kind: str, fid: np.ndarray) -> None:
        """Remember the batches, and the last fid and the row count of ``kind``, at this version."""
        self._batches()
        self._caches.mark(self.version, ends={kind: (int(fid.max()) if len(fid) else 0, len(fid))})

    def _appended(self, kind: str, since: str) -> gpd.GeoDataFrame | None:
        """The rows of ``kind`` the store gained between version ``since`` and this one, when
        it only gained rows (no batch removed, the count adds up); None otherwise."""
        def compute():
            mark = self._caches.marks.get(since)
            if mark is None or mark["batches"] is None or kind not in mark["ends"]:
                return None
            before, (last, n_before) = mark["batches"], mark["ends"][kind]
            now = self._batches()
            if not before.keys() <= now.keys():
                return None  # a rollback: rows went away
            n_now = self.counts().get(kind, 0)
            if not any(now[b] == kind for b in now.keys() - before.keys()):
                return pd.DataFrame() if n_now == n_before else None  # nothing added
            part = self._consistent(lambda store: store.read_after(kind, last, tz=self.tz))
            return part if n_before + len(part) == n_now else None
        return self.cached("appended", (kind, since), compute)

    def _extended(self, name: str, params: tuple, kind: str, rebuild: Callable[[], Any],
                  extend: Callable[[Any, gpd.GeoDataFrame], Any]):
        """``name``'s value at this version: the value kept from an older version extended
        with the rows of ``kind`` added since (``extend(old, added)``) when the store only
        appended rows, else ``rebuild()``."""
        self._batches()  # a first read at this version sets the older version's values aside
        kept = self._caches.take_prev(name, params)
        if kept is not None:
            since, old = kept
            added = self._appended(kind, since)
            if added is not None:
                return old if not len(added) else extend(old, added)
        return rebuild()

    # -- snapshots --------------------------------------------------------------------------
    def snapshots(self):
        """The ``layers.store.snapshot.Snapshots`` of this deployment (``<home>/cache``), or
        None when the store has no identity to key them by."""
        from layers.store.snapshot import Snapshots

        if self._snaps is None:
            root = getattr(self.home, "path", None)
            self._snaps = Snapshots(Path(root) / "cache") if root is not None and _store_identity(self.store) else False
        return self._snaps or None

    def _snapshot_key(self, name: str, params: tuple = ()) -> str:
        """What a saved value depends on besides the store version: the store, the code, the
        analysis CRS and time zone, and ``params`` (which hold the settings the value reads)."""
        import hashlib

        st = self.settings
        parts = [_store_identity(self.store), _code_stamp(), st.analysis_crs, st.timezone, params]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]

    def _persisted(self, name: str, params: tuple, rebuild: Callable[[], Any],
                   extend: Callable[[Any, gpd.GeoDataFrame], Any] | None, *,
                   encode: Callable[[Any], tuple[dict, dict]] | None = None,
                   decode: Callable[[dict, dict], Any] | None = None,
                   end: Callable[[Any], tuple[int, int]] | None = None):
        """``name``'s per-incident value at this version, from the cheapest source: mapped
        from this version's snapshot (``snapshots()``); else an older version's value (kept in
        memory, or the newest snapshot) extended with the appended rows (``_extended``); else
        ``rebuild()`` (always, when ``extend`` is None: a value appends do not extend). A
        value built here is saved and mapped back, so that its pages are
        shared with every process and the next start reads nothing. ``encode``/``decode``
        turn the value into arrays and back (default: one array); ``end(value)`` gives the
        ``(last fid, rows)`` it covers (default: those of ``columns()``)."""
        encode = encode or (lambda a: ({"values": a}, {}))
        decode = decode or (lambda arrays, meta: arrays["values"])
        snaps = self.snapshots()

        def build():
            return rebuild() if extend is None else self._extended(name, params, "incidents", rebuild, extend)

        if snaps is None:
            return build()
        key = self._snapshot_key(name, params)
        rows = self.counts().get("incidents", 0)
        got = snaps.load(name, key, self.version)
        if got is not None:
            if self._matches(got.meta, rows):
                return decode(got.arrays, got.meta["encoded"])
            log.warning("the arrays saved for store version %s do not fit its rows: computed again", self.version)
            snaps.discard(name, key, self.version)
        if extend is not None and (name, params) not in self._caches.prev:  # another process's older snapshot
            old = snaps.latest(name, key, but=self.version)
            marks = old.meta.get("marks") if old is not None else None
            if marks:
                self._caches.mark(old.version, batches=marks["batches"], ends={"incidents": marks["end"]})
                with self._caches.lock:
                    self._caches.prev.setdefault((name, params), (old.version, decode(old.arrays, old.meta["encoded"])))
        prev = self._caches.prev.get((name, params)) if extend is not None else None
        value = build()
        arrays, meta = encode(value)
        if not arrays and not meta:
            return value  # a value the snapshot cannot hold
        if end is None:
            cols = self.columns()
            last = (int(cols.fid.max()) if len(cols) else 0, len(cols))
        else:
            last = end(value)
        meta = {"encoded": meta, "rows": rows, "marks": {"batches": self._batches(), "end": last}}
        if prev is not None and value is prev[1] and snaps.alias(name, key, prev[0], self.version, meta):
            return value  # unchanged (an import of another kind): the same files, linked
        saver = self.__dict__.get("_saver")
        if saver is not None:  # a server: its request does not wait for the disk
            cache_key, base = (self.version, name, params), self._caches.base

            def save():
                saved = snaps.save(name, key, cache_key[0], arrays, meta)
                if saved is not None and base.peek(cache_key) is value:  # then share the saved pages
                    base.put(cache_key, decode(saved.arrays, saved.meta["encoded"]))

            saver.submit(save)
            return value
        saved = snaps.save(name, key, self.version, arrays, meta)
        return value if saved is None else decode(saved.arrays, saved.meta["encoded"])

    def _matches(self, meta: dict, rows: int) -> bool:
        """Whether a snapshot saved with ``meta`` fits this version: the same incident count
        and the same batches (a store restored from a dump may reuse a version token for
        other rows; batch ids are never reused)."""
        marks = meta.get("marks") or {}
        return meta.get("rows") == rows and marks.get("batches") == self._batches()

    def save_in_background(self) -> None:
        """Save what this workspace computes in a background thread (one at a time) and keep
        using its own copy: a server's requests then never wait for the disk; the next process
        started maps what was saved. ``prepare()`` still saves before it returns."""
        self.__dict__["_saver"] = _BackgroundSaver()

    def prepare(self) -> None:
        """Compute and save this version's per-incident arrays (the incident columns and
        attribute table, darkness classes, analysis cells and street segments), so that
        every server process maps them at start instead of reading the store. ``geo-app
        import``, ``geo-app rollback`` and ``geo-app prepare`` run it; a server saves what it
        computes as it goes. Saves before it returns, also on a workspace that saves in the
        background."""
        saver = self.__dict__.pop("_saver", None)
        if saver is not None:
            saver.shutdown(wait=True)  # what was queued is on disk; this call saves in turn
            try:
                self._prepare()
            finally:
                self.save_in_background()
            return
        self._prepare()

    def _prepare(self) -> None:
        import warnings

        from layers.errors import VigieWarning

        self._frame("incidents")
        self.columns()
        self.darkness_codes()
        try:
            with warnings.catch_warnings():  # a grid too fine for a tiny layer: said when it is analysed
                warnings.simplefilter("ignore", VigieWarning)
                self.incident_cells()
        except VigieError:  # no study area and no incident: no grid
            pass
        self.incident_segments()
        release_free_memory()

    def default_filters(self, filters: Filters | None) -> Filters:
        """``filters`` with, when no category is asked, the ordinary (non-sensitive)
        categories: maps, hotspots, the report and the CLI show sensitive categories only when
        they are asked for, so every role and every tool shares the same hotspot areas (and
        review threads)."""
        filters = filters or Filters()
        if filters.categories is None:
            tax = self.taxonomy
            filters = filters.replace(categories=tuple(c for c in tax.codes if c not in tax.sensitive))
        return filters

    # -- reads ------------------------------------------------------------------------------
    def frame(self, kind: str) -> gpd.GeoDataFrame:
        """The whole layer ``kind`` at this version (cached; do not mutate).

        For incidents, a new frame built from the cached attribute table and the coordinates
        of the incident columns (``incidents_at``): no geometry per incident is kept between
        requests, so prefer ``incidents_at(rows)`` for the rows an answer needs.
        """
        get_spec(kind)
        if kind == "incidents":
            return self.incidents_at(None)
        return self._frame(kind)

    def _frame(self, kind: str):
        """The cached layer ``kind``; for incidents an ``_IncidentTable`` (attributes only)."""
        def compute():
            if kind == "incidents":
                out = self._persisted("frame", (kind,), self._read_incident_table,
                                      lambda old, added: old.extend(added),
                                      encode=lambda t: t.to_arrays(), decode=_IncidentTable.from_arrays,
                                      end=lambda t: t.fid_end)
                self._batches()
                self._caches.mark(self.version, ends={kind: out.fid_end})
                return out
            out = self._extended("frame", (kind,), kind, lambda: self._read_whole(kind),
                                 lambda old, added: pd.concat([old, added], ignore_index=True))
            self._end(kind, out["fid"].to_numpy() if "fid" in out else np.zeros(0, np.int64))
            return out

        return self.cached("frame", (kind,), compute)

    def _read_incident_table(self) -> _IncidentTable:
        """The incident layer read whole: its attribute table kept, its ``IncidentColumns``
        computed from the geometries on the way (and cached), the geometries dropped."""
        gdf = self._read_whole("incidents")
        if self._caches.base.peek((self.version, "columns", ())) is None:
            with self._caches.lock:  # taken by columns() (which saves them)
                self._caches.fresh[self.version] = incident_columns(gdf, crs=self.settings.analysis_crs, tz=self.tz)
        out = _IncidentTable.of(gdf)
        del gdf
        release_free_memory()  # the points and strings just dropped
        return out

    def incidents_at(self, rows: np.ndarray | None, *, columns: tuple[str, ...] | None = None
                     ) -> gpd.GeoDataFrame:
        """Incidents ``rows`` (positions in this version's layer; None: every incident) as a
        new GeoDataFrame, EPSG:4326, equal to the same rows of the stored layer: the
        attributes (only ``columns`` when given) from the cached table, the points built now
        from the lon/lat of ``columns()`` (one shapely point per asked row, about 200 bytes
        each, freed with the frame)."""
        return self._frame("incidents").rows(rows, self.columns(), columns=columns)

    def _read_whole(self, kind: str) -> gpd.GeoDataFrame:
        return self._consistent(lambda store: store.read(kind, None, tz=self.tz))

    def _consistent(self, read: Callable[[Any], Any]):
        """``read(store)`` checked to come whole from this workspace's version: the store's
        version is compared before and after (``VersionChanged`` when it moved)."""
        store = self.store
        before = str(store.version)
        if before != self.version:
            raise VersionChanged("the data changed while this answer was prepared; ask again.")
        out = read(store)
        if str(store.version) != before:
            raise VersionChanged("the data changed while this answer was prepared; ask again.")
        self._caches.seen(before)
        return out

    def counts(self) -> dict[str, int]:
        """Feature count of every kind."""
        return self.cached("counts", (), lambda: dict(self._consistent(lambda store: store.counts())))

    def columns(self) -> IncidentColumns:
        """The incidents as NumPy columns (reprojected once per store version)."""
        def compute():
            crs, tz = self.settings.analysis_crs, self.tz
            def rebuild():
                with self._caches.lock:
                    got = self._caches.fresh.pop(self.version, None)
                if got is None and self.peek("frame", ("incidents",)) is None:
                    self._frame("incidents")  # reading the layer computes its columns
                    with self._caches.lock:
                        got = self._caches.fresh.pop(self.version, None)
                return got if got is not None else incident_columns(self._read_whole("incidents"), crs=crs, tz=tz)

            out = self._persisted("columns", (), rebuild,
                                  lambda old, added: concat_columns(old, incident_columns(added, crs=crs, tz=tz)),
                                  encode=encode_dataclass, decode=lambda a, m: decode_dataclass(a, m),
                                  end=lambda c: (int(c.fid.max()) if len(c) else 0, len(c)))
            self._end("incidents", out.fid)
            return out

        return self.cached("columns", (), compute)

    def darkness_codes(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Day (0), civil twilight (1), night (2) or unknown (-1) of the incidents
        (``layers.temporal.darkness``): all of them (computed once per version and cached), or
        only ``rows`` (positions), taken from the cached column when it exists."""
        key = (self.version, "darkness", ())
        if rows is not None:
            whole = self._caches.base.peek(key)
            if whole is None and ("darkness", ()) in self._caches.prev:
                whole = self.darkness_codes()  # extending the kept column beats computing rows
            return whole[rows] if whole is not None else self._darkness(rows)

        def compute():
            self.columns()  # marks this version's end of the incident layer
            codes = self._persisted("darkness", (), lambda: self._darkness(None),
                                    lambda old, added: np.concatenate([old, self._darkness_of(added)]))
            codes.flags.writeable = False
            return codes

        return self._caches.base.get(key, compute)

    def _darkness(self, rows) -> np.ndarray:
        return self._darkness_of(self.incidents_at(rows, columns=("occurred_from", "occurred_to")))

    def _darkness_of(self, full: gpd.GeoDataFrame) -> np.ndarray:
        from layers import temporal

        if not len(full):
            return np.zeros(0, dtype=np.int8)
        slim = gpd.GeoDataFrame({c: full[c].array for c in ("occurred_from", "occurred_to") if c in full},
                                geometry=full.geometry.values, crs=full.crs)
        return np.asarray(temporal.darkness(slim, tz=self.tz).cat.codes, dtype=np.int8)

    def mask(self, filters: Filters | None, *, night: bool = False) -> np.ndarray:
        """Boolean mask of the incidents passing ``filters`` (and in the dark when ``night``),
        cached per version and filters; do not modify."""
        filters = filters or Filters()
        if filters.bbox is not None:  # the map's view: not cached (every pan is a new bbox)
            cols = self.columns()
            minx, miny, maxx, maxy = filters.bbox
            m = self.mask(filters.replace(bbox=None), night=night).copy()
            rows = np.flatnonzero(m)
            lon, lat = cols.lon[rows], cols.lat[rows]
            m[rows] = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
            m.flags.writeable = False
            return m

        def compute():
            zac = self.frame("zac") if filters.zac else None
            m = filter_mask(self.columns(), filters, zac_layer=zac)
            if night:
                rows = np.flatnonzero(m)
                whole = len(rows) > 0.25 * len(m)  # a large selection: the whole cached column
                m[rows] = (self.darkness_codes()[rows] if whole else self.darkness_codes(rows)) == 2
            m.flags.writeable = False
            return m

        return self.cached("mask", (filters, night), compute)

    def rows(self, filters: Filters | None, *, night: bool = False) -> np.ndarray:
        """Positions of the incidents passing ``filters`` in this version's incident layer."""
        return np.flatnonzero(self.mask(filters, night=night))

    def read(self, kind: str, filters: Filters | None = None, *, night: bool = False) -> gpd.GeoDataFrame:
        """Features of ``kind`` passing ``filters`` (EPSG:4326), a new frame.

        For incidents every filter applies (``night``: only incidents in the dark); other kinds
        take only ``bbox`` (features intersecting it).
        """
        spec = get_spec(kind)
        if kind == "incidents":
            if (filters is None or filters.is_empty) and not night:
                return self.incidents_at(None)
            return self.incidents_at(self.rows(filters, night=night))
        base = self.frame(kind)
        if filters is None or filters.bbox is None:
            return base.copy()
        if spec.is_point:
            x, y = base.geometry.x.to_numpy(), base.geometry.y.to_numpy()
            minx, miny, maxx, maxy = filters.bbox
            return base[(x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)].copy()
        return base[base.intersects(shapely_box(*filters.bbox))].copy()

    def page(self, kind: str, filters: Filters | None, *, limit: int, offset: int = 0,
             night: bool = False) -> tuple[gpd.GeoDataFrame, int]:
        """One page of features (``limit`` rows from ``offset``) and the total matched."""
        if kind == "incidents":
            rows = self.rows(filters, night=night)
            return self.incidents_at(rows[offset: offset + limit]), len(rows)
        gdf = self.read(kind, filters, night=night)
        return gdf.iloc[offset: offset + limit], len(gdf)

    def grid(self, kind: str, filters: Filters | None, *, bbox=None, cells: int = 48,
             night: bool = False) -> gpd.GeoDataFrame:
        """Display aggregate: counts of ``kind`` per cell over ``bbox`` (default: the filters'
        bbox, else the layer's extent), ``layers.columns.display_grid``."""
        if not get_spec(kind).is_point:
            raise ParameterError(f"grid counts need a point layer; '{kind}' is not one.", "kind")
        filters = filters or Filters()

        def compute():
            box_ = bbox or filters.bbox
            if kind == "incidents":
                cols = self.columns()
                m = self.mask(filters, night=night)
                x, y = cols.lon[m], cols.lat[m]
                if box_ is None:
                    ok = np.isfinite(cols.lon)
                    box_ = ((cols.lon[ok].min(), cols.lat[ok].min(), cols.lon[ok].max(), cols.lat[ok].max())
                            if ok.any() else (0, 0, 1, 1))
                return display_grid(x, y, box_, cells=cells)
            gdf = self.read(kind, filters, night=night)
            if box_ is None:
                box_ = tuple(self.frame(kind).total_bounds) if len(gdf) else (0, 0, 1, 1)
            return display_grid(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), box_, cells=cells)

        return self.cached("grid", (kind, filters, bbox, cells, night), compute)

    def extent(self) -> tuple[float, float, float, float] | None:
        """lon/lat bounds of the deployment: the areas, else the ZACs, else the incidents."""
        def compute():
            for kind in ("areas", "zac", "incidents", "schools", "cameras"):
                if kind == "incidents":  # the columns, not a million geometries
                    cols = self.columns()
                    ok = np.isfinite(cols.lon)
                    if ok.any():
                        lon, lat = cols.lon[ok], cols.lat[ok]
                        return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
                    continue
                g = self.frame(kind)
                if len(g):
                    return tuple(float(v) for v in g.total_bounds)
            return None
        return self.cached("extent", (), compute)

    def key_figures(self, filters: Filters | None, *, night: bool = False) -> KeyFigures:
        """Incidents matching ``filters`` and the change on the previous period of the same
        length (the last 90 days of data against the 90 before when no period is set)."""
        filters = filters or Filters()

        def compute():
            cols = self.columns()
            m = self.mask(filters, night=night)
            total = int(np.count_nonzero(m))
            sim = int(np.count_nonzero(m & cols.simulated))
            start, end = filters.start, filters.end
            known = self._time_range()
            if known is not None and (start is None or end is None):
                tmin, tmax = (pd.Timestamp(v, tz="UTC") for v in known)
                if end is None:
                    end = tmax + pd.Timedelta(seconds=1)
                if start is None:
                    start = max(tmin, end - pd.Timedelta(days=90)) if filters.end is None else tmin
            if start is None or end is None:
                return KeyFigures(0, None, None, None, None, None, None, 0)
            length = end - start
            t = cols.t[self.rows(filters.replace(start=None, end=None), night=night)]  # NAT is below any instant
            s, e, p = utc_ns(start), utc_ns(end), utc_ns(start - length)
            cur = int(np.count_nonzero((t >= s) & (t < e)))
            prev = int(np.count_nonzero((t >= p) & (t < s)))
            change = None if prev == 0 else 100.0 * (cur - prev) / prev
            return KeyFigures(total, prev, change, start, end, start - length, start, sim)

        return self.cached("key_figures", (filters, night), compute)

    def _time_range(self) -> tuple[int, int] | None:
        """Earliest and latest known ``occurred_from`` of the incidents, nanoseconds UTC (None
        when no incident has one); once per version."""
        def compute():
            t = self.columns().t
            known = t[t != NAT]
            return (int(known.min()), int(known.max())) if len(known) else None
        return self.cached("time_range", (), compute)

    # -- analyses ---------------------------------------------------------------------------
    def study_area(self) -> gpd.GeoDataFrame | None:
        """Polygons grids are clipped to (``Settings.study_area`` over the cached layer), or
        None."""
        from layers.grid import study_area
        from layers.settings import parse_study_area

        spec = self.settings.study_area
        kind, _ = parse_study_area(spec)
        return study_area(spec, **{kind: self.frame(kind)})

    def analysis_grid(self, *, cell_size=None, shape: str = "square") -> gpd.GeoDataFrame:
        """The analysis grid (``layers.grid.make_grid``, analysis CRS) over the study area, else
        over the extent of every stored incident: the same cells whatever the filters, so that
        results of different filters compare cell by cell."""
        def area():
            from layers.crs import to_analysis

            crs = self.settings.analysis_crs
            study = self.study_area()
            if study is not None:
                return to_analysis(study, crs)
            cols = self.columns()
            ok = np.isfinite(cols.x)
            if not ok.any():
                raise ParameterError("there are no incidents and no study area to draw a grid on.", "study_area")
            x, y = cols.x[ok], cols.y[ok]
            return gpd.GeoSeries([shapely_box(x.min(), y.min(), x.max() + 1e-3, y.max() + 1e-3)], crs=crs)

        def compute():
            from layers.grid import make_grid

            return make_grid(self.cached("analysis_area", (), area), cell_size=cell_size, shape=shape)

        if cell_size is not None:
            least = self.min_cell_size()
            if float(cell_size) < least:
                raise ParameterError(
                    f"cell_size must be at least {least:g} m over this study area: a finer grid would exceed "
                    f"{self.max_cells:,} cells.", "cell_size")
        return self.cached("analysis_grid", (cell_size, shape), compute)

    #: most cells a chosen analysis cell size may give over the study area's bounding box
    max_cells: int = 250_000

    def limit_heavy(self, n: int, *, wait_s: float = 20.0) -> None:
        """At most ``n`` analyses computed at once (cache hits are free); a computation that
        waits more than ``wait_s`` seconds for its turn raises ``Busy`` (HTTP 503 with
        ``Retry-After``) instead of piling up memory."""
        self.__dict__["_heavy"] = (threading.BoundedSemaphore(max(1, int(n))), float(wait_s), threading.local())

    def _in_turn(self, fn):
        from layers.errors import Busy

        heavy = self.__dict__.get("_heavy")
        if heavy is None:
            return fn()
        sem, wait_s, local = heavy
        if getattr(local, "depth", 0):  # an analysis inside an analysis: already has its turn
            return fn()
        if not sem.acquire(timeout=wait_s):
            raise Busy("the server is computing other analyses: try again in a few seconds.",
                       retry_after=max(1, int(wait_s)))
        local.depth = 1
        try:
            return fn()
        finally:
            local.depth = 0
            sem.release()

    def min_cell_size(self) -> float:
        """The smallest ``cell_size`` (whole metres) whose grid over the study area's bounding
        box holds at most ``max_cells`` cells."""
        def compute():
            from layers.crs import to_analysis

            study = self.study_area()
            if study is not None:
                minx, miny, maxx, maxy = to_analysis(study, self.settings.analysis_crs).total_bounds
            else:
                cols = self.columns()
                ok = np.isfinite(cols.x)
                if not ok.any():
                    return 1.0
                minx, maxx, miny, maxy = cols.x[ok].min(), cols.x[ok].max(), cols.y[ok].min(), cols.y[ok].max()
            w, h = max(float(maxx - minx), 1.0), max(float(maxy - miny), 1.0)
            c = float(np.ceil(np.sqrt(w * h / self.max_cells)))
            while np.ceil(w / c + 1) * np.ceil(h / c + 1) > self.max_cells:
                c += 1.0
            return c
        return self.cached("min_cell_size", (self.max_cells,), compute)

    def analysis_points(self, rows: np.ndarray, *, darkness: bool = False) -> gpd.GeoDataFrame:
        """Incidents ``rows`` (positions) as a small GeoDataFrame in the analysis CRS with
        ``fid``, ``category``, ``occurred_from``, ``occurred_to`` (and ``darkness``)."""
        cols = self.columns()
        full = self._frame("incidents").rows(rows, cols, columns=("occurred_from", "occurred_to"), geometry=False)
        cats = np.array(list(cols.categories) + [None], dtype=object)
        data = {"fid": cols.fid[rows], "category": cats[cols.category[rows]]}
        for c in ("occurred_from", "occurred_to"):
            if c in full:
                data[c] = full[c].array
        if darkness:
            labels = np.array(["day", "twilight", "night", None], dtype=object)
            data["darkness"] = labels[self.darkness_codes(rows)]
        return gpd.GeoDataFrame(data, geometry=shapely.points(cols.x[rows], cols.y[rows]), crs=cols.crs)

    def analysis(self, method: str, filters: Filters | None, *, night: bool = False, **params):
        """Run a hotspot method of ``layers.hotspots`` on the filtered incidents (cached).

        ``method`` is ``gistar``, ``kde``, ``counts`` or ``lisa``; every method runs on the
        shared ``analysis_grid`` (``cell_size`` and ``shape`` choose another one). Returns the
        function's GeoDataFrame in the analysis CRS (automatic choices in ``attrs["vigie"]``).
        """
        from layers import hotspots

        if method not in ANALYSES:
            raise ParameterError(f"method must be one of {', '.join(ANALYSES)}, got '{method}'.", "method")
        filters = (filters or Filters()).replace(bbox=None)

        def compute():
            grid_kw = {k: params[k] for k in ("cell_size", "shape") if k in params}
            rest = {k: v for k, v in params.items() if k not in grid_kw}
            grid = self.analysis_grid(**grid_kw)
            cols = self.columns()
            rows = self.rows(filters, night=night)
            if method != "counts" and not len(rows):
                raise ParameterError("no incidents match the filters: nothing to analyse.", "category")
            x, y = cols.x[rows], cols.y[rows]
            if method in ("counts", "gistar"):
                counts = (hotspots.count_cells(self.incident_cells()[rows], grid) if not grid_kw
                          else hotspots.count_xy(x, y, grid))
                if method == "counts":
                    return counts
            if method == "gistar" and not isinstance(rest.get("distance"), str):
                return hotspots.gistar_counts(counts, **rest)
            if method == "kde":
                return hotspots.kde_xy(x, y, grid, **rest)
            return getattr(hotspots, method)(self.analysis_points(rows), grid=grid, **rest)

        return self.cached("analysis", (method, filters, night, tuple(sorted(params.items()))),
                           lambda: self._in_turn(compute))

    def context(self, kind: str, *, analysis: bool = True) -> gpd.GeoDataFrame | None:
        """A context layer for summaries (None when empty), in the analysis CRS by default."""
        from layers.crs import to_analysis

        g = self.frame(kind)
        if not len(g):
            return None
        return to_analysis(g, self.settings.analysis_crs) if analysis else g

    def hotspot_areas(self, filters: Filters | None = None, *, night: bool = False,
                      cell_size: float | None = None) -> gpd.GeoDataFrame:
        """Hotspot areas: ``layers.hotspots.hotspot_areas`` over the Gi* of the analysis grid,
        EPSG:4326, with ``hotspot_id``, ``n``, ``area_km2``, the library's summary columns
        (ZAC, areas, schools and shops near, night share) and the trend of each area's monthly
        counts (``trend`` up/down/stable, ``trend_z``, ``trend_p``, ``trend_months``:
        Mann-Kendall, 5 % level, None under 4 months).

        The one pipeline of hotspot areas: pages, API, exports, ``geo-app hotspots --areas``,
        ``geo-app recommend lighting --places hotspots`` and the monthly report call it.
        ``cell_size`` (metres) replaces the automatic cell size of the analysis grid.
        """
        from layers import hotspots
        from layers.grid import cell_index

        filters = (filters or Filters()).replace(bbox=None)

        def compute():
            gi = self.analysis("gistar", filters, night=night, **grid)
            cols = self.columns()
            rows = self.rows(filters, night=night)
            pos = self.incident_cells()[rows] if cell_size is None else cell_index(gi, cols.x[rows], cols.y[rows])
            hot = np.append(gi["bin"].to_numpy() >= 2, False)  # position -1 -> not hot
            sel, pos_sel = rows[hot[pos]], pos[hot[pos]]
            # the incidents of hot cells only, as counts per cell, category and darkness class
            # at the cell centre: thousands of rows, not millions
            ncat = len(cols.categories) + 1
            key = (pos_sel * ncat + (cols.category[sel].astype(np.int64) + 1)) * 4 + (self.darkness_codes(sel) + 1)
            uniq, n = np.unique(key, return_counts=True)
            cell, cat, dark = uniq // 4 // ncat, (uniq // 4) % ncat - 1, uniq % 4 - 1
            names = np.array(list(cols.categories) + [None], dtype=object)
            labels = np.array(["day", "twilight", "night", None], dtype=object)
            centres = shapely.centroid(gi.geometry.values[cell]) if len(cell) else np.zeros(0, dtype=object)
            inc = gpd.GeoDataFrame({"category": names[cat], "darkness": labels[dark], "n": n},
                                   geometry=centres, crs=gi.crs)
            out = hotspots.hotspot_areas(gi, inc, count="n", **{k: self.context(k) for k in
                                                                 ("zac", "areas", "schools", "shops")})
            out = _with_trend(out, gi, cols, rows, sel, pos_sel)
            return out.to_crs(4326)

        grid = {} if cell_size is None else {"cell_size": float(cell_size)}
        return self.cached("hotspot_areas", (filters, night, cell_size), compute)

    def hotspot(self, hotspot_id: str, filters: Filters | None = None, *, night: bool = False) -> gpd.GeoDataFrame:
        """The one-row frame of hotspot area ``hotspot_id`` for these filters; ``NotFound``
        naming the ids that exist otherwise."""
        areas = self.hotspot_areas(filters, night=night)
        row = areas[areas["hotspot_id"].astype(str) == str(hotspot_id)]
        if not len(row):
            raise NotFound(f"No hotspot area '{hotspot_id}' for these filters "
                           f"(known: {', '.join(map(str, areas['hotspot_id'][:20])) or 'none'}).")
        return row

    def hotspot_detail(self, hotspot_id: str, filters: Filters | None = None, *, night: bool = False,
                       near_m: float = 200.0) -> dict:
        """What a hotspot page shows: the area, its incidents, monthly counts, hour × weekday
        profile, categories, night share, and the schools, shops, cameras and ZACs within
        ``near_m`` metres. ``NotFound`` when no hotspot area has this id for these filters."""
        from layers.crs import to_analysis

        filters = (filters or Filters()).replace(bbox=None)
        row = self.hotspot(hotspot_id, filters, night=night)

        def compute():
            area = to_analysis(row, self.settings.analysis_crs)
            poly = area.geometry.iloc[0]
            shapely.prepare(poly)
            cols = self.columns()
            rows = self.rows(filters, night=night)
            minx, miny, maxx, maxy = poly.bounds
            x, y = cols.x[rows], cols.y[rows]
            rows = rows[(x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)]
            rows = rows[shapely.intersects_xy(poly, cols.x[rows], cols.y[rows])]
            mine = self.incidents_at(rows)
            local = mine["occurred_from"].dt.tz_convert(self.tz)
            monthly = local.dt.tz_localize(None).dt.to_period("M").value_counts().sort_index()
            monthly = monthly.reindex(pd.period_range(monthly.index.min(), monthly.index.max(), freq="M"),
                                      fill_value=0) if len(monthly) else monthly
            profile = night_share = None
            if len(mine):
                from layers import temporal

                profile = temporal.hour_weekday_profile(mine, tz=self.tz)
                ns = temporal.night_share(mine, area, tz=self.tz)
                night_share = float(ns["night_share"].iloc[0]) if pd.notna(ns["night_share"].iloc[0]) else None
            return {
                "area": row, "incidents": mine, "monthly": monthly, "profile": profile,
                "categories": mine["category"].value_counts(), "night_share": night_share,
                "near": {kind: self.near(self.frame(kind), row, near_m) for kind in ("schools", "shops", "cameras", "zac")},
                "near_m": near_m,
                "simulated": int(mine["simulated"].fillna(False).astype(bool).sum()) if "simulated" in mine else 0,
            }

        return self.cached("hotspot_detail", (str(hotspot_id), filters, night, near_m), compute)

    def near(self, gdf: gpd.GeoDataFrame, area: gpd.GeoDataFrame, near_m: float) -> gpd.GeoDataFrame:
        """Rows of ``gdf`` within ``near_m`` metres of ``area`` (measured in the analysis CRS)."""
        from layers.crs import to_analysis

        if gdf is None or not len(gdf):
            return gdf
        crs = self.settings.analysis_crs
        zone = to_analysis(area, crs).geometry.union_all().buffer(near_m)
        return gdf[to_analysis(gdf, crs).geometry.intersects(zone).to_numpy()]

    def emerging(self, filters: Filters | None = None, *, night: bool = False, months: int = 24) -> gpd.GeoDataFrame:
        """Emerging-hotspot categories (``layers.spacetime.emerging_hotspots``) of the
        ``analysis_grid`` cells over the last ``months`` whole months of the filtered incidents,
        EPSG:4326, only cells with a pattern."""
        from layers import spacetime

        filters = (filters or Filters()).replace(bbox=None)

        def compute():
            cols = self.columns()
            rows = self.rows(filters, night=night)
            rows = rows[cols.t[rows] != NAT]
            if not len(rows):
                raise ParameterError("no incidents match the filters: no space-time trend.", "category")
            last = int(cols.month[rows].max())
            first = last - int(months) + 1
            rows = rows[cols.month[rows] >= first]
            year, month = divmod(first, 12)
            start = pd.Timestamp(year=year, month=month + 1, day=1, tz=self.tz)
            year, month = divmod(last + 1, 12)
            end = pd.Timestamp(year=year, month=month + 1, day=1, tz=self.tz)
            out = spacetime.emerging_hotspots(self.analysis_points(rows), grid=self.analysis_grid(), period="month",
                                              tz=self.tz, start=start, end=end)
            keep = ["cell_id", "category", "category_code", "sfhotspot_class", "trend_z", "trend_p", "n", "geometry"]
            out = out[out["category_code"] != 0][[c for c in keep if c in out.columns]]
            return out.to_crs(4326)

        return self.cached("emerging", (filters, night, months), lambda: self._in_turn(compute))

    def proposals(self, filters: Filters | None = None, *, night: bool = False, k: int = 5,
                  include_sensitive: bool = False) -> gpd.GeoDataFrame:
        """Situational-prevention proposals for the filtered incidents (``layers.recommend``):
        ``k`` new CCTV sites (``site_cameras``, existing cameras locked in) and ``k`` lamp
        positions (``propose_lamps``, working lamps locked in), EPSG:4326, with ``kind``
        (``cctv`` or ``lighting``), ``rank``, ``covered`` (incidents it adds), ``reason_fr``/``_en``,
        ``technique_fr``/``_en``, ``evidence_fr``/``_en``. A part that cannot run (no night
        incident, no candidate) is left out and named in ``attrs["notes"]``; the categories
        the recommenders counted are in ``attrs["categories"]``. Sensitive categories are
        dropped by the recommenders unless ``include_sensitive``.

        Both run the lazy greedy (within (1 - 1/e) of the optimum), without its upper bound,
        so that a map layer stays interactive; ``geo-app recommend`` is the place for exact
        solutions and bounds. The covering models of all the incidents are built once per
        store version (``proposal_models``) and each filter only selects their rows: the
        sites are those of ``site_cameras`` and ``propose_lamps`` on the filtered incidents."""
        from layers.recommend import prepared as rp

        filters = (filters or Filters()).replace(bbox=None)

        def compute():
            rows = self.rows(filters, night=night)
            if not len(rows):
                raise ParameterError("no incidents match the filters: nothing to propose.", "category")
            cameras, lamps = self.proposal_models()
            parts, notes, used = [], [], set()
            common = {"k": k, "taxonomy": self.taxonomy, "method": "greedy", "bound": False,
                      "include_sensitive": include_sensitive}
            runs = (
                ("cctv", "new_incidents", lambda: rp.site_cameras_prepared(cameras, rows, **common)),
                ("lighting", "new_night_incidents", lambda: rp.propose_lamps_prepared(lamps, rows, **common)),
            )
            for kind, covered, run in runs:
                try:
                    got = run()
                except VigieError as e:
                    if e.status >= 500:
                        raise
                    notes.append(f"{kind}: {e.message}")
                    continue
                used |= set((got.attrs.get("vigie") or {}).get("categories") or ())
                if not len(got):
                    continue
                cols = [c for c in ("rank", "reason_fr", "reason_en", "technique_fr", "technique_en",
                                    "evidence_fr", "evidence_en") if c in got.columns]
                part = gpd.GeoDataFrame(got[cols].copy(), geometry=got.geometry.values, crs=got.crs).to_crs(4326)
                part.insert(0, "kind", kind)
                part["covered"] = got[covered].to_numpy() if covered in got.columns else np.nan
                parts.append(part)
            if parts:
                out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
            else:
                out = gpd.GeoDataFrame({"kind": [], "rank": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
            out.attrs["notes"] = notes
            out.attrs["categories"] = sorted(used)
            return out

        return self.cached("proposals", (filters, night, k, bool(include_sensitive)), compute)

    def proposal_models(self) -> tuple:
        """The CCTV and lamp covering models of this version's incidents
        (``layers.recommend.prepared.prepare_cameras`` with the cameras layer locked in,
        ``prepare_lamps`` with the lights layer), built once and shared by every filter."""
        from layers.recommend import prepared as rp

        def build():
            cols, dark = self.columns(), self.darkness_codes()
            cams = self.frame("cameras")
            return (rp.prepare_cameras(cols, dark, existing=cams if len(cams) else None),
                    rp.prepare_lamps(cols, dark, self.frame("lights")))

        def compute():
            refs = {"columns": self.columns(), "darkness": self.darkness_codes()}  # saved once, not twice

            def encode(models):
                arrays, metas = {}, []
                for i, m in enumerate(models):
                    a, meta = encode_dataclass(m, refs=refs, prefix=f"m{i}.")
                    arrays.update(a)
                    metas.append(meta)
                return arrays, {"models": metas}

            def decode(arrays, meta):
                return tuple(decode_dataclass(arrays, m, refs=refs) for m in meta["models"])

            return self._persisted("proposal_models", (), build, None, encode=encode, decode=decode)

        return self.cached("proposal_models", (), lambda: self._in_turn(compute))

    def saved_proposal_models(self) -> bool:
        """Whether this version's proposal models are saved (a start then maps them)."""
        snaps = self.snapshots()
        got = None if snaps is None else snaps.load("proposal_models", self._snapshot_key("proposal_models"),
                                                    self.version)
        return got is not None and self._matches(got.meta, self.counts().get("incidents", 0))

    def embedded(self, kind: str) -> gpd.GeoDataFrame:
        """A small context layer as the map embeds it: polygons simplified to about 2 m."""
        def compute():
            gdf = self.frame(kind)
            if len(gdf) and not get_spec(kind).is_point:
                gdf = gdf.copy()
                gdf["geometry"] = gdf.geometry.simplify(0.00002, preserve_topology=True)
            return gdf
        return self.cached("embedded", (kind,), compute)

    # -- streets as micro-places --------------------------------------------------------------
    def _street_network(self):
        """The streets in the analysis CRS with their ``SegmentIndex`` (``tree``), ``Namer`` and intersections
        (``layers.streets.intersections`` with ``name_*`` parts); None without streets."""
        def compute():
            from layers.naming import Namer, intersection_name
            from layers.streets import SegmentIndex, intersections

            g = self.context("streets")
            if g is None:
                return None
            g = g.reset_index(drop=True)
            nodes = intersections(g)
            parts = [intersection_name(s) for s in nodes["streets"]]
            for key in ("kind", "street", "from", "to"):
                nodes[f"name_{key}"] = [p[key] for p in parts]
            index = SegmentIndex(g, tolerance_m=self.settings.street_tolerance_m)
            return {"streets": g, "tree": index, "namer": Namer(g),
                    "intersections": nodes}

        return self.cached("street_network", (), compute)

    def street_segments(self, filters: Filters | None = None, *, night: bool = False) -> gpd.GeoDataFrame | None:
        """Street segments as micro-places for these filters, EPSG:4326: the streets with
        ``segment``, ``length_m``, ``n``, ``per_100m``, ``z``, ``p``, ``p_adj``, ``bin``
        (``layers.streets.segment_gistar_counts``, network contiguity, FDR) and the parts of
        each segment's name (``name_kind``, ``name_street``, ``name_from``, ``name_to``:
        ``layers.naming``). None when the store has no streets. Incidents further than the
        setting ``street_tolerance_m`` from every segment are off-network (``attrs``)."""
        from layers import streets as st

        filters = (filters or Filters()).replace(bbox=None)

        def compute():
            counts = self._segment_counts(filters, night)
            if counts is None:
                return None
            out = st.segment_gistar_counts(counts)
            parts = self._street_network()["namer"].segments()
            for key in ("kind", "street", "from", "to"):
                out[f"name_{key}"] = [p[key] for p in parts]
            return out.to_crs(4326)

        return self.cached("street_segments", (filters, night), compute)

    def _segment_counts(self, filters: Filters, night: bool):
        """``layers.streets.segment_counts_xy`` of the incidents of ``filters`` (analysis CRS),
        from each incident's segment (``incident_segments``); None without streets."""
        from layers import streets as st

        seg = self.incident_segments()
        if seg is None:
            return None
        return st.segment_counts_assigned(seg[self.rows(filters, night=night)], self._street_network()["streets"],
                                          tolerance_m=self.settings.street_tolerance_m)

    def incident_segments(self) -> np.ndarray | None:
        """Each incident's street segment (position in the street layer, -1 off-network:
        ``layers.streets.assign_xy`` within ``street_tolerance_m``), int32, once per version
        (extended on appends, saved in the snapshot); None without streets."""
        from layers import streets as st

        net = self._street_network()
        if net is None:
            return None

        def compute():
            cols = self.columns()
            tol = streets[1]

            def assign(x, y):
                return st.assign_xy(x, y, net["streets"], tolerance_m=tol, tree=net["tree"])[0].astype(np.int32)

            out = self._persisted("segments", streets, lambda: assign(cols.x, cols.y),
                                  lambda old, added: np.concatenate([old, assign(cols.x[len(old):],
                                                                                 cols.y[len(old):])]))
            out.flags.writeable = False
            return out

        # other streets come by a rollback: no append then
        streets = (len(net["streets"]), float(self.settings.street_tolerance_m))
        return self.cached("segments", streets, compute)

    def incident_cells(self) -> np.ndarray:
        """Each incident's cell in the default ``analysis_grid()`` (row position, -1 outside
        or without coordinates: ``layers.grid.cell_index``), int32, once per version
        (extended on appends while the grid is the same, saved in the snapshot): a filter's
        grid counts are then one ``bincount`` of its rows."""
        from layers.grid import cell_index

        grid = self.analysis_grid()
        meta = grid.attrs.get("vigie", {})
        # imports only add areas (cells added: a longer grid); another study area comes by a rollback
        shape = (len(grid), str(meta.get("shape")), float(meta.get("cell_size", 0)),
                 tuple(float(v) for v in meta.get("origin", ())))

        def compute():
            cols = self.columns()

            def index(x, y):
                return cell_index(grid, x, y).astype(np.int32)

            out = self._persisted("cells", shape, lambda: index(cols.x, cols.y),
                                  lambda old, added: np.concatenate([old, index(cols.x[len(old):],
                                                                                cols.y[len(old):])]))
            out.flags.writeable = False
            return out

        return self.cached("cells", shape, compute)

    def street_concentration(self, filters: Filters | None = None, *, night: bool = False) -> dict | None:
        """The concentration of incidents over street segments (``layers.streets.concentration``)
        plus ``off_network`` and ``tolerance_m``; None without streets."""
        from layers import streets as st

        filters = (filters or Filters()).replace(bbox=None)

        def compute():
            # the segments' counts only (no Gi*, names or reprojection): the dashboard asks for
            # it on every new filter set; the micro-places' frame is reused when it is cached
            seg = self.peek("street_segments", (filters, night))
            if seg is None:
                seg = self._segment_counts(filters, night)
                if seg is None:
                    return None
            out = st.concentration(seg["n"].to_numpy(float))
            meta = seg.attrs.get("vigie", {})
            out.update(off_network=meta.get("n_off_network"), tolerance_m=meta.get("tolerance_m"))
            return out

        return self.cached("street_concentration", (filters, night), compute)

    def backtest_runs(self, filters: Filters | None = None, *, unit: str = "grid", coverages=(0.01, 0.05, 0.10),
                      methods=None, period: str = "month", cell_size: float | None = None,
                      min_history: int = 3) -> pd.DataFrame:
        """The rolling-origin backtest of ``geo-app backtest``, one row per period, method and
        coverage (cached).

        ``unit`` ``grid`` runs ``layers.evaluate.backtest`` on grid cells (``cell_size`` metres,
        default automatic), ``streets`` runs ``layers.evaluate.backtest_segments`` on the street
        segments (methods ``previous`` and ``gistar``; footprint length x 2 x
        ``street_tolerance_m``), both over the study area and the incidents of ``filters``
        (``bbox`` ignored: PAI and PEI are shares of the whole study area). ``attrs["vigie"]``
        holds the automatic choices (``cell_size``, ``width_m``…) with ``unit``, ``period``,
        ``min_history`` and ``n_incidents``.
        """
        from layers import evaluate as ev
        from layers.crs import to_analysis

        if unit not in ("grid", "streets"):
            raise ParameterError(f"unit must be grid or streets, got '{unit}'.", "unit")
        filters = (filters or Filters()).replace(bbox=None)
        coverages = tuple(float(c) for c in coverages)
        methods = tuple(methods or (ev.METHODS if unit == "grid" else ev.SEGMENT_METHODS))

        def compute():
            rows = self.rows(filters)
            if not len(rows):
                raise ParameterError("no incidents match the filters: nothing to backtest.", "category")
            gdf = to_analysis(self.read("incidents", filters), self.settings.analysis_crs)
            area = self.study_area()
            area = None if area is None else area.to_crs(gdf.crs)
            tz = self.settings.timezone
            if unit == "grid":
                res = ev.backtest(gdf, cell_size=cell_size, study_area=area, methods=methods, coverages=coverages,
                                  period=period, tz=tz, min_history=min_history)
            else:
                net = self._street_network()
                if net is None:
                    raise ParameterError("unit=streets needs the street network: import the layer kind "
                                         "'streets' first.", "unit")
                res = ev.backtest_segments(gdf, net["streets"], study_area=area, methods=methods,
                                           coverages=coverages, period=period, tz=tz, min_history=min_history,
                                           tolerance_m=self.settings.street_tolerance_m)
            res.attrs["vigie"] = {**res.attrs.get("vigie", {}), "unit": unit, "period": period,
                                  "min_history": min_history, "n_incidents": len(rows)}
            return res

        key = (filters, unit, coverages, methods, period, cell_size, min_history)
        return self.cached("backtest_runs", key, lambda: self._in_turn(compute))

    def backtest(self, filters: Filters | None = None, **options) -> pd.DataFrame:
        """:meth:`backtest_runs` (same options) as its summary table,
        ``layers.evaluate.backtest_summary`` (``method``, ``coverage``, ``n_periods``,
        ``hit_rate``, ``pai``, ``pei``, ``rri``); ``attrs["vigie"]`` holds the runs' and, for the
        grid, ``recommended`` and ``reason`` (``layers.evaluate.recommend_method``)."""
        from layers import evaluate as ev

        res = self.backtest_runs(filters, **options)
        out = ev.backtest_summary(res)
        meta = dict(res.attrs["vigie"])
        if meta["unit"] == "grid":
            meta["recommended"], meta["reason"] = ev.recommend_method(res)
        out.attrs["vigie"] = meta
        return out

    def hotspot_names(self, filters: Filters | None = None, *, night: bool = False) -> dict:
        """``hotspot_id`` -> name parts (``layers.naming``) of each hotspot area of these
        filters, from the streets weighted by their incidents; empty without streets."""
        from layers.crs import to_analysis

        filters = (filters or Filters()).replace(bbox=None)

        def compute():
            net = self._street_network()
            if net is None:
                return {}
            areas = self.hotspot_areas(filters, night=night)
            seg = self.street_segments(filters, night=night)
            w = seg["n"].to_numpy(float)
            polys = to_analysis(areas, self.settings.analysis_crs).geometry.to_numpy()
            return {str(h): net["namer"].area(p, weights=w) for h, p in zip(areas["hotspot_id"], polys)}

        return self.cached("hotspot_names", (filters, night), compute)

    def micro_place_counts(self, filters: Filters | None = None, *, night: bool = False) -> gpd.GeoDataFrame | None:
        """Every micro-place — street segments and intersections — with its incidents for these
        filters, each incident counted once (``layers.streets.micro_counts_xy``: within the
        setting ``intersection_radius_m`` of an intersection it counts there, else at its
        nearest segment within ``street_tolerance_m``), EPSG:4326. Columns: ``micro_kind``
        (``segment`` / ``intersection``), ``segment`` (position, -1 for an intersection),
        ``node`` (-1 for a segment), ``n``, ``length_m`` and ``per_100m`` (NaN for an
        intersection), ``bin`` (the segment's network Gi* class of ``street_segments``; 0 for an
        intersection), ``name_*`` parts. None without streets. Note that ``street_segments``
        (Gi*, concentration) counts every on-network incident at its segment."""
        from layers import streets as st

        filters = (filters or Filters()).replace(bbox=None)

        def compute():
            net = self._street_network()
            if net is None:
                return None
            cols = self.columns()
            rows = self.rows(filters, night=night)
            nodes = net["intersections"]
            seg_n, node_n, meta = st.micro_counts_xy(
                cols.x[rows], cols.y[rows], net["streets"], nodes, tolerance_m=self.settings.street_tolerance_m,
                radius_m=self.settings.intersection_radius_m, tree=net["tree"])
            seg = self.street_segments(filters, night=night)
            names = [f"name_{k}" for k in ("kind", "street", "from", "to")]
            a = pd.DataFrame({"micro_kind": "segment", "segment": np.arange(len(seg)), "node": -1, "n": seg_n,
                              "length_m": seg["length_m"].to_numpy(), "bin": seg["bin"].to_numpy()})
            a["per_100m"] = 100.0 * a["n"] / np.maximum(a["length_m"], 1.0)
            a[names] = seg[names].to_numpy()
            b = pd.DataFrame({"micro_kind": "intersection", "segment": -1, "node": nodes["node"].to_numpy(),
                              "n": node_n, "length_m": np.nan, "bin": 0, "per_100m": np.nan})
            b[names] = nodes[names].to_numpy() if len(nodes) else np.empty((0, 4), dtype=object)
            geoms = np.concatenate([np.asarray(seg.geometry.values),
                                    np.asarray(nodes.to_crs(4326).geometry.values)])
            out = gpd.GeoDataFrame(pd.concat([a, b], ignore_index=True), geometry=geoms, crs=4326)
            out["n"] = out["n"].astype(np.int64)
            out[names] = out[names].astype(object).where(out[names].notna(), None)
            out.attrs["vigie"] = meta
            return out

        return self.cached("micro_place_counts", (filters, night), compute)

    def micro_places(self, area, filters: Filters | None = None, *, night: bool = False,
                     top: int = 10) -> gpd.GeoDataFrame:
        """The ``top`` micro-places (street segments and intersections, ``micro_place_counts``)
        with incidents inside ``area`` (a shapely geometry in EPSG:4326, or a one-row
        GeoDataFrame), ranked by count then by count per 100 m, EPSG:4326, with ``rank``;
        empty without streets."""
        mp = self.micro_place_counts(filters, night=night)
        if mp is None:
            return gpd.GeoDataFrame(geometry=[], crs=4326)
        geom = area.geometry.union_all() if hasattr(area, "geometry") else area
        hit = mp[(mp["n"] > 0).to_numpy() & mp.intersects(geom).to_numpy()]
        out = hit.sort_values(["n", "per_100m"], ascending=False, na_position="first").head(int(top)).copy()
        out["rank"] = np.arange(1, len(out) + 1)
        return out

    def address_index(self, *, required: bool = False):
        """The store's address register as a ``layers.geocode.AddressIndex``, built once per
        store version (``geo_app.geocoding.register_index``: its KD-tree of addresses and
        STRtree of streets are shared by every lookup). ``None`` without a register, or, with
        ``required``, the ``InputError`` that says how to get one."""
        from geo_app.geocoding import register_index
        from layers.errors import InputError

        if not required and not self.counts().get("addresses"):
            return None
        try:
            return register_index(self.home, store=self.store)
        except InputError:
            if required:
                raise
            return None

    def reverse(self, points, *, max_distance: float = 50.0, required: bool = False):
        """``layers.geocode.reverse_geocode`` of ``points`` (GeoSeries or GeoDataFrame, any
        CRS) against the register: the nearest address and street of each, within
        ``max_distance`` metres; ``None`` without a register (unless ``required``)."""
        from layers.geocode import reverse_geocode

        index = self.address_index(required=required)
        if index is None:
            return None
        return reverse_geocode(points, index, max_distance=max_distance)

    def name_parts(self, geometry) -> dict:
        """The name parts (``layers.naming``) of ``geometry`` (shapely, EPSG:4326): a small
        place (at most 80 m across) is named after the register address nearest its centre
        ("around 12 Rue de la Loge", ``layers.naming.address_name``) when there is one within
        30 m; otherwise from the streets, weighted by the incidents of the default filters;
        ``unnamed`` without streets."""
        from layers.crs import to_analysis
        from layers.naming import address_name

        index = self.address_index()
        if index is not None:
            parts = address_name(geometry, index, crs=4326)
            if parts is not None:
                return parts
        net = self._street_network()
        if net is None:
            return {"kind": "unnamed", "street": None, "from": None, "to": None}
        seg = self.street_segments(self.default_filters(None))
        g = to_analysis(gpd.GeoSeries([geometry], crs=4326), self.settings.analysis_crs).iloc[0]
        return net["namer"].area(g, weights=seg["n"].to_numpy(float))

    def segment(self, segment: int) -> gpd.GeoDataFrame:
        """The one-row frame of street segment ``segment`` (its position, ``street_segments``)
        with its geometry and name parts, EPSG:4326, no counts; ``NotFound`` otherwise."""
        seg = self.street_segments(self.default_filters(None))
        if seg is None or not 0 <= int(segment) < len(seg):
            raise NotFound(f"no street segment {segment}.")
        keep = [c for c in seg.columns if c.startswith("name_") or c in ("segment", "length_m", "geometry")]
        return seg.iloc[[int(segment)]][keep]

    def place_monthly(self, geometry, filters: Filters | None = None, *, night: bool = False) -> pd.Series:
        """Incidents per local month inside ``geometry`` (shapely, EPSG:4326) for these filters:
        a Series indexed by ``pandas.Period`` (monthly), from the first to the last month of the
        filtered incidents anywhere (so that places compare over the same months), empty
        months 0 (every month 0 for an empty or zero-area geometry). Incidents with an unknown
        date are left out."""
        from layers.crs import to_analysis

        filters = (filters or Filters()).replace(bbox=None)
        key = (shapely.to_wkt(geometry, rounding_precision=7), filters, bool(night))

        def compute():
            cols = self.columns()
            rows = self.rows(filters, night=night)
            months = cols.month[rows]
            known = months[months >= 0]
            if not len(known):
                return pd.Series([], dtype="int64", index=pd.PeriodIndex([], freq="M"))
            lo, hi = int(known.min()), int(known.max())
            index = pd.period_range(pd.Period(year=lo // 12, month=lo % 12 + 1, freq="M"), periods=hi - lo + 1, freq="M")
            if geometry is None or geometry.is_empty or geometry.area == 0:
                return pd.Series(np.zeros(len(index), dtype="int64"), index=index)
            g = to_analysis(gpd.GeoSeries([geometry], crs=4326), self.settings.analysis_crs).iloc[0]
            shapely.prepare(g)
            minx, miny, maxx, maxy = g.bounds
            x, y = cols.x[rows], cols.y[rows]
            box = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
            rows, months = rows[box], months[box]
            inside = shapely.intersects_xy(g, cols.x[rows], cols.y[rows]) & (months >= 0)
            n = np.bincount(months[inside] - lo, minlength=hi - lo + 1)
            return pd.Series(n.astype("int64"), index=index)

        return self.cached("place_monthly", key, compute)

    def _effect_index(self, categories=(), *, night_only: bool = False):
        """The incidents an action targets (``categories``, in the dark with ``night_only``) as
        a ``layers.effect.EffectIndex`` (analysis CRS), built once per store version and target
        and shared by every action with the same target."""
        from layers.effect import EffectIndex

        cats = tuple(sorted(categories))

        def compute():
            f = self.default_filters(None)
            if cats:
                f = f.replace(categories=cats)
            rows = self.rows(f, night=bool(night_only))
            cols = self.columns()
            t = cols.t[rows]
            ok = t != np.iinfo(np.int64).min
            return EffectIndex(cols.x[rows[ok]], cols.y[rows[ok]], t[ok])

        return self.cached("effect_index", (cats, bool(night_only)), compute)

    def action_evaluation(self, geometry, *, start: str, end: str | None = None, categories=(),
                          night_only: bool = False, ring_m: float = 150.0) -> dict:
        """``layers.effect.evaluate_in`` of an action on a place (``geometry``: shapely,
        EPSG:4326) over the incidents of ``categories`` (at night only with ``night_only``),
        from the first incident's day to the latest incident, with the settings
        ``evaluation_min_days`` and ``evaluation_alpha``."""
        from layers.crs import to_analysis
        from layers.effect import evaluate_in

        cats = tuple(sorted(categories))
        s = self.settings
        key = (shapely.to_wkt(geometry, rounding_precision=7), start, end, cats, bool(night_only), float(ring_m),
               s.evaluation_min_days, s.evaluation_alpha)

        def compute():
            index = self._effect_index(cats, night_only=night_only)
            if not len(index):
                return {"status": "too_early", "days": 0, "min_days": s.evaluation_min_days,
                        "alpha": s.evaluation_alpha}
            g = to_analysis(gpd.GeoSeries([geometry], crs=4326), s.analysis_crs).iloc[0]
            first = self.columns().t
            first = first[first != np.iinfo(np.int64).min]
            return evaluate_in(index, g, start=start, end=end, now=index.last, ring_m=ring_m,
                               min_after_days=s.evaluation_min_days, alpha=s.evaluation_alpha,
                               data_start=pd.Timestamp(int(first.min()), tz="UTC").floor("D"))

        return self.cached("action_evaluation", key, compute)

    #: most incidents for which ``warm()`` builds the proposal models it finds no snapshot of
    WARM_MODELS_MAX = 2_000_000

    def warm(self) -> None:
        """Load every layer, compute the default dashboard's analyses, prepare the proposal
        models and build the address register's index (before the first request of a server,
        so that the first visitor does not wait). The per-incident arrays are mapped from the
        version's snapshot when one is saved (``prepare``), otherwise computed and saved. The
        proposal models are mapped when saved, built when the layer holds at most
        ``WARM_MODELS_MAX`` incidents, and otherwise left to the first request for the
        proposals layer (minutes at ten million). Being the start of a server process, it also
        has large blocks of memory returned to the system when freed
        (``geo_app.memory.large_blocks_to_system``) and trims the heap at the end."""
        large_blocks_to_system()
        for kind in ("incidents", *CONTEXT_KINDS):
            self._frame(kind)
        try:
            filters = self.default_filters(None)
            self.columns()
            self.darkness_codes()
            self.grid("incidents", filters, bbox=self.extent(), cells=60)
            self.key_figures(filters)
            self.hotspot_areas(filters)
            self.street_concentration(filters)  # the dashboard's card (builds the street network)
            index = self.address_index()  # the popups' nearest addresses
            if index is not None:
                index.street_tree()
            if self.saved_proposal_models() or len(self.columns()) <= self.WARM_MODELS_MAX:
                self.proposal_models()  # switching the proposals layer on then only solves
        except VigieError as e:  # too few incidents, no study area: the request will say why
            log.warning("warming the dashboard failed: %s", e.message)
        release_free_memory()



def _with_trend(areas: gpd.GeoDataFrame, gi: gpd.GeoDataFrame, cols: IncidentColumns, rows: np.ndarray,
                sel: np.ndarray, pos_sel: np.ndarray, *, alpha: float = 0.05, min_months: int = 4):
    """``areas`` with the Mann-Kendall trend of each area's monthly counts.

    Months run from the first to the last month (local time) of the filtered incidents ``rows``,
    empty months counting 0; ``sel`` are the incidents in hot cells and ``pos_sel`` their cell
    positions in ``gi``. Columns ``trend`` ("up" / "down" when the two-sided p < ``alpha``, else
    "stable"; None with fewer than ``min_months`` months), ``trend_z``, ``trend_p``,
    ``trend_months``. The test is ``layers.spacetime.mann_kendall`` (tie-corrected, checked
    against pymannkendall); a last month still in progress weighs toward "down".
    """
    from layers.spacetime import mann_kendall

    out = areas.copy()
    out.attrs = dict(areas.attrs)
    n = len(out)
    months = cols.month[rows]
    months = months[months >= 0]
    span = int(months.max() - months.min() + 1) if len(months) else 0
    out["trend_months"] = span
    if n == 0 or span < min_months:
        out["trend"] = pd.Series([None] * n, index=out.index, dtype=object)
        out["trend_z"] = np.nan
        out["trend_p"] = np.nan
        return out
    lo = int(months.min())
    lab_of_pos = np.full(len(gi) + 1, -1)  # position -1 (outside) -> no hotspot
    index = pd.Index(gi["cell_id"].to_numpy())
    for h, ids in enumerate(out["cell_ids"]):
        lab_of_pos[index.get_indexer(json.loads(ids))] = h
    lab = lab_of_pos[pos_sel]
    ms = cols.month[sel]
    ok = (lab >= 0) & (ms >= 0)
    series = np.bincount(lab[ok] * span + (ms[ok] - lo), minlength=n * span).reshape(n, span)
    _, z, p = mann_kendall(series)
    out["trend"] = np.where(p < alpha, np.where(z > 0, "up", "down"), "stable").astype(object)
    out["trend_z"] = z
    out["trend_p"] = p
    out.attrs["vigie"] = {**out.attrs.get("vigie", {}),
                          "trend": f"Mann-Kendall on monthly counts, {span} months, alpha {alpha}"}
    return out
