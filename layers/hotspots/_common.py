"""What the hotspot statistics share: filtering the incidents, the grid to use, point
coordinates in the grid's CRS (transformed once and cached), weights, the ``attrs`` record."""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.checks import check_metric, check_points
from layers.errors import InputError, ParameterError
from layers.filters import Filters, apply_filters
from layers.grid import make_grid

#: the other way out when incidents in degrees are given without a grid or a study area
OR_GRID = ", or give a grid or a study area in metres"


def _prepare(incidents, filters, tz, zac_layer) -> gpd.GeoDataFrame:
    incidents = check_points(incidents)
    if filters is not None:
        if not isinstance(filters, Filters):
            raise ParameterError("filters must be a layers.filters.Filters (use parse_filters).", "filters")
        incidents = apply_filters(incidents, filters, tz=tz, zac_layer=zac_layer)
    return incidents


def _check_grid(grid) -> gpd.GeoDataFrame:
    """A grid of ``layers.grid.make_grid`` (cells with ``cell_id``) in metres, or ``InputError``."""
    if not isinstance(grid, gpd.GeoDataFrame) or "cell_id" not in grid.columns:
        raise InputError("grid must be a GeoDataFrame with a 'cell_id' column (layers.grid.make_grid).")
    check_metric(grid, "grid")
    return grid


def _grid_for(incidents, *, grid, cell_size, shape, study_area, origin=None) -> gpd.GeoDataFrame:
    if grid is not None:
        return _check_grid(grid)
    if study_area is None:
        if len(incidents) == 0:
            raise InputError("There are no incidents (after filtering) and no study area to draw a grid on.")
        check_metric(incidents, alternative=OR_GRID)
        # the incidents' bounding box, padded by a millimetre so that points on its upper or
        # right edge fall inside a cell (cells are closed on their lower-left sides)
        minx, miny, maxx, maxy = incidents.total_bounds
        area = shapely.box(minx, miny, maxx + 1e-3, maxy + 1e-3)
        study = gpd.GeoSeries([area], crs=incidents.crs)
    else:
        study = study_area
        if isinstance(study, (gpd.GeoDataFrame, gpd.GeoSeries)):
            check_metric(study, "study area")
    return make_grid(study, cell_size=cell_size, shape=shape, origin=origin)


def _xy(gdf: gpd.GeoDataFrame, crs=None) -> tuple[np.ndarray, np.ndarray]:
    """Point coordinates, transformed to ``crs`` when the frame is in another CRS.

    Only the coordinate arrays are transformed (pyproj), not the geometries: a million stored
    points in EPSG:4326 are counted on a Lambert-93 grid without building new geometries.
    """
    values = gdf.geometry.values
    transform = crs is not None and gdf.crs is not None and not gdf.crs.equals(crs) and len(values)
    if transform:
        # gistar then hotspot_areas on the same stored frame: transform its million points once
        hit = _XY_CACHE.get("entry")
        if hit is not None and hit[0] is values and hit[1] == (gdf.crs, crs) and _same_sample(values, hit[2]):
            return hit[3], hit[4]
    coords = shapely.get_coordinates(np.asarray(values))
    x, y = coords[:, 0], coords[:, 1]
    if transform:
        src_x, src_y = x, y
        x, y = _transformer(gdf.crs, crs).transform(x, y)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        x.flags.writeable = y.flags.writeable = False
        sample = _sample_rows(len(x))
        _XY_CACHE["entry"] = (values, (gdf.crs, crs), (sample, src_x[sample], src_y[sample]), x, y)
    return x, y


#: one entry: (geometry array, (source CRS, target CRS), sampled source coordinates, x, y)
_XY_CACHE: dict = {}


@lru_cache(maxsize=16)
def _transformer(src, dst):
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def _sample_rows(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, num=min(n, 64)).astype(np.int64))


def _same_sample(values, sample) -> bool:
    """The cached array still holds the same coordinates (checked on 64 rows spread over it)."""
    rows, sx, sy = sample
    if len(values) == 0 or rows[-1] >= len(values):
        return False
    c = shapely.get_coordinates(np.asarray(values)[rows])
    return len(c) == len(rows) and np.array_equal(c[:, 0], sx) and np.array_equal(c[:, 1], sy)


def _weights_array(incidents: gpd.GeoDataFrame, weights) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in incidents.columns:
            raise ParameterError(
                f"weights column '{weights}' is not in the incidents (columns: "
                f"{', '.join(map(str, incidents.columns))}).",
                "weights",
            )
        w = pd.to_numeric(incidents[weights], errors="coerce").to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
    if w.shape != (len(incidents),):
        raise ParameterError(
            f"weights must give one number per incident ({len(incidents)}), got shape {w.shape}.", "weights"
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        rows = np.flatnonzero(bad)[:10] + 1
        raise ParameterError(
            f"weights must be finite and non-negative; bad at rows {', '.join(map(str, rows))}.", "weights"
        )
    return w


def _meta(grid: gpd.GeoDataFrame, **extra) -> dict:
    meta = dict(grid.attrs.get("vigie", {}))
    meta.update(extra)
    return meta
