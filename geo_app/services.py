"""The one data-access layer of the web service: every view reads and analyses through here.

``Services`` wraps a deployment (``geo_app.config.Home``): it reads layers from the store with
``layers.filters`` semantics, runs the ``layers`` analyses and caches their results keyed on the
store's ``version`` and the parameters (a new import or a rollback changes the version, so no
stale result is ever served). Views never touch the store or a statistic directly.

Speed with a million incidents: the incidents of a store version are read once and kept as
NumPy columns (``IncidentColumns``: lon/lat, x/y in the analysis CRS reprojected once, UTC
nanoseconds, local hour / weekday / month, category codes). A filter is a boolean mask over
them (``filter_mask``, the semantics of ``layers.filters.apply_filters``); counts, Gi* and KDE
run on the binned masked coordinates (``layers.hotspots.count_xy`` / ``gistar_counts`` /
``kde_xy``) over one ``analysis_grid`` per version; hotspot summaries take counts per cell ×
category × darkness class (``hotspot_areas(count=)``); darkness is computed for what a request
needs until ``warm()`` has cached the whole column. Costly layers nobody has switched on (KDE,
emerging hotspots, proposals) are computed only when the page asks (``lazy_layer``).

Roles and privacy (issue 7) hook in here: every point-level read goes through ``read`` /
``page`` (their ``user`` argument is accepted and ignored until accounts exist), so one check
there covers pages, API and exports.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import box as shapely_box

from layers.errors import ParameterError, VigieError
from layers.filters import Filters
from layers.registry import get_spec

__all__ = [
    "IncidentColumns",
    "KeyFigures",
    "Services",
    "filter_mask",
    "get_services",
    "grid_counts",
    "incident_columns",
    "init_app",
]

#: hotspot methods of layers.hotspots the API and pages offer
ANALYSES = ("gistar", "kde", "counts", "lisa")

#: point layers with more features than this are loaded per bbox by the pages, never whole
EMBED_MAX = 500

#: cache entries that depend on the store version only (``Services._base``)
_PER_VERSION = frozenset({"frame", "columns", "darkness", "analysis_grid", "embed", "counts", "extent"})

#: dashboard layers hidden at first and computed only when switched on (``Services.lazy_layer``)
LAZY_LAYERS = ("kde", "emerging", "proposals")


class Unavailable(VigieError):
    """A feature whose library module is not installed or not written yet."""

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


def grid_counts(
    x: np.ndarray, y: np.ndarray, bbox: tuple[float, float, float, float], *, cells: int = 48
) -> gpd.GeoDataFrame:
    """Count lon/lat points in a grid of about ``cells`` columns over ``bbox`` (display only).

    Cells are roughly square on the ground (height = width × cos(latitude)). Returns the
    non-empty cells as polygons (EPSG:4326) with ``n`` and the cell width in metres in
    ``attrs["cell_m"]``. This is a display aggregate, not a statistic: the hotspot grids of
    ``layers.grid`` are in the analysis CRS.
    """
    minx, miny, maxx, maxy = bbox
    width = max(maxx - minx, 1e-6)
    dx = width / max(int(cells), 1)
    lat = math.radians((miny + maxy) / 2)
    dy = dx * max(math.cos(lat), 0.01)
    nx = max(1, int(math.ceil(width / dx)))
    ny = max(1, int(math.ceil(max(maxy - miny, 1e-6) / dy)))
    inside = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
    ix = np.minimum(((x[inside] - minx) / dx).astype(np.int64), nx - 1)
    iy = np.minimum(((y[inside] - miny) / dy).astype(np.int64), ny - 1)
    flat = np.bincount(iy * nx + ix, minlength=nx * ny)
    nz = np.flatnonzero(flat)
    cx, cy = nz % nx, nz // nx
    x0, y0 = minx + cx * dx, miny + cy * dy
    out = gpd.GeoDataFrame(
        {"n": flat[nz].astype(np.int64)},
        geometry=shapely_box(x0, y0, x0 + dx, y0 + dy),
        crs=4326,
    )
    out.attrs["cell_m"] = round(dx * 111_320 * math.cos(lat))
    return out


_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class IncidentColumns:
    """The incidents of one store version as NumPy columns (built once per store version).

    Filters become boolean masks over these arrays and counts ``np.bincount``s over cell
    indices, so a new filter combination never re-reads, re-projects or re-builds geometries.
    Row ``i`` of every array is row ``i`` of the stored layer (``Store.read("incidents")``).
    """

    fid: np.ndarray  # int64
    lon: np.ndarray  # degrees, EPSG:4326 (NaN: no geometry)
    lat: np.ndarray
    x: np.ndarray  # metres, analysis CRS
    y: np.ndarray
    t: np.ndarray  # occurred_from, int64 nanoseconds UTC (_NAT when unknown)
    hour: np.ndarray  # local hour 0..23 (int8, -1 unknown)
    weekday: np.ndarray  # local day of week, 0 = Monday (int8, -1 unknown)
    month: np.ndarray  # local months since year 0: year * 12 + month - 1 (int32, -1 unknown)
    category: np.ndarray  # index into ``categories`` (int16, -1 missing)
    categories: tuple
    simulated: np.ndarray  # bool
    crs: Any  # the analysis CRS of x, y

    def __len__(self) -> int:
        return len(self.fid)


def _utc_ns(ts) -> int:
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value)


def incident_columns(frame: gpd.GeoDataFrame, *, crs, tz: str) -> IncidentColumns:
    """``IncidentColumns`` of a stored incident layer: coordinates reprojected once to ``crs``
    (pyproj on the coordinate arrays, no geometry built), local hour / weekday / month in ``tz``,
    category codes."""
    from pyproj import Transformer

    n = len(frame)
    geoms = np.asarray(frame.geometry.values)
    lon, lat = shapely.get_x(geoms), shapely.get_y(geoms)
    if n and frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        lon, lat = Transformer.from_crs(frame.crs, 4326, always_xy=True).transform(lon, lat)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if n:
        x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    else:
        x, y = np.zeros(0), np.zeros(0)
    when = pd.DatetimeIndex(frame["occurred_from"]) if n else pd.DatetimeIndex([], tz="UTC")
    if when.tz is None:
        when = when.tz_localize("UTC")
    t = when.tz_convert("UTC").as_unit("ns").asi8.copy()
    known = t != _NAT
    local = when.tz_convert(tz)

    def part(values, dtype):
        v = np.asarray(values, dtype=float)
        return np.where(known, np.nan_to_num(v, nan=-1), -1).astype(dtype)

    codes, uniques = pd.factorize(frame["category"]) if n else (np.zeros(0, np.int64), [])
    sim = (frame["simulated"].fillna(False).astype(bool).to_numpy() if "simulated" in frame
           else np.zeros(n, dtype=bool))
    fid = frame["fid"].to_numpy(dtype=np.int64) if "fid" in frame else np.arange(1, n + 1)
    return IncidentColumns(
        fid=fid, lon=lon, lat=lat, x=x, y=y, t=t,
        hour=part(local.hour, np.int8), weekday=part(local.day_of_week, np.int8),
        month=part(np.asarray(local.year, dtype=float) * 12 + np.asarray(local.month, dtype=float) - 1, np.int32),
        category=np.asarray(codes, dtype=np.int16), categories=tuple(str(u) for u in uniques),
        simulated=sim, crs=crs,
    )


def filter_mask(cols: IncidentColumns, filters: Filters | None, *, zac_layer=None) -> np.ndarray:
    """Rows of ``cols`` passing ``filters``: the semantics of ``layers.filters.apply_filters``
    (bbox in lon/lat, ``[start, end)``, local hours and weekdays, categories, ZAC polygons
    boundary included) on the cached columns."""
    keep = np.ones(len(cols), dtype=bool)
    if filters is None or filters.is_empty or len(cols) == 0:
        return keep
    if filters.bbox is not None:
        minx, miny, maxx, maxy = filters.bbox
        keep &= (cols.lon >= minx) & (cols.lon <= maxx) & (cols.lat >= miny) & (cols.lat <= maxy)
    if filters.start is not None:
        keep &= (cols.t != _NAT) & (cols.t >= _utc_ns(filters.start))
    if filters.end is not None:
        keep &= (cols.t != _NAT) & (cols.t < _utc_ns(filters.end))
    if filters.hours is not None:
        keep &= np.isin(cols.hour, list(filters.hours))
    if filters.weekdays is not None:
        keep &= np.isin(cols.weekday, list(filters.weekdays))
    if filters.categories is not None:
        wanted = set(filters.categories)
        allowed = np.array([c in wanted for c in cols.categories] + [False])  # code -1 -> last
        keep &= allowed[cols.category]
    if filters.zac is not None:
        if zac_layer is None or not len(zac_layer):
            raise ParameterError("filtering by ZAC needs the ZAC layer in the store.", "zac")
        known = set(zac_layer["name"])
        unknown = [z for z in filters.zac if z not in known]
        if unknown:
            raise ParameterError(f"unknown ZAC {', '.join(map(repr, unknown))}; known ZACs: "
                                 f"{', '.join(sorted(known)[:50])}.", "zac")
        polys = zac_layer[zac_layer["name"].isin(filters.zac)]
        shape = polys.to_crs(4326).union_all() if polys.crs is not None else polys.union_all()
        shapely.prepare(shape)
        cand = np.flatnonzero(keep)
        keep[cand] = shapely.intersects_xy(shape, cols.lon[cand], cols.lat[cand])
    return keep


class _Cache:
    """A small thread-safe LRU dict."""

    def __init__(self, size: int = 64):
        self.size = size
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict = {}  # key -> lock held while one thread computes it

    def get(self, key, fn: Callable[[], Any]):
        """The cached value of ``key``, else ``fn()`` stored. One thread computes a missing key;
        the others asking for it meanwhile wait for that result (the server's warm-up thread and
        the first visitor never both read a million incidents)."""
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
            return self.get(key, fn)  # it failed: try here (and raise here)
        try:
            value = fn()
            with self._lock:
                self._d[key] = value
                while len(self._d) > self.size:
                    self._d.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.release()

    def peek(self, key):
        """The cached value or None (never computes)."""
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
            return None

    def clear(self):
        with self._lock:
            self._d.clear()


class Services:
    """Reads and analyses of one deployment, cached per store version.

    Parameters
    ----------
    home : geo_app.config.Home
        The deployment (settings, taxonomy, store).
    store : Store, optional
        A store object to use instead of ``home.store`` (tests, benchmarks).
    """

    def __init__(self, home, *, store=None, cache_size: int = 64):
        self.home = home
        self._store = store
        self._cache = _Cache(cache_size)
        # per store version, whatever the filters (frames, columns, darkness, grid): kept apart
        # so that many filter combinations never evict them
        self._base = _Cache(32)
        self._views = _Cache(cache_size)

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

    def version(self) -> str:
        return str(self.store.version)

    def cache_scope(self) -> Any:
        """Part of every cache key that depends on who asks (none here; a role-aware subclass
        returns e.g. the role and ZACs of the current user so that results never leak)."""
        return None

    def _cached(self, name: str, params: tuple, fn: Callable[[], Any]):
        cache = self._base if name in _PER_VERSION else self._views if name.startswith("view_") else self._cache
        return cache.get((self.version(), self.cache_scope(), name, params), fn)

    # -- reads ------------------------------------------------------------------------------
    def frame(self, kind: str) -> gpd.GeoDataFrame:
        """The whole layer ``kind`` (cached per store version; do not mutate)."""
        get_spec(kind)
        return self._cached("frame", (kind,), lambda: self.store.read(kind, None, tz=self.tz))

    def warm(self) -> None:
        """Load every layer into the cache and build the unfiltered dashboard (before the first
        request of a server, so that the first visitor does not wait)."""
        for kind in ("incidents", "zac", "areas", "schools", "shops", "cameras", "lights"):
            self.frame(kind)
        try:
            self.columns()
            self.darkness_codes()
            self.dashboard(Filters())
        except Exception as e:  # noqa: BLE001 - warming is best effort; the request will report
            import logging

            logging.getLogger(__name__).warning("warming the dashboard failed: %s", e)

    def counts(self, *, user=None) -> dict[str, int]:
        """Feature count of every kind."""
        return self._cached("counts", (), lambda: dict(self.store.counts()))

    # -- incidents as columns ---------------------------------------------------------------
    def columns(self) -> IncidentColumns:
        """The stored incidents as NumPy columns (reprojected once per store version)."""
        return self._cached("columns", (), lambda: incident_columns(
            Services.frame(self, "incidents"), crs=self.settings.analysis_crs, tz=self.tz))

    def darkness_codes(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Day (0), civil twilight (1), night (2) or unknown (-1) of the stored incidents
        (``layers.temporal.darkness``): all of them (computed once per store version and
        cached), or only ``rows`` (positions) — then taken from the cached column when it
        exists, else computed for those rows alone (a hotspot summary needs the incidents of its
        cells, not the million others)."""
        key = (self.version(), self.cache_scope(), "darkness", ())
        if rows is not None:
            whole = self._base.peek(key)
            return whole[rows] if whole is not None else self._darkness(rows)

        def compute():
            codes = self._darkness(None)
            codes.flags.writeable = False
            return codes

        return self._base.get(key, compute)

    def _darkness(self, rows) -> np.ndarray:
        from layers import temporal

        full = Services.frame(self, "incidents")
        if rows is not None:
            full = full.iloc[rows]
        if not len(full):
            return np.zeros(0, dtype=np.int8)
        slim = gpd.GeoDataFrame({c: full[c].array for c in ("occurred_from", "occurred_to") if c in full},
                                geometry=full.geometry.values, crs=full.crs)
        return np.asarray(temporal.darkness(slim, tz=self.tz).cat.codes, dtype=np.int8)

    def mask(self, filters: Filters | None, *, night: bool = False) -> np.ndarray:
        """Boolean mask of the stored incidents passing ``filters`` (and in the dark when
        ``night``), cached per store version and filters; do not modify."""
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
            zac = Services.frame(self, "zac") if filters.zac else None
            m = filter_mask(self.columns(), filters, zac_layer=zac)
            if night:
                rows = np.flatnonzero(m)
                # a small selection gets its own darkness; a large one the whole (cached) column
                whole = len(rows) > 0.25 * len(m)
                m[rows] = (self.darkness_codes()[rows] if whole else self.darkness_codes(rows)) == 2
            m.flags.writeable = False
            return m

        return self._cached("mask", (filters, night), compute)

    # -- reads ------------------------------------------------------------------------------
    def read(self, kind: str, filters: Filters | None = None, *, night: bool = False,
             user=None) -> gpd.GeoDataFrame:
        """Features of ``kind`` passing ``filters`` (EPSG:4326), a new frame.

        For incidents every filter applies (``night``: only incidents in the dark, from
        ``layers.temporal.darkness``); other kinds take only ``bbox`` (features intersecting it).
        """
        spec = get_spec(kind)
        if kind == "incidents":
            base = Services.frame(self, kind)
            if (filters is None or filters.is_empty) and not night:
                return base.copy()
            return base.iloc[np.flatnonzero(self.mask(filters, night=night))].copy()
        base = self.frame(kind)
        if filters is None or filters.bbox is None:
            return base.copy()
        if spec.is_point:
            x, y = base.geometry.x.to_numpy(), base.geometry.y.to_numpy()
            minx, miny, maxx, maxy = filters.bbox
            return base[(x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)].copy()
        return base[base.intersects(shapely_box(*filters.bbox))].copy()

    def page(self, kind: str, filters: Filters | None, *, limit: int, offset: int = 0,
             night: bool = False, user=None) -> tuple[gpd.GeoDataFrame, int]:
        """One page of features (``limit`` rows from ``offset``) and the total matched."""
        if kind == "incidents":
            rows = np.flatnonzero(self.mask(filters, night=night))
            return Services.frame(self, kind).iloc[rows[offset: offset + limit]].copy(), len(rows)
        gdf = self.read(kind, filters, night=night, user=user)
        return gdf.iloc[offset: offset + limit], len(gdf)

    def grid(self, kind: str, filters: Filters | None, *, bbox=None, cells: int = 48,
             night: bool = False, user=None) -> gpd.GeoDataFrame:
        """Display aggregate: counts of ``kind`` per cell over ``bbox`` (default: the layer's
        extent). Cell width in metres in ``attrs["cell_m"]``."""
        if not get_spec(kind).is_point:
            raise ParameterError(f"grid counts need a point layer; '{kind}' is not one.", "kind")

        def compute():
            box_ = bbox or (filters.bbox if filters is not None else None)
            if kind == "incidents":
                cols = self.columns()
                m = self.mask(filters, night=night)
                x, y = cols.lon[m], cols.lat[m]
                if box_ is None:
                    ok = np.isfinite(cols.lon)
                    box_ = ((cols.lon[ok].min(), cols.lat[ok].min(), cols.lon[ok].max(), cols.lat[ok].max())
                            if ok.any() else (0, 0, 1, 1))
                return grid_counts(x, y, box_, cells=cells)
            gdf = self.read(kind, filters, night=night, user=user)
            if box_ is None:
                box_ = tuple(self.frame(kind).total_bounds) if len(gdf) else (0, 0, 1, 1)
            return grid_counts(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), box_, cells=cells)

        # per-view grids (the API, one per pan) live in their own cache: they never evict analyses
        name = "view_grid" if filters is not None and filters.bbox is not None else "grid"
        return self._cached(name, (kind, filters, bbox, cells, night), compute)

    def extent(self) -> tuple[float, float, float, float] | None:
        """lon/lat bounds of the deployment: the areas, else the incidents, else None."""
        def compute():
            for kind in ("areas", "zac", "incidents", "schools", "cameras"):
                g = self.frame(kind)
                if len(g):
                    return tuple(float(v) for v in g.total_bounds)
            return None
        return self._cached("extent", (), compute)

    def key_figures(self, filters: Filters | None, *, night: bool = False, user=None) -> KeyFigures:
        """Incidents matching ``filters`` and the change on the previous period of the same
        length (the last 90 days of data against the 90 before when no period is set)."""
        filters = filters or Filters()

        def compute():
            cols = self.columns()
            m = self.mask(filters, night=night)
            total = int(m.sum())
            sim = int((m & cols.simulated).sum())
            start, end = filters.start, filters.end
            known = cols.t[cols.t != _NAT]
            if len(known) and (start is None or end is None):
                tmin = pd.Timestamp(int(known.min()), tz="UTC")
                tmax = pd.Timestamp(int(known.max()), tz="UTC")
                if end is None:
                    end = tmax + pd.Timedelta(seconds=1)
                if start is None:
                    start = max(tmin, end - pd.Timedelta(days=90)) if filters.end is None else tmin
            if start is None or end is None:
                return KeyFigures(0, None, None, None, None, None, None, 0)
            length = end - start
            timeless = self.mask(filters.replace(start=None, end=None), night=night)
            s, e, p = _utc_ns(start), _utc_ns(end), _utc_ns(start - length)
            cur = int((timeless & (cols.t >= s) & (cols.t < e)).sum())
            prev = int((timeless & (cols.t >= p) & (cols.t < s)).sum())
            change = None if prev == 0 else 100.0 * (cur - prev) / prev
            return KeyFigures(total, prev, change, start, end, start - length, start, sim)

        return self._cached("key_figures", (filters, night), compute)

    # -- analyses ---------------------------------------------------------------------------
    def study_area(self) -> gpd.GeoDataFrame | None:
        """Polygons grids are clipped to (``Settings.study_area``, ``layers.grid.study_area`` over
        the cached layer), or None."""
        from layers.grid import study_area
        from layers.settings import parse_study_area

        spec = self.settings.study_area
        kind, _ = parse_study_area(spec)
        return study_area(spec, **{kind: self.frame(kind)})

    def analysis_grid(self, *, cell_size=None, shape: str = "square") -> gpd.GeoDataFrame:
        """The analysis grid (``layers.grid.make_grid``, analysis CRS) over the study area, else
        over the extent of every stored incident: the same cells whatever the filters, so that
        results of different filters compare cell by cell. Cached per store version."""
        def compute():
            from layers.crs import to_analysis
            from layers.grid import make_grid

            crs = self.settings.analysis_crs
            area = self.study_area()
            if area is not None:
                area = to_analysis(area, crs)
            else:
                cols = self.columns()
                ok = np.isfinite(cols.x)
                if not ok.any():
                    raise ParameterError("there are no incidents and no study area to draw a grid on.", "study_area")
                x, y = cols.x[ok], cols.y[ok]
                area = gpd.GeoSeries([shapely_box(x.min(), y.min(), x.max() + 1e-3, y.max() + 1e-3)], crs=crs)
            return make_grid(area, cell_size=cell_size, shape=shape)

        return self._cached("analysis_grid", (cell_size, shape), compute)

    def analysis_points(self, rows: np.ndarray, *, darkness: bool = False) -> gpd.GeoDataFrame:
        """Incidents ``rows`` (positions in the store version) as a small GeoDataFrame in the
        analysis CRS with ``fid``, ``category``, ``occurred_from``, ``occurred_to`` (and
        ``darkness``): what the ``layers`` analyses that need points take."""
        cols = self.columns()
        full = Services.frame(self, "incidents")
        cats = np.array(list(cols.categories) + [None], dtype=object)
        data = {"fid": cols.fid[rows], "category": cats[cols.category[rows]]}
        for c in ("occurred_from", "occurred_to"):
            if c in full:
                data[c] = full[c].array.take(rows)  # tz-aware, no object round trip
        if darkness:
            labels = np.array(["day", "twilight", "night", None], dtype=object)
            data["darkness"] = labels[self.darkness_codes(rows)]
        return gpd.GeoDataFrame(data, geometry=shapely.points(cols.x[rows], cols.y[rows]), crs=cols.crs)

    def analysis(self, method: str, filters: Filters | None, *, night: bool = False, user=None, **params):
        """Run a hotspot method of ``layers.hotspots`` on the filtered incidents (cached).

        ``method`` is ``gistar``, ``kde``, ``counts`` or ``lisa``; every method runs on the
        shared ``analysis_grid`` (``cell_size`` and ``shape`` choose another one). Counts, Gi*
        and KDE take the array fast paths (``count_xy``, ``gistar_counts``, ``kde_xy``) on the
        cached columns; LISA and ``distance="auto"`` build points. Returns the function's
        GeoDataFrame in the analysis CRS (automatic choices in ``attrs["vigie"]``).
        """
        from layers import hotspots

        if method not in ANALYSES:
            raise ParameterError(f"method must be one of {', '.join(ANALYSES)}, got '{method}'.", "method")

        filters = filters or Filters()

        def compute():
            grid_kw = {k: params[k] for k in ("cell_size", "shape") if k in params}
            rest = {k: v for k, v in params.items() if k not in grid_kw}
            grid = self.analysis_grid(**grid_kw)
            cols = self.columns()
            rows = np.flatnonzero(self.mask(filters, night=night))
            if method != "counts" and not len(rows):
                raise ParameterError("no incidents match the filters: nothing to analyse.", "category")
            x, y = cols.x[rows], cols.y[rows]
            if method == "counts":
                return hotspots.count_xy(x, y, grid)
            if method == "gistar" and not isinstance(rest.get("distance"), str):
                return hotspots.gistar_counts(hotspots.count_xy(x, y, grid), **rest)
            if method == "kde":
                return hotspots.kde_xy(x, y, grid, **rest)
            return getattr(hotspots, method)(self.analysis_points(rows), grid=grid, **rest)

        return self._cached("analysis", (method, filters, night, tuple(sorted(params.items()))), compute)

    def hotspot_areas(self, filters: Filters | None = None, *, night: bool = False, user=None) -> gpd.GeoDataFrame:
        """Hotspot areas (``layers.hotspots.hotspot_areas`` over the Gi* result), EPSG:4326,
        with ``hotspot_id``, ``n``, ``area_km2``, the library's summary columns and the trend
        of each area's monthly counts: ``trend`` ("up", "down", "stable"; None under 4 months),
        ``trend_z``, ``trend_p`` (``layers.spacetime.mann_kendall``, 5 % level) and
        ``trend_months``."""
        from layers import hotspots
        from layers.grid import cell_index

        fn = getattr(hotspots, "hotspot_areas", None)
        if fn is None:
            raise Unavailable("hotspot areas are not available yet in this version (layers.hotspots).")
        filters = filters or Filters()

        def compute():
            gi = self.analysis("gistar", filters, night=night, user=user)
            cols = self.columns()
            rows = np.flatnonzero(self.mask(filters, night=night))
            pos = cell_index(gi, cols.x[rows], cols.y[rows])
            hot = np.append(gi["bin"].to_numpy() >= 2, False)  # position -1 -> not hot
            sel, pos_sel = rows[hot[pos]], pos[hot[pos]]
            # only the incidents in hot cells are summarised, and as counts per cell, category
            # and darkness class at the cell centre (``count=``): thousands of rows, not millions
            ncat = len(cols.categories) + 1
            key = (pos_sel * ncat + (cols.category[sel].astype(np.int64) + 1)) * 4 + (self.darkness_codes(sel) + 1)
            uniq, n = np.unique(key, return_counts=True)
            cell, cat, dark = uniq // 4 // ncat, (uniq // 4) % ncat - 1, uniq % 4 - 1
            names = np.array(list(cols.categories) + [None], dtype=object)
            labels = np.array(["day", "twilight", "night", None], dtype=object)
            centres = shapely.centroid(gi.geometry.values[cell]) if len(cell) else np.zeros(0, dtype=object)
            inc = gpd.GeoDataFrame({"category": names[cat], "darkness": labels[dark], "n": n},
                                   geometry=centres, crs=gi.crs)
            out = _call_analysis(fn, gi, self, {"count": "n"}, incidents=inc)
            out = _with_trend(out, gi, cols, rows, sel, pos_sel)
            return out.to_crs(4326)

        return self._cached("hotspot_areas", (filters, night), compute)

    def hotspot_detail(self, hotspot_id: str, filters: Filters | None = None, *, night: bool = False,
                       user=None, near_m: float = 200.0) -> dict:
        """What a hotspot page shows: the area, its incidents, monthly counts, hour × weekday
        profile, categories, night share, schools and shops within ``near_m`` metres, and the
        proposals (CCTV sites, lamps) within ``near_m`` metres.

        ``NotFound`` when no hotspot area has this id for these filters.
        """
        from layers.crs import to_analysis
        from layers.errors import NotFound

        filters = filters or Filters()
        areas = self.hotspot_areas(filters, night=night, user=user)
        row = areas[areas["hotspot_id"].astype(str) == str(hotspot_id)]
        if not len(row):
            raise NotFound(f"No hotspot area '{hotspot_id}' for these filters "
                           f"(known: {', '.join(map(str, areas['hotspot_id'][:20])) or 'none'}).")

        def compute():
            crs = self.settings.analysis_crs
            area = to_analysis(row, crs)
            poly = area.geometry.iloc[0]
            shapely.prepare(poly)
            cols = self.columns()
            rows = np.flatnonzero(self.mask(filters, night=night))
            minx, miny, maxx, maxy = poly.bounds
            x, y = cols.x[rows], cols.y[rows]
            rows = rows[(x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)]
            rows = rows[shapely.intersects_xy(poly, cols.x[rows], cols.y[rows])]
            mine = Services.frame(self, "incidents").iloc[rows]
            local = mine["occurred_from"].dt.tz_convert(self.tz)
            monthly = local.dt.tz_localize(None).dt.to_period("M").value_counts().sort_index()
            monthly = monthly.reindex(pd.period_range(monthly.index.min(), monthly.index.max(), freq="M"),
                                      fill_value=0) if len(monthly) else monthly
            profile = None
            night_share = None
            try:
                from layers import temporal

                if len(mine):
                    profile = temporal.hour_weekday_profile(mine, tz=self.tz)
                    ns = temporal.night_share(mine, area, tz=self.tz)
                    night_share = float(ns["night_share"].iloc[0]) if pd.notna(ns["night_share"].iloc[0]) else None
            except ImportError:
                pass
            cats = mine["category"].value_counts()
            zone = poly.buffer(near_m)
            near = {}
            for kind in ("schools", "shops", "cameras", "zac"):
                g = self.frame(kind)
                if len(g):
                    ga = to_analysis(g, crs)
                    near[kind] = g[ga.geometry.intersects(zone).to_numpy()]
                else:
                    near[kind] = g
            proposals, proposals_note = None, None
            try:
                props = self.proposals(filters, night=night, user=user)
                if len(props):
                    pa = to_analysis(props, crs)
                    proposals = props[pa.geometry.intersects(zone).to_numpy()]
                else:
                    proposals = props
            except VigieError as e:
                if e.status >= 500 and not isinstance(e, Unavailable):
                    raise
                proposals_note = e.message
            return {
                "area": row, "incidents": mine, "monthly": monthly, "profile": profile,
                "categories": cats, "night_share": night_share, "near": near, "near_m": near_m,
                "proposals": proposals, "proposals_note": proposals_note,
                "simulated": int(mine["simulated"].fillna(False).astype(bool).sum()) if "simulated" in mine else 0,
            }

        return self._cached("hotspot_detail", (str(hotspot_id), filters, night, near_m), compute)

    def emerging(self, filters: Filters | None = None, *, night: bool = False, months: int = 24,
                 user=None) -> gpd.GeoDataFrame:
        """Emerging-hotspot categories (``layers.spacetime.emerging_hotspots``) of the
        ``analysis_grid`` cells over the last ``months`` whole months of the filtered incidents
        (monthly periods), EPSG:4326, only cells with a pattern. Cached per store version and
        filters."""
        from layers import spacetime

        filters = filters or Filters()

        def compute():
            cols = self.columns()
            rows = np.flatnonzero(self.mask(filters, night=night))
            rows = rows[cols.t[rows] != _NAT]
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

        return self._cached("emerging", (filters, night, months), compute)

    def proposals(self, filters: Filters | None = None, *, night: bool = False, k: int = 5,
                  include_sensitive: bool = False, user=None) -> gpd.GeoDataFrame:
        """Situational-prevention proposals for the filtered incidents (``layers.recommend``):
        ``k`` new CCTV sites (``site_cameras``, existing cameras locked in) and ``k`` lamp
        positions (``propose_lamps``, working lamps locked in), EPSG:4326, with ``kind``
        ("cctv" or "lighting"), ``rank``, ``covered`` (incidents it adds), ``reason_fr``/``_en``,
        ``technique_fr``/``_en``, ``evidence_fr``/``_en``. A part that cannot run (no night
        incident, no candidate) is left out and named in ``attrs["notes"]``; the categories
        the recommenders counted are in ``attrs["categories"]``. Sensitive categories are dropped
        unless ``include_sensitive`` (police users only: ``geo_app.access`` checks the role).
        Cached.

        Both run the lazy greedy (within (1 - 1/e) of the optimum) with a 1-second budget for
        its Lagrangian upper bound, so that a map layer stays interactive; ``geo-app recommend``
        is the place for exact solutions."""
        try:
            from layers import recommend
        except ImportError as e:  # pragma: no cover - the package ships with Vigie
            raise Unavailable(f"proposals are not available ({e}).") from None
        filters = filters or Filters()

        def compute():
            rows = np.flatnonzero(self.mask(filters, night=night))
            if not len(rows):
                raise ParameterError("no incidents match the filters: nothing to propose.", "category")
            inc = self.analysis_points(rows, darkness=True)
            crs = self.settings.analysis_crs
            cams, lights = self.frame("cameras"), self.frame("lights")
            parts, notes, used = [], [], set()
            runs = (
                ("cctv", "new_incidents", lambda: recommend.site_cameras(
                    inc, existing=cams if len(cams) else None, k=k, taxonomy=self.taxonomy, tz=self.tz,
                    crs=crs, method="greedy", time_limit_s=3.0, include_sensitive=include_sensitive)),
                ("lighting", "new_night_incidents", lambda: recommend.propose_lamps(
                    inc, lights, k=k, taxonomy=self.taxonomy, tz=self.tz, crs=crs, method="greedy",
                    time_limit_s=3.0, include_sensitive=include_sensitive)),
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

        return self._cached("proposals", (filters, night, k, bool(include_sensitive)), compute)

    def dashboard(self, filters: Filters | None, *, night: bool = False, cells: int = 60,
                  user=None) -> dict:
        """Everything the dashboard map draws, aggregated server-side.

        Returns a dict with ``layers`` (``geo_app.mapping.MapLayers``: small context layers
        embedded, polygons simplified to ~2 m; the incident grid; Gi* cells and hotspot areas),
        ``lazy`` (hidden analysis layers the page loads from ``/api/map/<name>`` when they are
        switched on: ``kde``, ``emerging``, ``proposals``), ``dynamic`` (kinds too large to
        embed, loaded per bbox by the page), ``figures`` (``KeyFigures``), ``counts``,
        ``extent`` and ``notes`` (why a layer is missing).
        """
        from geo_app.mapping import MapLayers

        filters = filters or Filters()
        notes: list[str] = []
        counts = self.counts(user=user)
        context, dynamic = {}, ["incidents"]
        for kind in ("zac", "areas", "schools", "shops", "cameras", "lights"):
            if not counts.get(kind):
                continue
            spec = get_spec(kind)
            if spec.large or counts[kind] > EMBED_MAX:
                dynamic.append(kind)
                continue
            context[kind] = self._cached("embed", (kind,), lambda k=kind: _simplified(self.frame(k)))
        grid = self.grid("incidents", filters.replace(bbox=None), bbox=self.extent(), cells=cells,
                         night=night, user=user) if counts.get("incidents") else None
        ml = MapLayers(context=context, incident_grid=grid)
        lazy: list[str] = []
        if counts.get("incidents"):
            whole = filters.replace(bbox=None)
            for attr, run in (("gistar", lambda: self.analysis("gistar", whole, night=night, user=user)),
                              ("hotspots", lambda: self.hotspot_areas(whole, night=night, user=user))):
                try:
                    setattr(ml, attr, run())
                except (ImportError, Unavailable):
                    notes.append("hotspots_unavailable")
                    break
                except VigieError as e:  # too few incidents for these filters: say why, draw the rest
                    if e.status >= 500:
                        raise
                    notes.append(e.message)
                    break
            else:
                lazy = list(LAZY_LAYERS)
        return {
            "layers": ml,
            "lazy": lazy,
            "dynamic": dynamic,
            "figures": self.key_figures(filters, night=night, user=user),
            "counts": counts,
            "extent": self.extent(),
            "notes": notes,
        }

    def lazy_layer(self, name: str, filters: Filters | None, *, night: bool = False,
                   include_sensitive: bool = False, user=None):
        """The GeoDataFrame of a hidden dashboard layer loaded on demand (``LAZY_LAYERS``);
        ``include_sensitive`` applies to ``proposals`` only (see ``proposals``)."""
        if name not in LAZY_LAYERS:
            raise ParameterError(f"layer must be one of {', '.join(LAZY_LAYERS)}, got '{name}'.", "layer")
        if include_sensitive and name != "proposals":
            raise ParameterError(f"sensitive=1 applies to the proposals layer only, not to '{name}'.", "sensitive")
        filters = (filters or Filters()).replace(bbox=None)
        if name == "kde":
            return self.analysis("kde", filters, night=night, user=user)
        if name == "emerging":
            return self.emerging(filters, night=night, user=user)
        return self.proposals(filters, night=night, include_sensitive=include_sensitive, user=user)

    def review_status(self, hotspot_ids) -> tuple[dict, bool]:
        """Review status of each hotspot and whether review tables exist (issue 7 fills this).

        Until the review workflow exists every hotspot is ``new`` and the second value is
        False, so the pages can say the status is a placeholder.
        """
        return {h: "new" for h in hotspot_ids}, False


def _with_trend(areas: gpd.GeoDataFrame, gi: gpd.GeoDataFrame, cols: IncidentColumns, rows: np.ndarray,
                sel: np.ndarray, pos_sel: np.ndarray, *, alpha: float = 0.05, min_months: int = 4):
    """``areas`` with the Mann-Kendall trend of each area's monthly counts.

    Months run from the first to the last month (local time) of the filtered incidents ``rows``,
    empty months counting 0; ``sel`` are the incidents in hot cells and ``pos_sel`` their cell
    positions in ``gi``. Columns ``trend`` ("up" / "down" when the two-sided p < ``alpha``, else
    "stable"; None with fewer than ``min_months`` months), ``trend_z``, ``trend_p``,
    ``trend_months``. The test is ``layers.spacetime.mann_kendall`` (tie-corrected, checked
    against pymannkendall); note that a last month still in progress weighs toward "down".
    """
    import json

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
    out.attrs.setdefault("vigie", {})
    out.attrs["vigie"] = {**out.attrs["vigie"], "trend": f"Mann-Kendall on monthly counts, {span} months, alpha {alpha}"}
    return out


def _simplified(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons simplified to about 2 m (display only); points unchanged."""
    if len(gdf) and not get_spec_point(gdf):
        gdf = gdf.copy()
        gdf["geometry"] = gdf.geometry.simplify(0.00002, preserve_topology=True)
    return gdf


def get_spec_point(gdf) -> bool:
    return bool(len(gdf)) and (gdf.geom_type == "Point").all()


def _call_analysis(fn, data, services: Services, params: dict, **extra):
    """Call a ``layers`` analysis with the deployment's options it accepts."""
    import inspect

    sig = inspect.signature(fn).parameters
    kwargs = dict(params)
    offer = {
        "crs": services.settings.analysis_crs,
        "analysis_crs": services.settings.analysis_crs,
        "epsg": services.settings.analysis_crs,
        "tz": services.tz,
        "timezone": services.tz,
        "settings": services.settings,
        "taxonomy": services.taxonomy,
    }
    if "study_area" in sig:
        offer["study_area"] = services.study_area()
    for ctx in ("zac", "schools", "shops", "areas", "lights", "cameras"):
        if ctx in sig:
            offer[ctx] = services.frame(ctx)
    offer.update(extra)
    for k, v in offer.items():
        if k in sig and k not in kwargs:
            kwargs[k] = v
    return fn(data, **kwargs)


def init_app(app, *, store=None) -> None:
    """Attach a ``Services`` for the app's deployment (``app.config["HOME"]``)."""
    from geo_app.config import Home

    home = Home.from_env(app.config.get("HOME"))
    app.extensions["vigie"] = Services(home, store=store or app.config.get("STORE"))


def get_services() -> Services:
    from flask import current_app

    return current_app.extensions["vigie"]

