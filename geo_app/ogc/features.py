"""Items of a collection: filter, sort, keyset page and serialise (no Flask).

``Query`` holds the parsed request; ``Query.pick`` is handed to the viewer, which calls it on
the frame already cut to the account's rights. Paging in the default order (feature id
ascending) is keyset: the ``next`` cursor holds the last id returned, and the next page starts
with a binary search on the sorted ids, so page 100 costs what page 1 costs. With ``sortby`` the
cursor holds a position (a keyset over arbitrary, nullable columns is not worth its
complexity for the collections served here).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_app.ogc.cql import filter_mask
from geo_app.ogc.params import CRS84, Cursor, OgcCrs
from layers.errors import ParameterError

__all__ = ["Query", "feature_collection", "to_feature"]

#: columns never served (import provenance is an internal key)
HIDDEN = ("batch_id",)


@dataclass(frozen=True)
class Query:
    """A parsed items request.

    ``bbox``: lon/lat, applied here unless ``bbox_done`` (the store already applied it);
    ``tree``: the CQL2 syntax tree; ``properties``: the queryable names; ``to_lonlat``: maps
    filter literals to lon/lat.
    """

    id_column: str
    properties: frozenset[str]
    limit: int
    cursor: Cursor = Cursor()
    bbox: tuple[float, float, float, float] | None = None
    bbox_done: bool = False
    period: tuple | None = None
    temporal: str | None = None
    period_done: bool = False
    tree: object = None
    to_lonlat: object = field(default=lambda g: g)
    sortby: tuple[tuple[str, bool], ...] = ()
    feature_id: str | None = None

    def mask(self, frame: gpd.GeoDataFrame) -> np.ndarray:
        m = np.ones(len(frame), dtype=bool)
        if len(frame) == 0:
            return m
        if self.bbox is not None and not self.bbox_done:
            m &= np.asarray(frame.geometry.intersects(shapely.box(*self.bbox)), dtype=bool)
        if self.period is not None and self.temporal and not self.period_done and self.temporal in frame:
            t = frame[self.temporal]
            start, end = self.period
            if start is not None:
                m &= np.asarray((t >= start).fillna(False), dtype=bool)
            if end is not None:
                m &= np.asarray((t < end).fillna(False), dtype=bool)
        if self.tree is not None:
            m &= filter_mask(self.tree, frame, set(self.properties), to_lonlat=self.to_lonlat)
        return m

    def _candidates(self, frame, rows: np.ndarray) -> gpd.GeoDataFrame:
        """Rows ``rows`` of ``frame`` for ``mask``; from a frame that builds its rows when taken
        (``take``), only the columns the filter reads, and points only when it reads them."""
        if isinstance(frame, pd.DataFrame):
            return frame.iloc[rows]
        from geo_app.ogc.cql import attribute_names

        names = attribute_names(self.tree) if self.tree is not None else set()
        if self.period is not None and self.temporal and not self.period_done:
            names.add(self.temporal)
        geom = {"geometry", "geom", frame.geometry_name}
        points = bool(names & geom) or (self.bbox is not None and not self.bbox_done)
        return frame.take(rows, columns=tuple(names - geom), points=points)

    def _filtering(self) -> bool:
        return (self.tree is not None or (self.bbox is not None and not self.bbox_done)
                or (self.period is not None and self.temporal is not None and not self.period_done))

    def pick(self, frame: gpd.GeoDataFrame, rows: np.ndarray | None = None
             ) -> tuple[gpd.GeoDataFrame, int, Cursor | None]:
        """``(page, matched, next_cursor)`` of the rows ``rows`` (positions; None: all) of
        ``frame``; ``next_cursor`` None on the last page. ``frame`` is not modified; it is a
        GeoDataFrame or any object with ``len``, ``frame[column]`` and ``frame.iloc[positions]``
        (``geo_app.workspace.IncidentRows``)."""
        if rows is None:
            rows = np.arange(len(frame))
        if self._filtering() and len(rows):  # the rows only (``frame`` may build them when taken)
            rows = rows[self.mask(self._candidates(frame, rows))]
        ids = frame[self.id_column].to_numpy()
        if self.feature_id is not None:
            hit = rows[np.asarray([str(v) == self.feature_id for v in ids[rows]], dtype=bool)]
            return frame.iloc[hit[:1]], len(hit[:1]), None
        matched = len(rows)
        if self.sortby:
            sub = frame.iloc[rows]
            keys = [k for k, _ in self.sortby] + [self.id_column]
            order = [a for _, a in self.sortby] + [True]
            sub = sub.sort_values(keys, ascending=order, kind="stable", na_position="last")
            start = self.cursor.offset
            page = sub.iloc[start: start + self.limit]
            nxt = Cursor(offset=start + self.limit) if start + self.limit < matched else None
            return page, matched, nxt
        sub_ids = ids[rows]
        if len(sub_ids) > 1 and not _ascending(sub_ids):
            order = np.argsort(sub_ids, kind="stable")
            rows, sub_ids = rows[order], sub_ids[order]
        start = 0
        if self.cursor.after is not None:
            try:
                start = int(np.searchsorted(sub_ids, self.cursor.after, side="right"))
            except TypeError:
                raise ParameterError("cursor does not belong to this collection: follow the 'next' link "
                                     "as given.", "cursor") from None
        chosen = rows[start: start + self.limit]
        page = frame.iloc[chosen]
        nxt = None
        if start + self.limit < matched and len(chosen):
            last = sub_ids[start + len(chosen) - 1]
            nxt = Cursor(after=last.item() if hasattr(last, "item") else last)
        return page, matched, nxt


def _ascending(a: np.ndarray) -> bool:
    try:
        return bool(np.all(a[1:] >= a[:-1]))
    except TypeError:
        return False


def _value(v):
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.isoformat()
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_value(x) for x in v]
    if isinstance(v, (str, int, bool, dict)):
        return v
    return str(v)


def _round(c, nd):
    if isinstance(c, float):
        return round(c, nd)
    return [_round(x, nd) for x in c]


def _swap(c):
    if c and isinstance(c[0], float):
        return [c[1], c[0], *c[2:]]
    return [_swap(x) for x in c]


def _reproject(gdf: gpd.GeoDataFrame, crs: OgcCrs) -> gpd.GeoDataFrame:
    if crs.uri == CRS84 or crs.lat_first:
        return gdf if gdf.crs is None or gdf.crs.equals("EPSG:4326") else gdf.to_crs(4326)
    return gdf.to_crs(crs.crs)


def _features(gdf: gpd.GeoDataFrame, id_column: str, crs: OgcCrs) -> list[dict]:
    gdf = _reproject(gdf, crs)
    nd = 7 if (crs.uri == CRS84 or crs.lat_first) else 2
    cols = [c for c in gdf.columns if c != gdf.geometry.name and c not in HIDDEN and not c.startswith("_")
            and not (c == "fid" and id_column == "fid")]
    ids = gdf[id_column].tolist() if id_column in gdf.columns else list(range(1, len(gdf) + 1))
    records = gdf[cols].to_dict("records") if cols else [{}] * len(gdf)
    out = []
    for fid, props, geom in zip(ids, records, gdf.geometry):
        g = None
        if geom is not None and not geom.is_empty:
            gi = geom.__geo_interface__
            coords = _round(_jsonable_coords(gi["coordinates"]), nd)
            g = {"type": gi["type"], "coordinates": _swap(coords) if crs.lat_first else coords}
        out.append({"type": "Feature", "id": _value(fid), "geometry": g,
                    "properties": {k: _value(v) for k, v in props.items()}})
    return out


def _jsonable_coords(c):
    if isinstance(c, (int, float)):
        return float(c)
    return [_jsonable_coords(x) for x in c]


def to_feature(gdf: gpd.GeoDataFrame, id_column: str, crs: OgcCrs) -> dict:
    """The first row of ``gdf`` as a GeoJSON Feature in ``crs``."""
    return _features(gdf.iloc[:1], id_column, crs)[0]


def feature_collection(page: gpd.GeoDataFrame, id_column: str, crs: OgcCrs, *, matched: int, links: list,
                       timestamp: str) -> dict:
    """A GeoJSON FeatureCollection with the OGC members (numberMatched, numberReturned,
    timeStamp, links)."""
    feats = _features(page, id_column, crs)
    return {"type": "FeatureCollection", "features": feats, "numberMatched": int(matched),
            "numberReturned": len(feats), "timeStamp": timestamp, "links": links}
