"""Hotspot areas: adjacent significant hot cells merged into numbered polygons with a summary."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.checks import check_points
from layers.errors import InputError, ParameterError
from layers.grid import cell_index, neighbours
from layers.hotspots._common import _meta, _xy


def _hotspot_id(cells: gpd.GeoDataFrame) -> str:
    """A stable identity for a set of cells: a hash of their sorted centres (to the centimetre)."""
    c = shapely.centroid(cells.geometry.values)
    xy = sorted(zip(np.round(shapely.get_x(c), 2).tolist(), np.round(shapely.get_y(c), 2).tolist()))
    text = "|".join(f"{x:.2f},{y:.2f}" for x, y in xy)
    return "HS-" + hashlib.sha1(text.encode("ascii")).hexdigest()[:10]


def _names_touching(polys: np.ndarray, layer, crs, what: str) -> list[str]:
    if layer is None:
        return [""] * len(polys)
    if not isinstance(layer, gpd.GeoDataFrame) or "name" not in layer.columns:
        raise InputError(f"The {what} layer must be a GeoDataFrame with a 'name' column.")
    if len(layer) == 0:
        return [""] * len(polys)
    if layer.crs is not None and crs is not None and not layer.crs.equals(crs):
        layer = layer.to_crs(crs)
    tree = shapely.STRtree(layer.geometry.values)
    ih, il = tree.query(polys, predicate="intersects")
    names = layer["name"].astype(str).to_numpy()
    out = []
    for h in range(len(polys)):
        sel = il[ih == h]
        # keep real overlaps (not a shared boundary)
        sel = [j for j in sel if not shapely.touches(polys[h], layer.geometry.values[j])]
        out.append("; ".join(sorted(set(names[sel]))))
    return out


def _count_near(polys: np.ndarray, layer, crs, near: float) -> np.ndarray | None:
    if layer is None:
        return None
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError("schools and shops must be GeoDataFrames of points.")
    if len(layer) == 0:
        return np.zeros(len(polys), dtype=np.int64)
    if layer.crs is not None and crs is not None and not layer.crs.equals(crs):
        layer = layer.to_crs(crs)
    tree = shapely.STRtree(layer.geometry.values)
    ih, _ = tree.query(polys, predicate="dwithin", distance=near)
    return np.bincount(ih, minlength=len(polys)).astype(np.int64)


def hotspot_areas(
    cells: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    *,
    zac: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    schools: gpd.GeoDataFrame | None = None,
    shops: gpd.GeoDataFrame | None = None,
    min_bin: int = 2,
    near: float = 100.0,
    count: str | None = None,
) -> gpd.GeoDataFrame:
    """Merge adjacent significant hot cells into numbered hotspot polygons with a summary.

    Parameters
    ----------
    cells : GeoDataFrame
        The result of ``gistar`` (columns ``cell_id``, ``bin``, ``z``).
    incidents : GeoDataFrame
        The incidents analysed (any CRS: coordinates are transformed to the cells' CRS), with
        ``category`` and optionally ``darkness``
        ("day" / "twilight" / "night", from ``layers.temporal``) for the night share.
    zac, areas : GeoDataFrame, optional
        Polygons with ``name``; the hotspot lists those it overlaps (reprojected if needed).
    schools, shops : GeoDataFrame, optional
        Points; the hotspot counts those within ``near`` metres.
    min_bin : int, default 2
        Cells with ``bin >= min_bin`` are hot: 2 = hot at 95 % confidence after the FDR
        correction (3 = 99 % only, 1 = 90 %).
    near : float, default 100
        Metres around the hotspot for schools and shops.
    count : str, optional
        Column giving the number of incidents each row stands for (aggregated input, e.g. one
        row per cell, category and darkness class at the cell centre: what the web service
        passes for a million incidents); default one incident per row.

    Returns
    -------
    GeoDataFrame
        One row per hotspot, sorted by ``number``: ``hotspot_id`` (str, "HS-" + 10 hex digits,
        a hash of the sorted centres of its cells: identical when the same data is analysed
        again on the same grid, whatever the row order), ``number`` (1 = most incidents),
        ``n`` (incidents), ``n_cells``, ``area_km2``, ``z_max``, ``cell_ids`` (JSON list),
        ``categories`` (JSON object category -> share of the hotspot's incidents, 3 decimals),
        ``top_category``, ``night_share`` (NaN without a ``darkness`` column), ``zac`` and
        ``areas`` (names joined by "; "), ``n_schools`` and ``n_shops`` (when given),
        ``geometry`` (the union of the cells).

    Notes
    -----
    Cells are adjacent when they share an edge or a corner (queen contiguity); each connected
    group of hot cells is one hotspot.

    References
    ----------
    Chainey, S. & Ratcliffe, J. (2005). GIS and Crime Mapping. Wiley. ArcGIS Pro, "Optimized
    Hot Spot Analysis".
    """
    from scipy.sparse.csgraph import connected_components

    if not isinstance(cells, gpd.GeoDataFrame) or not {"cell_id", "bin"} <= set(cells.columns):
        raise InputError("cells must be the result of gistar (columns 'cell_id' and 'bin').")
    incidents = check_points(incidents)
    rep = None
    if count is not None:
        if count not in incidents.columns:
            raise ParameterError(f"count column '{count}' is not in the incidents.", "count")
        rep = pd.to_numeric(incidents[count], errors="coerce").to_numpy(dtype=float)
        if (~np.isfinite(rep) | (rep < 0)).any():
            raise ParameterError(f"count column '{count}' must hold non-negative numbers.", "count")
    hot = np.flatnonzero(cells["bin"].to_numpy() >= min_bin)
    hot_cells = cells.iloc[hot]
    hot_cells.attrs = cells.attrs
    columns = ["hotspot_id", "number", "n", "n_cells", "area_km2", "z_max", "cell_ids", "categories",
               "top_category", "night_share", "zac", "areas"]
    if len(hot) == 0:
        out = gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=cells.crs), crs=cells.crs)
        out.attrs["vigie"] = _meta(cells, min_bin=min_bin, n_hotspots=0)
        return out
    w = neighbours(hot_cells)
    _, label = connected_components(w, directed=False)
    # incidents -> cell position in `cells` -> hotspot label
    x, y = _xy(incidents, cells.crs)
    pos = cell_index(cells, x, y)
    lab_of_cell = np.full(len(cells), -1)
    lab_of_cell[hot] = label
    inc_lab = np.where(pos >= 0, lab_of_cell[np.maximum(pos, 0)], -1)
    n_hot = int(label.max()) + 1
    inside = np.flatnonzero(inc_lab >= 0)  # only the incidents in a hotspot are summarised
    lab_in = inc_lab[inside]
    rep_in = None if rep is None else rep[inside]
    n_per = np.rint(np.bincount(lab_in, weights=rep_in, minlength=n_hot)).astype(np.int64)
    cat_counts, cat_names = None, []
    if "category" in incidents.columns:
        codes, uniques = pd.factorize(incidents["category"].iloc[inside])
        cat_names = [str(u) for u in uniques]
        ok = codes >= 0
        cat_counts = np.rint(np.bincount(lab_in[ok] * len(cat_names) + codes[ok],
                                         weights=None if rep_in is None else rep_in[ok],
                                         minlength=n_hot * len(cat_names))).astype(np.int64)
        cat_counts = cat_counts.reshape(n_hot, len(cat_names))
    night_per = None
    if "darkness" in incidents.columns:
        is_night = (incidents["darkness"].iloc[inside] == "night").to_numpy(dtype=float, na_value=0.0)
        night_per = np.bincount(lab_in, weights=is_night if rep_in is None else is_night * rep_in, minlength=n_hot)
    geoms = hot_cells.geometry.values
    z_hot = hot_cells["z"].to_numpy() if "z" in hot_cells.columns else np.full(len(hot_cells), np.nan)
    id_hot = hot_cells["cell_id"].to_numpy()
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(n_hot + 1))
    rows = []
    for h in range(n_hot):
        members = order[bounds[h]:bounds[h + 1]]
        n = int(n_per[h])
        shares = {}
        if cat_counts is not None and n:
            pairs = [(cat_names[j], int(v)) for j, v in enumerate(cat_counts[h]) if v]
            shares = {k: round(v / n, 3) for k, v in sorted(pairs, key=lambda kv: (-kv[1], kv[0]))}
        rows.append({
            "hotspot_id": _hotspot_id(hot_cells.iloc[members]),
            "n": n,
            "n_cells": len(members),
            "z_max": float(z_hot[members].max()),
            "cell_ids": json.dumps(sorted(int(c) for c in id_hot[members])),
            "categories": json.dumps(shares),
            "top_category": next(iter(shares), ""),
            "night_share": float(night_per[h] / n) if night_per is not None and n else np.nan,
            "geometry": shapely.union_all(geoms[members]),
        })
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=cells.crs)
    out["area_km2"] = out.geometry.area / 1e6
    polys = out.geometry.values
    out["zac"] = _names_touching(polys, zac, cells.crs, "ZAC")
    out["areas"] = _names_touching(polys, areas, cells.crs, "areas")
    for name, layer in (("n_schools", schools), ("n_shops", shops)):
        counted = _count_near(polys, layer, cells.crs, near)
        if counted is not None:
            out[name] = counted
    out = out.sort_values(["n", "hotspot_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["number"] = np.arange(1, len(out) + 1)
    extra = [c for c in ("n_schools", "n_shops") if c in out.columns]
    out = out[columns + extra + ["geometry"]]
    out.attrs["vigie"] = _meta(cells, min_bin=min_bin, n_hotspots=len(out), near_m=float(near))
    return out
