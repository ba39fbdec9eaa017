"""Privacy of incident data: aggregation to a grid or to areas, small-count suppression, and
removal of sensitive categories.

Roles that may not see incidents as points (DESIGN.md §8: planners, ZAC managers' exports,
sensitive categories for everyone but the police) receive counts instead, and a count below
``k`` (the deployment's ``k_anonymity``, default 5) is never shown: such a cell is dropped, such
an area's count is blanked. Pure functions: GeoDataFrames in, GeoDataFrames out; inputs are
never modified.

Functions
---------
drop_sensitive(incidents, *, taxonomy=None, sensitive=None)
    incidents without the rows of sensitive categories.
aggregate_to_grid(incidents, *, cell_size=250.0, crs=2154, k=5, by=None)
    square cells with counts, cells under k dropped.
aggregate_to_areas(incidents, areas, *, k=5, name="name")
    a count per polygon, counts under k blanked.
suppress_small(counts, *, k=5, column="n")
    any table of counts with rows under k dropped.
blank_small_counts(result, *, k=5)
    an analysis result (cells, areas) whose counts under k, and densities over them, are blanked.
lattice_counts(x, y, *, cell_size, k)
    counts on the fixed lattice anchored at the CRS origin, cells under k dropped.
lattice_cells(table, *, cell_size, crs, bbox=None)
    the lattice cells of ``lattice_counts`` whose square meets a bbox snapped outwards to the
    lattice, as a GeoDataFrame.
day_window(start, end, *, tz)
    a time window widened to whole local days.
classes_only(result, *, k=5)
    an analysis result reduced to classes (Gi* bins, LISA clusters, KDE quintiles), no count and
    no statistic from which a count could be solved.
night_class(share)
    a night share (0..1) as ``day`` / ``mixed`` / ``night``.
area_classes(areas, *, k=5)
    hotspot areas as the aggregate model serves them: counts under k blanked, the night share
    and the trend as classes (no z, no p).

The aggregate model (what roles seeing aggregates only receive) is described in the README,
"Privacy model"; ``geo_app.access.viewer.Viewer`` applies it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InputError, ParameterError

__all__ = [
    "DEFAULT_CELL_SIZE",
    "aggregate_to_areas",
    "aggregate_to_grid",
    "area_classes",
    "blank_small_counts",
    "classes_only",
    "day_window",
    "drop_sensitive",
    "lattice_cells",
    "lattice_counts",
    "night_class",
    "snap_to_lattice",
    "suppress_small",
]

#: default side of the privacy grid's cells, metres
DEFAULT_CELL_SIZE = 250.0


def _check_frame(gdf, what: str) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what} must be a GeoDataFrame, got {type(gdf).__name__}.")
    if gdf.crs is None:
        raise InputError(f"{what} has no CRS: set it (the store gives EPSG:4326).")


def _check_points(incidents) -> None:
    _check_frame(incidents, "incidents")
    if len(incidents) and not incidents.geometry.geom_type.isin(["Point"]).all():
        bad = incidents.geometry.geom_type[~incidents.geometry.geom_type.isin(["Point"])]
        raise InputError(
            f"incidents must be points; row {int(np.flatnonzero(incidents.index.isin(bad.index))[0]) + 1} "
            f"is a {bad.iloc[0]}."
        )


def _check_k(k) -> int:
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise ParameterError(f"k must be a whole number, got {k!r}.", "k") from None
    if k < 1:
        raise ParameterError(f"k must be at least 1, got {k}.", "k")
    return k


def drop_sensitive(incidents: gpd.GeoDataFrame, *, taxonomy=None, sensitive=None) -> gpd.GeoDataFrame:
    """Incidents without the sensitive categories.

    Parameters
    ----------
    incidents : GeoDataFrame
        With a ``category`` column (taxonomy codes).
    taxonomy : layers.registry.Taxonomy, optional
        Its ``sensitive`` set is used; the default taxonomy when neither this nor
        ``sensitive`` is given.
    sensitive : iterable of str, optional
        Category codes to drop (overrides ``taxonomy``).

    Returns
    -------
    GeoDataFrame
        A new frame with the same columns, rows of sensitive categories removed.
    """
    _check_frame(incidents, "incidents")
    if "category" not in incidents.columns:
        raise InputError("incidents have no 'category' column: sensitive rows cannot be found.")
    if sensitive is None:
        if taxonomy is None:
            from layers.registry import default_taxonomy

            taxonomy = default_taxonomy()
        sensitive = taxonomy.sensitive
    sensitive = frozenset(sensitive)
    return incidents.loc[~incidents["category"].isin(sensitive)].copy()


def suppress_small(counts: pd.DataFrame, *, k: int = 5, column: str = "n") -> pd.DataFrame:
    """Drop the rows whose ``column`` count is below ``k`` (zero included).

    Returns a new frame; ``result.attrs["suppressed"]`` is the number of rows dropped and
    ``result.attrs["k"]`` the threshold.
    """
    k = _check_k(k)
    if column not in counts.columns:
        raise InputError(f"the counts have no '{column}' column to suppress small values on.")
    n = pd.to_numeric(counts[column], errors="coerce").fillna(0)
    keep = (n >= k).to_numpy()
    out = counts.loc[keep].copy()
    out.attrs = {**counts.attrs, "k": k, "suppressed": int((~keep).sum())}
    return out


#: count columns of analysis results (cells, areas) that ``blank_small_counts`` blanks
COUNT_COLUMNS = ("n", "count", "incidents")


def blank_small_counts(result: pd.DataFrame, *, k: int = 5) -> pd.DataFrame:
    """A copy of an analysis result whose counts under ``k`` are blanked (NaN).

    Rows are kept (a hotspot cell stays on the map with its class), only their counts go: the
    columns of ``COUNT_COLUMNS`` under ``k`` become NaN, and so does the ``kde`` density of a
    row counting fewer than ``k`` incidents (a density bump would point at them). Zero counts
    are blanked too. ``attrs`` are kept.
    """
    k = _check_k(k)
    if result is None or not hasattr(result, "columns"):
        return result
    cols = [c for c in COUNT_COLUMNS if c in result.columns]
    if not cols:
        return result
    out = result.copy()
    out.attrs = dict(result.attrs)
    if "kde" in out.columns and "n" in out.columns:
        n = pd.to_numeric(out["n"], errors="coerce")
        out["kde"] = pd.to_numeric(out["kde"], errors="coerce").astype("float64").where(~(n < k), np.nan)
    for c in cols:
        v = pd.to_numeric(out[c], errors="coerce").astype("float64")
        out[c] = v.where(~(v < k), np.nan)
    return out


def aggregate_to_grid(
    incidents: gpd.GeoDataFrame,
    *,
    cell_size: float = DEFAULT_CELL_SIZE,
    crs: int = 2154,
    k: int = 5,
    by: str | None = None,
) -> gpd.GeoDataFrame:
    """Count incidents in square cells and drop the cells holding fewer than ``k``.

    The grid is anchored at the origin of the metric CRS (cell edges at multiples of
    ``cell_size``), so the same cells come back whatever the filters: moving a grid to isolate
    one incident is not possible by changing the query.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points, any CRS.
    cell_size : float
        Side of a cell, metres (default 250 m).
    crs : int
        EPSG code of the metric CRS the grid is drawn in (the deployment's analysis CRS).
    k : int
        Cells with fewer than ``k`` incidents are dropped (``k=1`` keeps every non-empty cell).
    by : str, optional
        A column (e.g. ``category``) to count separately: one row per cell and value, each
        suppressed on its own count.

    Returns
    -------
    GeoDataFrame
        In the input's CRS, one row per cell (and ``by`` value) holding at least ``k``
        incidents, columns ``cell_id`` (``"ix_iy"``: the cell's column and row in the anchored
        grid), ``[by]``, ``n`` (incidents, int) and ``geometry`` (the cell square). ``attrs``:
        ``cell_size`` (m), ``crs``, ``k``, ``suppressed`` (rows dropped).

    Notes
    -----
    Small-count suppression (threshold rule) as used by statistical offices for tabular and
    gridded data; k = 5 is a common floor. It does not protect against differencing between
    overlapping queries; roles without points therefore get no per-incident attributes at all.

    References
    ----------
    Hundepool A. et al. (2012), *Statistical Disclosure Control*, Wiley, ch. 5 (threshold rule).
    """
    _check_points(incidents)
    k = _check_k(k)
    try:
        cell_size = float(cell_size)
    except (TypeError, ValueError):
        raise ParameterError(f"cell_size must be a number of metres, got {cell_size!r}.", "cell_size") from None
    if not np.isfinite(cell_size) or cell_size <= 0:
        raise ParameterError(f"cell_size must be positive (metres), got {cell_size}.", "cell_size")
    if by is not None and by not in incidents.columns:
        raise InputError(f"incidents have no '{by}' column to count by.")
    cols = ["cell_id"] + ([by] if by else []) + ["n", "geometry"]
    attrs = {"cell_size": cell_size, "crs": int(crs), "k": k, "suppressed": 0}
    pts = incidents.geometry.to_crs(crs)
    if len(pts) == 0:
        out = gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=[], crs=incidents.crs)
        out["n"] = out["n"].astype("int64")
        out.attrs = attrs
        return out
    ix = np.floor(pts.x.to_numpy() / cell_size).astype("int64")
    iy = np.floor(pts.y.to_numpy() / cell_size).astype("int64")
    keys = {"ix": ix, "iy": iy}
    if by:
        keys[by] = incidents[by].to_numpy()
    table = pd.DataFrame(keys).groupby(list(keys), sort=True, dropna=False).size().rename("n").reset_index()
    counted = len(table)
    table = table[table["n"] >= k]
    attrs["suppressed"] = int(counted - len(table))
    x0 = table["ix"].to_numpy() * cell_size
    y0 = table["iy"].to_numpy() * cell_size
    geom = shapely.box(x0, y0, x0 + cell_size, y0 + cell_size)
    data = {"cell_id": [f"{a}_{b}" for a, b in zip(table["ix"], table["iy"])]}
    if by:
        data[by] = table[by].to_numpy()
    data["n"] = table["n"].to_numpy().astype("int64")
    out = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geom, crs=crs)).to_crs(incidents.crs)
    out = out.reset_index(drop=True)[cols]
    out.attrs = attrs
    return out


def aggregate_to_areas(
    incidents: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, *, k: int = 5, name: str = "name"
) -> gpd.GeoDataFrame:
    """Count incidents in each polygon of ``areas``; counts under ``k`` are blanked.

    Returns
    -------
    GeoDataFrame
        The areas' ``name`` and geometry (areas' CRS) with ``n`` (incidents, nullable Int64:
        missing where suppressed) and ``suppressed`` (bool). A point on a shared edge counts in
        every polygon it touches.
    """
    _check_points(incidents)
    _check_frame(areas, "areas")
    k = _check_k(k)
    if name not in areas.columns:
        raise InputError(f"areas have no '{name}' column.")
    pts = incidents[["geometry"]].to_crs(areas.crs)
    poly = areas[[name, "geometry"]].reset_index(drop=True)
    joined = gpd.sjoin(pts, poly, how="inner", predicate="intersects")
    n = joined.groupby("index_right").size().reindex(range(len(poly)), fill_value=0)
    out = poly.copy()
    counts = pd.array(n.to_numpy(), dtype="Int64")
    small = counts < k
    out["n"] = counts
    out.loc[np.asarray(small), "n"] = pd.NA
    out["suppressed"] = np.asarray(small, dtype=bool)
    out = out[[name, "n", "suppressed", "geometry"]]
    out.attrs = {"k": k, "suppressed": int(np.asarray(small).sum())}
    return out


# ------------------------------------------------------------------------------------------
# The aggregate model: a fixed lattice, no count under k, classes instead of statistics


def _check_cell(cell_size) -> float:
    try:
        cell_size = float(cell_size)
    except (TypeError, ValueError):
        raise ParameterError(f"cell_size must be a number of metres, got {cell_size!r}.", "cell_size") from None
    if not np.isfinite(cell_size) or cell_size <= 0:
        raise ParameterError(f"cell_size must be positive (metres), got {cell_size}.", "cell_size")
    return cell_size


def lattice_counts(x, y, *, cell_size: float, k: int = 5) -> pd.DataFrame:
    """Counts of the points ``(x, y)`` (metric CRS) per cell of the lattice whose edges are
    the multiples of ``cell_size``; cells holding fewer than ``k`` points are dropped.

    The lattice depends on nothing but ``cell_size``: no query can move it, so no two answers
    differ by part of a cell.

    Returns
    -------
    DataFrame
        Columns ``ix``, ``iy`` (the cell's column and row: its lower-left corner is
        ``(ix * cell_size, iy * cell_size)``) and ``n`` (int64, at least ``k``), sorted by
        ``ix, iy``. ``attrs``: ``cell_size``, ``k``, ``suppressed`` (non-empty cells dropped).

    Examples
    --------
    >>> t = lattice_counts([10, 20, 30, 260], [5, 5, 5, 5], cell_size=250, k=2)
    >>> t[["ix", "iy", "n"]].values.tolist()
    [[0, 0, 3]]
    """
    cell_size = _check_cell(cell_size)
    k = _check_k(k)
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    ix = np.floor(x[ok] / cell_size).astype("int64")
    iy = np.floor(y[ok] / cell_size).astype("int64")
    if len(ix):
        keys, n = np.unique(np.stack([ix, iy], axis=1), axis=0, return_counts=True)
    else:
        keys, n = np.zeros((0, 2), dtype="int64"), np.zeros(0, dtype="int64")
    keep = n >= k
    out = pd.DataFrame({"ix": keys[keep, 0], "iy": keys[keep, 1], "n": n[keep].astype("int64")})
    out.attrs = {"cell_size": cell_size, "k": k, "suppressed": int((~keep).sum())}
    return out


def snap_to_lattice(bbox, *, cell_size: float) -> tuple[int, int, int, int]:
    """The lattice cells ``(ix0, iy0, ix1, iy1)`` (inclusive) a metric bbox meets: its edges
    are moved outwards to the lattice lines, so boxes differing inside one cell select the
    same cells."""
    cell_size = _check_cell(cell_size)
    x0, y0, x1, y1 = (float(v) for v in bbox)
    return (int(np.floor(x0 / cell_size)), int(np.floor(y0 / cell_size)),
            int(np.floor(x1 / cell_size)), int(np.floor(y1 / cell_size)))


def lattice_cells(table: pd.DataFrame, *, cell_size: float, crs, bbox=None) -> gpd.GeoDataFrame:
    """The cells of ``lattice_counts`` meeting ``bbox`` (metric, in ``crs``; ``None``: all)
    snapped to the lattice, as squares in ``crs`` with ``cell_id`` (``"ix_iy"``) and ``n``."""
    cell_size = _check_cell(cell_size)
    t = table
    if bbox is not None:
        ix0, iy0, ix1, iy1 = snap_to_lattice(bbox, cell_size=cell_size)
        inside = (t["ix"] >= ix0) & (t["ix"] <= ix1) & (t["iy"] >= iy0) & (t["iy"] <= iy1)
        t = t[inside.to_numpy()]
    x0 = t["ix"].to_numpy() * cell_size
    y0 = t["iy"].to_numpy() * cell_size
    out = gpd.GeoDataFrame(
        {"cell_id": [f"{a}_{b}" for a, b in zip(t["ix"], t["iy"])], "n": t["n"].to_numpy().astype("int64")},
        geometry=gpd.GeoSeries(shapely.box(x0, y0, x0 + cell_size, y0 + cell_size), crs=crs),
    ).reset_index(drop=True)
    out.attrs = {"cell_size": cell_size, "k": table.attrs.get("k"), "lattice": True}
    return out


def day_window(start, end, *, tz) -> tuple:
    """``(start, end)`` widened to whole local days of ``tz`` (start at midnight before, end at
    the next midnight); ``None`` stays ``None``. Windows of whole days cannot isolate an
    incident's hour by shrinking a window."""
    def floor(t):
        return None if t is None else pd.Timestamp(t).tz_convert(tz).floor("D", ambiguous=True, nonexistent="shift_forward")

    s = floor(start)
    e = floor(end)
    if e is not None and e < pd.Timestamp(end).tz_convert(tz):
        e = (e + pd.Timedelta(hours=36)).normalize()  # the next local midnight, even on DST days
    return (None if s is None else s.tz_convert("UTC"), None if e is None else e.tz_convert("UTC"))


