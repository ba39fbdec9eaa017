"""Incidents per grid cell: ``count_incidents`` (GeoDataFrame in) and ``count_xy`` (arrays in)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from layers.checks import check_same_length
from layers.errors import ParameterError
from layers.filters import Filters
from layers.grid import cell_index
from layers.hotspots._common import _check_grid, _meta, _prepare, _weights_array, _xy


def count_incidents(
    incidents: gpd.GeoDataFrame,
    grid: gpd.GeoDataFrame,
    *,
    weights=None,
    filters: Filters | None = None,
    tz: str = "Europe/Paris",
    zac_layer: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Number of incidents in each cell of ``grid``.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points, in the grid's CRS or any other (their coordinates are transformed).
    grid : GeoDataFrame
        Cells with ``cell_id`` (``layers.grid.make_grid``).
    weights : str or array-like, optional
        A column name or one non-negative number per incident (e.g. aoristic weights); the
        count becomes a sum of weights.
    filters : Filters, optional
        The store's filters (period, categories, hours, weekdays, ZAC), applied with
        ``layers.filters.apply_filters`` before counting.
    tz : str, default "Europe/Paris"
        Time zone of the ``hours`` / ``weekdays`` filters.
    zac_layer : GeoDataFrame, optional
        ZAC polygons (column ``name``), needed when ``filters.zac`` is set.

    Returns
    -------
    GeoDataFrame
        A copy of ``grid`` with column ``n``: incidents per cell (int64; float64 when
        weighted). ``attrs["vigie"]`` adds ``n_incidents`` (counted) and ``n_outside``
        (incidents outside every cell, not counted).

    Notes
    -----
    Incidents are assigned arithmetically on grids made by ``make_grid`` (a point on an edge
    goes to the cell on its right / above), so a million points count in a fraction of a second.

    References
    ----------
    Chainey, S. & Ratcliffe, J. (2005). GIS and Crime Mapping, ch. 6 (grid thematic maps).
    """
    incidents = _prepare(incidents, filters, tz, zac_layer)
    _check_grid(grid)
    return _count(incidents, grid, weights)


def _count(incidents: gpd.GeoDataFrame, grid: gpd.GeoDataFrame, weights) -> gpd.GeoDataFrame:
    """``count_incidents`` without the checks (callers have made them)."""
    x, y = _xy(incidents, grid.crs)
    return count_xy(x, y, grid, weights=_weights_array(incidents, weights))


def count_xy(x, y, grid: gpd.GeoDataFrame, *, weights=None) -> gpd.GeoDataFrame:
    """``count_incidents`` on coordinate arrays already in the grid's CRS.

    The fast path for callers that keep incidents as NumPy columns (the web service reprojects
    a store version once and filters with masks): no geometry is built or read.

    Parameters
    ----------
    x, y : array_like
        Point coordinates in metres, in the grid's CRS.
    grid : GeoDataFrame
        Cells with ``cell_id`` (``layers.grid.make_grid``).
    weights : array_like, optional
        One non-negative number per point; the count becomes a sum of weights.

    Returns
    -------
    GeoDataFrame
        As ``count_incidents``: a copy of ``grid`` with ``n`` (incidents per cell) and
        ``attrs["vigie"]`` ``n_incidents`` / ``n_outside``.

    References
    ----------
    Chainey, S. & Ratcliffe, J. (2005). GIS and Crime Mapping. Wiley (grid counts).
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    check_same_length(x=x, y=y)
    return count_cells(cell_index(grid, x, y), grid, weights=weights)


def count_cells(idx, grid: gpd.GeoDataFrame, *, weights=None) -> gpd.GeoDataFrame:
    """``count_xy`` of points whose cells are already known.

    The fast path of a caller that assigned every stored incident to its cell once
    (``geo_app.workspace``): a filter's counts are then one ``bincount`` of its rows.

    Parameters
    ----------
    idx : array_like of int
        Position of each point's cell in ``grid`` (``layers.grid.cell_index``), -1 outside.
    grid : GeoDataFrame
        Cells with ``cell_id`` (``layers.grid.make_grid``), in metres.
    weights : array_like, optional
        One non-negative number per point; the count becomes a sum of weights.

    Returns
    -------
    GeoDataFrame
        As ``count_xy``: a copy of ``grid`` with ``n`` (incidents per cell, not per km²).

    References
    ----------
    Chainey, S. & Ratcliffe, J. (2005). GIS and Crime Mapping. Wiley (grid counts).
    """
    idx = np.asarray(idx).ravel()
    w = None if weights is None else np.asarray(weights, dtype=float).ravel()
    if w is not None and (w.shape != idx.shape or not np.all(np.isfinite(w)) or (w < 0).any()):
        raise ParameterError("weights must give one finite non-negative number per point.", "weights")
    inside = idx >= 0
    if w is None:
        n = np.bincount(idx[inside], minlength=len(grid)).astype(np.int64)
    else:
        n = np.bincount(idx[inside], weights=w[inside], minlength=len(grid)).astype(float)
    out = grid.copy()
    out["n"] = n
    out.attrs["vigie"] = _meta(grid, n_incidents=int(inside.sum()), n_outside=int((~inside).sum()))
    return out
