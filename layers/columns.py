"""Incidents as compact NumPy columns, and the one implementation of the incident filters.

A server answers many filter combinations over the same stored incidents. Reading, reprojecting
and building geometries once per store version, then answering each request with boolean masks
over arrays (``filter_mask``) and ``np.bincount`` over cell indices, keeps a new filter in the
tens of milliseconds at a million incidents (``bench/bench_web.py``).

``filter_mask`` is *the* semantics of ``layers.filters.Filters``: ``layers.filters.apply_filters``
(GeoDataFrames in memory), the web workspace (cached columns) and the store's in-memory path all
call it, so every caller gets the same rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import box as shapely_box

from layers.errors import ParameterError

__all__ = ["NAT", "IncidentColumns", "concat_columns", "display_grid", "filter_mask", "frame_columns",
           "incident_columns", "utc_ns"]

#: int64 value of a missing instant (``pd.NaT.value``)
NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class IncidentColumns:
    """Incidents as NumPy columns; row ``i`` of every array is row ``i`` of the source frame.

    Attributes
    ----------
    fid : int64 array
        Store feature ids (``1..n`` when the frame had none).
    lon, lat : float arrays
        Degrees, EPSG:4326 (NaN: no geometry).
    x, y : float arrays
        Metres in ``crs`` (the analysis CRS); copies of lon/lat when ``crs`` is None.
    t : int64 array
        ``occurred_from`` as nanoseconds UTC (``NAT`` when unknown).
    hour, weekday : int8 arrays
        Local hour 0..23 and day of week 0 (Monday)..6 in the deployment's time zone (-1 unknown).
    month : int32 array
        Local months since year 0, ``year * 12 + month - 1`` (-1 unknown).
    category : int16 array
        Index into ``categories`` (-1 missing).
    """

    fid: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    hour: np.ndarray
    weekday: np.ndarray
    month: np.ndarray
    category: np.ndarray
    categories: tuple
    simulated: np.ndarray
    crs: Any

    def __len__(self) -> int:
        return len(self.fid)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        return sum(getattr(self, f).nbytes for f in ("fid", "lon", "lat", "x", "y", "t", "hour", "weekday",
                                                     "month", "category", "simulated"))


def utc_ns(ts) -> int:
    """An instant (naive = UTC) as int64 nanoseconds UTC."""
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value)


def incident_columns(frame: gpd.GeoDataFrame, *, crs=None, tz: str = "Europe/Paris") -> IncidentColumns:
    """``IncidentColumns`` of an incident layer.

    Coordinates are transformed once with pyproj on the coordinate arrays (no geometry is
    built): to lon/lat, and to ``crs`` (metres) when given. Local hour, weekday and month are
    taken in ``tz``; categories are factorised into codes.
    """
    from pyproj import Transformer

    n = len(frame)
    geoms = np.asarray(frame.geometry.values)
    lon, lat = shapely.get_x(geoms), shapely.get_y(geoms)
    if n and frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        lon, lat = Transformer.from_crs(frame.crs, 4326, always_xy=True).transform(lon, lat)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if n and crs is not None:
        x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    else:
        x, y = lon, lat
    if n and "occurred_from" in frame:
        when = pd.DatetimeIndex(frame["occurred_from"])
    else:
        when = pd.DatetimeIndex([pd.NaT] * n, tz="UTC")
    if when.tz is None:
        when = when.tz_localize("UTC")
    t = when.tz_convert("UTC").as_unit("ns").asi8.copy()
    known = t != NAT
    local = when.tz_convert(tz)

    def part(values, dtype):
        v = np.asarray(values, dtype=float)
        return np.where(known, np.nan_to_num(v, nan=-1), -1).astype(dtype)

    if n and "category" in frame:
        codes, uniques = pd.factorize(frame["category"])
    else:
        codes, uniques = np.full(n, -1, dtype=np.int64), []
    sim = (frame["simulated"].fillna(False).astype(bool).to_numpy() if "simulated" in frame
           else np.zeros(n, dtype=bool))
    fid = frame["fid"].to_numpy(dtype=np.int64) if "fid" in frame else np.arange(1, n + 1)
    months = np.asarray(local.year, dtype=float) * 12 + np.asarray(local.month, dtype=float) - 1
    return IncidentColumns(
        fid=fid, lon=lon, lat=lat, x=x, y=y, t=t,
        hour=part(local.hour, np.int8), weekday=part(local.day_of_week, np.int8), month=part(months, np.int32),
        category=np.asarray(codes, dtype=np.int16), categories=tuple(str(u) for u in uniques),
        simulated=sim, crs=crs,
    )


def concat_columns(first: IncidentColumns, then: IncidentColumns) -> IncidentColumns:
    """The rows of ``first`` followed by those of ``then``, as one ``IncidentColumns``.

    Equal, array by array, to ``incident_columns`` of the two source frames concatenated: the
    categories of ``then`` that ``first`` lacks are added in their order of appearance (as
    ``pd.factorize`` orders them) and ``then``'s codes are renumbered. Both must share ``crs``.
    This is how a server extends its columns after an import that only appended rows, instead
    of reading and reprojecting every incident again.
    """
    if first.crs != then.crs:
        raise ParameterError(f"cannot join incident columns in {first.crs} and {then.crs}.", "crs")
    categories = list(first.categories)
    known = {c: i for i, c in enumerate(categories)}
    for c in then.categories:
        if c not in known:
            known[c] = len(categories)
            categories.append(c)
    recode = np.array([known[c] for c in then.categories] + [-1], dtype=np.int16)  # code -1 -> last
    arrays = {name: np.concatenate([getattr(first, name), getattr(then, name)])
              for name in ("fid", "lon", "lat", "x", "y", "t", "hour", "weekday", "month", "simulated")}
    category = np.concatenate([first.category, recode[then.category]]).astype(np.int16)
    return IncidentColumns(**arrays, category=category, categories=tuple(categories), crs=first.crs)


class _FrameColumns:
    """The columns ``filter_mask`` reads, computed from a GeoDataFrame only when read (a
    category filter on a million rows never converts a time zone)."""

    def __init__(self, frame: gpd.GeoDataFrame, tz: str):
        self._frame, self._tz = frame, tz

    def __len__(self) -> int:
        return len(self._frame)

    @cached_property
    def _lonlat(self):
        geoms = np.asarray(self._frame.geometry.values)
        lon, lat = shapely.get_x(geoms), shapely.get_y(geoms)
        crs = self._frame.crs
        if len(geoms) and crs is not None and not crs.equals("EPSG:4326"):
            from pyproj import Transformer

            lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(lon, lat)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    @property
    def lon(self):
        return self._lonlat[0]

    @property
    def lat(self):
        return self._lonlat[1]

    @cached_property
    def _when(self) -> pd.DatetimeIndex:
        when = pd.DatetimeIndex(self._frame["occurred_from"])
        return when.tz_localize("UTC") if when.tz is None else when

    @cached_property
    def t(self):
        return self._when.tz_convert("UTC").as_unit("ns").asi8

    @cached_property
    def _local(self):
        return self._when.tz_convert(self._tz)

    @cached_property
    def hour(self):
        return np.where(self.t != NAT, np.nan_to_num(np.asarray(self._local.hour, dtype=float), nan=-1), -1)

    @cached_property
    def weekday(self):
        return np.where(self.t != NAT, np.nan_to_num(np.asarray(self._local.day_of_week, dtype=float), nan=-1), -1)

    @cached_property
    def _codes(self):
        codes, uniques = pd.factorize(self._frame["category"])
        return np.asarray(codes, dtype=np.int64), tuple(str(u) for u in uniques)

    @property
    def category(self):
        return self._codes[0]

    @property
    def categories(self):
        return self._codes[1]


def frame_columns(frame: gpd.GeoDataFrame, *, tz: str = "Europe/Paris"):
    """A lazy column view of ``frame`` for ``filter_mask`` (columns computed when first read)."""
    return _FrameColumns(frame, tz)


def filter_mask(cols: IncidentColumns, filters, *, zac_layer: gpd.GeoDataFrame | None = None) -> np.ndarray:
    """Rows of ``cols`` passing ``filters`` (a ``layers.filters.Filters``) as a boolean mask.

    Semantics (``layers.filters``): ``bbox`` in lon/lat, edges included; ``start <= t < end``
    (unknown instants never pass a period); local ``hours`` and ``weekdays``; ``categories``;
    ``zac``: inside any of the named polygons of ``zac_layer`` (boundary included). An unknown
    ZAC name, or a ZAC filter without ``zac_layer``, raises ``ParameterError`` naming ``zac``.
    """
    keep = np.ones(len(cols), dtype=bool)
    if filters is None or filters.is_empty or len(cols) == 0:
        return keep
    if filters.bbox is not None:
        minx, miny, maxx, maxy = filters.bbox
        keep &= (cols.lon >= minx) & (cols.lon <= maxx) & (cols.lat >= miny) & (cols.lat <= maxy)
    if filters.start is not None:
        keep &= (cols.t != NAT) & (cols.t >= utc_ns(filters.start))
    if filters.end is not None:
        keep &= (cols.t != NAT) & (cols.t < utc_ns(filters.end))
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


def display_grid(
    x: np.ndarray, y: np.ndarray, bbox: tuple[float, float, float, float], *, cells: int = 48
) -> gpd.GeoDataFrame:
    """Count lon/lat points in a grid of about ``cells`` cells across the longer side of
    ``bbox`` (display only; at most ``(cells + 1)**2`` cells whatever the bbox's shape).

    Cells are roughly square on the ground (height = width × cos(latitude)). Returns the
    non-empty cells as polygons (EPSG:4326) with ``n`` and the cell width in metres in
    ``attrs["cell_m"]``. This is a display aggregate, not a statistic: the hotspot grids of
    ``layers.grid`` are in the analysis CRS.
    """
    minx, miny, maxx, maxy = bbox
    width = max(maxx - minx, 1e-6)
    lat = math.radians((miny + maxy) / 2)
    shrink = max(math.cos(lat), 0.01)
    # ``cells`` across the longer side: a tall, narrow bbox never makes cells**2 * 1e6 bins
    dx = max(width, max(maxy - miny, 1e-6) / shrink) / max(int(cells), 1)
    dy = dx * shrink
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