#: columns of analysis results that are classes (kept by ``classes_only``)
CLASS_COLUMNS = ("cell_id", "col", "row", "bin", "quadrant", "cluster", "sfhotspot_class", "category",
                 "category_code", "kde_class")
#: keys of ``attrs["vigie"]`` that are counts of incidents (removed by ``classes_only``)
COUNT_ATTRS = ("n_incidents", "n_outside")


def classes_only(result: pd.DataFrame, *, k: int = 5) -> pd.DataFrame:
    """An analysis result (cells) reduced to its classes, for roles seeing aggregates only.

    Gi*'s ``z``, ``p`` and ``p_adj``, LISA's ``I`` and ``p`` and the cell counts ``n`` are
    removed: each is a function of the cell counts from which the suppressed ones can be solved
    (z is linear in the neighbourhood sums). What stays is ``bin`` (Gi* -3..3), ``quadrant`` /
    ``cluster`` (LISA), and for a KDE ``kde_class`` (1..5: quintiles of the non-zero densities,
    0 where the density is zero) instead of the density. Counts in ``attrs["vigie"]`` go too.
    """
    _check_k(k)
    if result is None or not hasattr(result, "columns"):
        return result
    data = {}
    if "kde" in result.columns:
        d = pd.to_numeric(result["kde"], errors="coerce").fillna(0.0).to_numpy()
        cls = np.zeros(len(d), dtype="int64")
        pos = d > 1e-12 * (d.max() if len(d) else 1.0)
        if pos.any():
            edges = np.quantile(d[pos], [0.2, 0.4, 0.6, 0.8])
            cls[pos] = 1 + np.searchsorted(edges, d[pos], side="right")
        data["kde_class"] = cls
    geo = [result.geometry.name] if isinstance(result, gpd.GeoDataFrame) else []
    keep = [c for c in result.columns if c in CLASS_COLUMNS] + geo
    out = result[keep].copy()
    for c, v in data.items():
        out[c] = v
    attrs = {key: (dict(v) if isinstance(v, dict) else v) for key, v in result.attrs.items()}
    if isinstance(attrs.get("vigie"), dict):
        attrs["vigie"] = {key: v for key, v in attrs["vigie"].items() if key not in COUNT_ATTRS}
    out.attrs = attrs
    return out


