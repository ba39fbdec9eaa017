"""The one data-access layer of the web service: every view reads and analyses through here.

``Services`` wraps a deployment (``geo_app.config.Home``): it reads layers from the store with
``layers.filters`` semantics, runs the ``layers`` analyses and caches their results keyed on the
store's ``version`` and the parameters (a new import or a rollback changes the version, so no
stale result is ever served). Views never touch the store or a statistic directly.

Roles and privacy (issue 7) hook in here: every point-level read goes through ``read`` /
``page`` (their ``user`` argument is accepted and ignored until accounts exist), so one check
there covers pages, API and exports.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import box as shapely_box

from layers.errors import ParameterError, VigieError
from layers.filters import Filters, apply_filters
from layers.registry import get_spec

__all__ = ["Services", "KeyFigures", "init_app", "get_services", "grid_counts"]

#: hotspot methods of layers.hotspots the API and pages offer
ANALYSES = ("gistar", "kde", "counts", "lisa")

#: point layers with more features than this are loaded per bbox by the pages, never whole
EMBED_MAX = 500


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


class _Cache:
    """A small thread-safe LRU dict."""

    def __init__(self, size: int = 64):
        self.size = size
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, fn: Callable[[], Any]):
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        value = fn()
        with self._lock:
            self._d[key] = value
            while len(self._d) > self.size:
                self._d.popitem(last=False)
        return value

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
        return self._cache.get((self.version(), self.cache_scope(), name, params), fn)

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
            self.dashboard(Filters())
        except Exception:  # noqa: BLE001 - warming is best effort; the request will report
            pass

    def counts(self, *, user=None) -> dict[str, int]:
        """Feature count of every kind."""
        return self._cached("counts", (), lambda: dict(self.store.counts()))

    def _night_mask(self, inc: gpd.GeoDataFrame) -> np.ndarray:
        from layers import temporal

        def compute():
            full = self.frame("incidents")
            d = temporal.darkness(full, tz=self.tz)
            col = d["darkness"] if isinstance(d, pd.DataFrame) else d
            return pd.Series(np.asarray(col.astype(str) == "night"), index=full["fid"].to_numpy())

        night = self._cached("night", (), compute)
        return night.reindex(inc["fid"].to_numpy(), fill_value=False).to_numpy()

    def read(self, kind: str, filters: Filters | None = None, *, night: bool = False,
             user=None) -> gpd.GeoDataFrame:
        """Features of ``kind`` passing ``filters`` (EPSG:4326), a new frame.

        For incidents every filter applies (``night``: only incidents in the dark, from
        ``layers.temporal.darkness``); other kinds take only ``bbox`` (features intersecting it).
        """
        spec = get_spec(kind)
        base = self.frame(kind)
        if kind != "incidents":
            if filters is None or filters.bbox is None:
                return base.copy()
            if spec.is_point:
                x, y = base.geometry.x.to_numpy(), base.geometry.y.to_numpy()
                minx, miny, maxx, maxy = filters.bbox
                return base[(x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)].copy()
            return base[base.intersects(shapely_box(*filters.bbox))].copy()

        def compute():
            zac = self.frame("zac") if filters is not None and filters.zac else None
            out = apply_filters(base, filters, tz=self.tz, zac_layer=zac)
            if night and len(out):
                out = out[self._night_mask(out)]
            return out

        if filters is None and not night:
            return base.copy()
        return self._cached("read", (kind, filters, night), compute).copy()

    def page(self, kind: str, filters: Filters | None, *, limit: int, offset: int = 0,
             night: bool = False, user=None) -> tuple[gpd.GeoDataFrame, int]:
        """One page of features (``limit`` rows from ``offset``) and the total matched."""
        gdf = self.read(kind, filters, night=night, user=user)
        return gdf.iloc[offset: offset + limit], len(gdf)

    def grid(self, kind: str, filters: Filters | None, *, bbox=None, cells: int = 48,
             night: bool = False, user=None) -> gpd.GeoDataFrame:
        """Display aggregate: counts of ``kind`` per cell over ``bbox`` (default: the layer's
        extent). Cell width in metres in ``attrs["cell_m"]``."""
        if not get_spec(kind).is_point:
            raise ParameterError(f"grid counts need a point layer; '{kind}' is not one.", "kind")

        def compute():
            gdf = self.read(kind, filters, night=night, user=user)
            box_ = bbox or (filters.bbox if filters is not None else None)
            if box_ is None:
                box_ = tuple(self.frame(kind).total_bounds) if len(gdf) else (0, 0, 1, 1)
            return grid_counts(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), box_, cells=cells)

        return self._cached("grid", (kind, filters, bbox, cells, night), compute)

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
            inc = self.read("incidents", filters, night=night, user=user)
            start, end = filters.start, filters.end
            all_inc = self.frame("incidents")
            if len(all_inc) and (start is None or end is None):
                tmax = all_inc["occurred_from"].max()
                tmin = all_inc["occurred_from"].min()
                if end is None:
                    end = tmax + pd.Timedelta(seconds=1)
                if start is None:
                    start = max(tmin, end - pd.Timedelta(days=90)) if filters.start is None and filters.end is None else tmin
            if start is None or end is None:
                return KeyFigures(0, None, None, None, None, None, None, 0)
            length = end - start
            cur = self.read("incidents", filters.replace(start=start, end=end), night=night, user=user)
            prev = self.read("incidents", filters.replace(start=start - length, end=start), night=night, user=user)
            change = None if len(prev) == 0 else 100.0 * (len(cur) - len(prev)) / len(prev)
            sim = int(inc["simulated"].fillna(False).astype(bool).sum()) if "simulated" in inc else 0
            return KeyFigures(len(inc), len(prev), change,
                              start, end, start - length, start, sim)

        return self._cached("key_figures", (filters, night), compute)

    # -- analyses ---------------------------------------------------------------------------
    def study_area(self) -> gpd.GeoDataFrame | None:
        """Polygons grids are clipped to (``Settings.study_area``), or None."""
        spec = self.settings.study_area
        if spec:
            kind, _, level = spec.partition(":")
            g = self.frame(kind)
            if level and "level" in g:
                g = g[g["level"] == level]
            return g if len(g) else None
        areas = self.frame("areas")
        return areas if len(areas) else None

    def analysis(self, method: str, filters: Filters | None, *, night: bool = False, user=None, **params):
        """Run a hotspot method of ``layers.hotspots`` on the filtered incidents (cached).

        ``method`` is ``gistar``, ``kde``, ``counts`` or ``lisa``; incidents and the study area
        are projected to the analysis CRS first. Returns the function's GeoDataFrame in the
        analysis CRS (automatic choices in ``attrs["vigie"]``).
        """
        from layers import hotspots
        from layers.crs import to_analysis

        if method not in ANALYSES:
            raise ParameterError(f"method must be one of {', '.join(ANALYSES)}, got '{method}'.", "method")

        def compute():
            crs = self.settings.analysis_crs
            inc = to_analysis(self.read("incidents", filters, night=night, user=user), crs)
            area = self.study_area()
            area = to_analysis(area, crs) if area is not None else None
            if method == "counts":
                from layers.grid import make_grid

                if area is None:
                    if not len(inc):
                        raise ParameterError("no incidents match the filters: nothing to count.", "category")
                    area = gpd.GeoSeries([shapely_box(*inc.total_bounds).buffer(1.0)], crs=inc.crs)
                return hotspots.count_incidents(inc, make_grid(area, cell_size=params.get("cell_size")))
            fn = getattr(hotspots, method)
            return fn(inc, study_area=area, **params)

        return self._cached("analysis", (method, filters, night, tuple(sorted(params.items()))), compute)

    def hotspot_areas(self, filters: Filters | None = None, *, night: bool = False, user=None) -> gpd.GeoDataFrame:
        """Hotspot areas (``layers.hotspots.hotspot_areas`` over the Gi* result), EPSG:4326,
        with ``hotspot_id``, ``n``, ``area_km2`` and whatever summary columns the library adds."""
        from layers import hotspots

        fn = getattr(hotspots, "hotspot_areas", None)
        if fn is None:
            raise Unavailable("hotspot areas are not available yet in this version (layers.hotspots).")

        def compute():
            from layers.crs import to_analysis

            crs = self.settings.analysis_crs
            inc = to_analysis(self.read("incidents", filters, night=night, user=user), crs)
            try:
                from layers import temporal

                inc["darkness"] = temporal.darkness(inc, tz=self.tz)
            except ImportError:  # night shares stay NaN
                pass
            gi = self.analysis("gistar", filters, night=night, user=user)
            out = _call_analysis(fn, gi, self, {}, incidents=inc)
            return out.to_crs(4326)

        return self._cached("hotspot_areas", (filters, night), compute)

    def hotspot_detail(self, hotspot_id: str, filters: Filters | None = None, *, night: bool = False,
                       user=None, near_m: float = 200.0) -> dict:
        """What a hotspot page shows: the area, its incidents, monthly counts, hour × weekday
        profile, categories, night share, schools and shops within ``near_m`` metres.

        ``NotFound`` when no hotspot area has this id for these filters.
        """
        from layers.crs import to_analysis
        from layers.errors import NotFound

        areas = self.hotspot_areas(filters, night=night, user=user)
        row = areas[areas["hotspot_id"].astype(str) == str(hotspot_id)]
        if not len(row):
            raise NotFound(f"No hotspot area '{hotspot_id}' for these filters "
                           f"(known: {', '.join(map(str, areas['hotspot_id'][:20])) or 'none'}).")

        def compute():
            crs = self.settings.analysis_crs
            area = to_analysis(row, crs)
            inc = self.read("incidents", filters, night=night, user=user)
            inc_a = to_analysis(inc, crs)
            inside = inc_a.geometry.intersects(area.geometry.iloc[0]).to_numpy()
            mine = inc[inside]
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
            zone = area.geometry.iloc[0].buffer(near_m)
            near = {}
            for kind in ("schools", "shops", "cameras", "zac"):
                g = self.frame(kind)
                if len(g):
                    ga = to_analysis(g, crs)
                    near[kind] = g[ga.geometry.intersects(zone).to_numpy()]
                else:
                    near[kind] = g
            return {
                "area": row, "incidents": mine, "monthly": monthly, "profile": profile,
                "categories": cats, "night_share": night_share, "near": near, "near_m": near_m,
                "simulated": int(mine["simulated"].fillna(False).astype(bool).sum()) if "simulated" in mine else 0,
            }

        return self._cached("hotspot_detail", (str(hotspot_id), filters, night, near_m), compute)

    def dashboard(self, filters: Filters | None, *, night: bool = False, cells: int = 60,
                  user=None) -> dict:
        """Everything the dashboard map draws, aggregated server-side.

        Returns a dict with ``layers`` (``geo_app.mapping.MapLayers``: small context layers
        embedded, polygons simplified to ~2 m; the incident grid; hotspot results when
        ``layers.hotspots`` is available), ``dynamic`` (kinds too large to embed, loaded per
        bbox by the page), ``figures`` (``KeyFigures``), ``counts``, ``extent`` and ``notes``
        (why a layer is missing).
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
        if counts.get("incidents"):
            whole = filters.replace(bbox=None)
            for attr, run in (("gistar", lambda: self.analysis("gistar", whole, night=night, user=user)),
                              ("kde", lambda: self.analysis("kde", whole, night=night, user=user)),
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
        return {
            "layers": ml,
            "dynamic": dynamic,
            "figures": self.key_figures(filters, night=night, user=user),
            "counts": counts,
            "extent": self.extent(),
            "notes": notes,
        }

    def review_status(self, hotspot_ids) -> tuple[dict, bool]:
        """Review status of each hotspot and whether review tables exist (issue 7 fills this).

        Until the review workflow exists every hotspot is ``nouveau`` and the second value is
        False, so the pages can say the status is a placeholder.
        """
        return {h: "nouveau" for h in hotspot_ids}, False


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