#: night-share classes: ``day`` below 1/3 of the incidents at night, ``night`` above 2/3
NIGHT_CLASSES = ("day", "mixed", "night")
_NIGHT_EDGES = (1 / 3, 2 / 3)

#: columns of hotspot areas from which counts could be solved, replaced or removed by
#: ``area_classes``: the maximum cell z, per-category counts, the trend's statistic and p-value,
#: and the night share (its exact value is a ratio of two counts)
AREA_STATISTICS = ("z_max", "categories", "trend_z", "trend_p", "night_share")


def night_class(share) -> np.ndarray:
    """Night shares as classes: ``"day"`` (under 1/3 of the incidents at night), ``"mixed"``
    (1/3 to 2/3) or ``"night"`` (over 2/3); None where the share is unknown.

    Parameters
    ----------
    share : array_like of float
        Share of each area's incidents that happened at night (0..1, ``layers.temporal.
        night_share``); NaN or None when unknown.

    Returns
    -------
    numpy.ndarray of object
        One class (or None) per value.

    Notes
    -----
    A share is a ratio of two counts: with the count of an area known (or bounded by k), its
    exact value gives the night count, and two filters differing by one category give the
    night count of that category. Three classes of width 1/3 leave at least a third of the
    range open whatever the count.
    """
    v = pd.to_numeric(pd.Series(np.asarray(share, dtype=object).ravel()), errors="coerce").to_numpy(dtype=float)
    out = np.full(len(v), None, dtype=object)
    known = ~np.isnan(v)
    out[known] = np.asarray(NIGHT_CLASSES, dtype=object)[np.searchsorted(_NIGHT_EDGES, v[known], side="right")]
    return out


def area_classes(areas: pd.DataFrame, *, k: int = 5) -> pd.DataFrame:
    """Hotspot areas as roles seeing aggregates only receive them.

    Counts under ``k`` are blanked (``blank_small_counts``); the columns of
    ``AREA_STATISTICS`` are removed, the night share replaced by ``night_class`` (``day``,
    ``mixed``, ``night``); the trend stays as its class (``trend``: up / stable / down, a
    Mann-Kendall test at 5 %) without its z and p. ``attrs`` are kept, less the incident
    counts (``COUNT_ATTRS``) of ``attrs["vigie"]``.

    Parameters
    ----------
    areas : DataFrame or GeoDataFrame
        Hotspot areas (``geo_app.workspace.Workspace.hotspot_areas``).
    k : int
        The small-count threshold.

    Returns
    -------
    DataFrame or GeoDataFrame
        A new frame; ``areas`` is not modified.
    """
    _check_k(k)
    if areas is None or not hasattr(areas, "columns"):
        return areas
    out = blank_small_counts(areas.drop(columns=[c for c in AREA_STATISTICS if c in areas.columns]), k=k)
    if "night_share" in areas.columns:
        out["night_class"] = night_class(areas["night_share"].to_numpy())
    attrs = {key: (dict(v) if isinstance(v, dict) else v) for key, v in areas.attrs.items()}
    if isinstance(attrs.get("vigie"), dict):
        attrs["vigie"] = {key: v for key, v in attrs["vigie"].items() if key not in COUNT_ATTRS}
    out.attrs = attrs
    return out
