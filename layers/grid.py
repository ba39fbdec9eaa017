"""Square and hexagonal grids over a study area, and their neighbourhood weights.

Every hotspot statistic of Vigie works on a grid of equal cells in the analysis CRS (metres).
``make_grid`` builds it over a study area (a commune limit, the union of ZACs or areas), keeping
only the cells that overlap the area, so a stray point far away can never create millions of
cells. ``neighbours`` gives the binary spatial weights the Gi* and local Moran statistics use.

Conventions
-----------
- Cells are kept **whole** (not cut at the boundary) when their interior overlaps the study
  area: every cell then has the same area, so counts and densities compare between cells, and
  a cell's identity does not depend on the shape of the boundary. Cells that only touch the
  boundary are dropped.
- The lattice is anchored at ``origin`` (default: the multiple of the cell size just below the
  area's lower-left corner, so two areas analysed with the same cell size share the same
  lattice). Columns ``col`` and ``row`` are the cell's integer position on that lattice
  (absolute, relative to the origin); ``cell_id`` numbers the cells row-major within the area's
  bounding box (``(row - row_min) * n_cols + (col - col_min)``) and is therefore stable for a
  given area, cell size and origin.
- Hexagons are pointy-topped; ``cell_size`` is the distance between the centres of two adjacent
  hexagons (= the width across flats). Odd lattice rows are shifted right by half a cell.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from layers.checks import check_metric, check_one_of, positive_number
from layers.errors import InputError, ParameterError, VigieWarning
from layers.settings import parse_study_area

__all__ = ["MAX_CELLS_WARNING", "auto_cell_size", "cell_index", "cell_position", "lattice_of", "make_grid",
           "neighbours", "study_area"]

#: above this many cells ``make_grid`` warns (``VigieWarning``): the analyses slow down and the map
#: becomes unreadable.
MAX_CELLS_WARNING = 100_000
#: above this many cells in the bounding box ``make_grid`` refuses (``ParameterError``).
_MAX_BBOX_CELLS = 20_000_000
#: cells across the shorter side of the study area for the automatic cell size (sfhotspot's rule).
_CELLS_ACROSS = 50
_SQRT3 = math.sqrt(3.0)


# ----------------------------------------------------------------------------------- checks


def _check_area(area) -> tuple[shapely.Geometry, object]:
    """Return the union of the study area and its CRS (``None`` for a bare geometry)."""
    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if len(area) == 0:
            raise InputError("The study area is empty: give at least one polygon.")
        crs = area.crs
        check_metric(area, "study area")
        parts = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        parts = parts[parts.notna() & ~parts.is_empty]
        if not parts.is_valid.all():  # real boundaries often hold self-intersections
            parts = parts.make_valid()
        geom = parts.union_all() if len(parts) else None
    elif isinstance(area, shapely.Geometry):
        geom, crs = area, None
    else:
        raise InputError(
            f"The study area must be a GeoDataFrame, a GeoSeries or a shapely geometry, got "
            f"{type(area).__name__}."
        )
    if geom is None or geom.is_empty:
        raise InputError("The study area has no geometry: give at least one non-empty polygon.")
    if geom.geom_type in ("Point", "MultiPoint", "LineString", "MultiLineString"):
        # points or lines (e.g. the incidents themselves) cover their bounding box
        minx, miny, maxx, maxy = geom.bounds
        if maxx - minx <= 0 or maxy - miny <= 0:
            raise InputError("The study area has no extent (a single point or a straight line).")
        geom = shapely.box(minx, miny, maxx, maxy)
    return geom, crs


# ------------------------------------------------------------------------------- cell size


def auto_cell_size(bounds, *, cells_across: int = _CELLS_ACROSS) -> float:
    """A round cell size (metres) giving about ``cells_across`` cells across the shorter side.

    The raw size ``min(width, height) / cells_across`` is rounded to the closest, in ratio, of
    1, 2, 2.5 or 5 times a power of ten (e.g. 37 m -> 50 m? no: |ln(37/25)| = 0.39 > |ln(50/37)|
    = 0.30, so 50 m; 140 m -> 100 m).

    Parameters
    ----------
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` in metres.
    cells_across : int, default 50
        Target number of cells across the shorter side (sfhotspot's default).

    Returns
    -------
    float
        Cell size in metres.

    Notes
    -----
    The candidates are ``{1, 2, 2.5, 5} x 10^k`` and the one whose ratio to the raw size is
    closest to 1 wins, so the number of cells across stays within about a factor 1.4 of the
    target. sfhotspot (Ashby 2023) uses the same target of 50 cells on the shorter side.
    """
    minx, miny, maxx, maxy = bounds
    side = min(maxx - minx, maxy - miny)
    if not side > 0:
        side = max(maxx - minx, maxy - miny)
    if not side > 0:
        raise InputError("The study area has no extent: cannot choose a cell size.")
    raw = side / cells_across
    k = math.floor(math.log10(raw))
    candidates = [m * 10.0**e for e in (k - 1, k, k + 1) for m in (1.0, 2.0, 2.5, 5.0)]
    best = min(candidates, key=lambda c: abs(math.log(c / raw)))
    return float(round(best, 6))


# ---------------------------------------------------------------------------------- lattice


def _lattice(shape: str, cs: float):
    """Lattice spacings: (dx between columns, dy between rows, half-height of a cell)."""
    if shape == "square":
        return cs, cs, cs / 2.0
    radius = cs / _SQRT3  # circumradius of a pointy-topped hexagon of width cs
    return cs, 1.5 * radius, radius


def _centres(shape: str, cs: float, ox: float, oy: float, col: np.ndarray, row: np.ndarray):
    dx, dy, half_h = _lattice(shape, cs)
    cx = ox + (col + 0.5) * dx
    if shape == "hex":
        cx = cx + (np.mod(row, 2) * 0.5) * dx
    cy = oy + half_h + row * dy
    return cx, cy


def _cell_polygons(shape: str, cs: float, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    if shape == "square":
        h = cs / 2.0
        return shapely.box(cx - h, cy - h, cx + h, cy + h)
    r = cs / _SQRT3
    angles = np.deg2rad(np.array([30, 90, 150, 210, 270, 330, 30], dtype=float))
    xs = cx[:, None] + r * np.cos(angles)[None, :]
    ys = cy[:, None] + r * np.sin(angles)[None, :]
    # rounded to the micrometre so that neighbouring hexagons share exactly the same vertices
    coords = np.round(np.stack([xs, ys], axis=-1), 6)
    return shapely.polygons(coords)


def lattice_of(grid: gpd.GeoDataFrame) -> dict | None:
    """The lattice of a grid made by ``make_grid``, or None for a grid from elsewhere.

    Returns ``shape``, ``origin`` ``(ox, oy)``, ``dx`` (between columns), ``dy`` (between rows)
    and ``half_h`` (half the height of a cell), in the grid's CRS units: what is needed to
    compute a point's ``col`` / ``row`` the way ``cell_index`` does.
    """
    meta = grid.attrs.get("vigie", {})
    if not {"origin", "shape", "cell_size"} <= set(meta) or not {"col", "row"} <= set(grid.columns):
        return None
    dx, dy, half_h = _lattice(meta["shape"], float(meta["cell_size"]))
    ox, oy = (float(v) for v in meta["origin"])
    return {"shape": meta["shape"], "origin": (ox, oy), "dx": dx, "dy": dy, "half_h": half_h}


def cell_index(grid: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Position (0-based row of ``grid``) of the cell holding each point, -1 outside.

    Works arithmetically on grids made by ``make_grid`` (``O(n)`` for a million points); a grid
    from elsewhere falls back to a spatial-index query. A point on an edge between two square
    cells goes to the cell on its right / above (cells are closed on their lower-left sides).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    meta = grid.attrs.get("vigie", {})
    if not {"origin", "shape", "cell_size"} <= set(meta) or not {"col", "row"} <= set(grid.columns):
        return _cell_index_generic(grid, x, y)
    shape, cs = meta["shape"], float(meta["cell_size"])
    ox, oy = meta["origin"]
    dx, dy, half_h = _lattice(shape, cs)
    if shape == "square":
        col = np.floor((x - ox) / dx).astype(np.int64)
        row = np.floor((y - oy) / dy).astype(np.int64)
    else:
        # nearest hexagon centre among the candidate rows around the point (Voronoi = hexagon)
        r0 = np.floor((y - oy - half_h) / dy).astype(np.int64)
        best_d = np.full(len(x), np.inf)
        col = np.zeros(len(x), dtype=np.int64)
        row = np.zeros(len(x), dtype=np.int64)
        for dr in (-1, 0, 1, 2):
            r = r0 + dr
            shift = np.mod(r, 2) * 0.5
            c = np.floor((x - ox) / dx - shift).astype(np.int64)
            for dc in (0, 1):
                cc = c + dc
                cx, cy = _centres(shape, cs, ox, oy, cc, r)
                d = (x - cx) ** 2 + (y - cy) ** 2
                better = d < best_d
                best_d = np.where(better, d, best_d)
                col = np.where(better, cc, col)
                row = np.where(better, r, row)
    return cell_position(grid, col, row)


def cell_position(grid: gpd.GeoDataFrame, col, row) -> np.ndarray:
    """Position (0-based row of ``grid``) of the lattice cells ``(col, row)``, -1 for a cell
    that is not in ``grid`` (outside the study area).

    ``col`` and ``row`` are lattice positions as ``make_grid`` numbers them (``cell_index``
    computes them from coordinates; a store computes them in SQL).
    """
    col = np.asarray(col, dtype=np.int64)
    row = np.asarray(row, dtype=np.int64)
    gcol = grid["col"].to_numpy(dtype=np.int64)
    grow = grid["row"].to_numpy(dtype=np.int64)
    if len(gcol) == 0:
        return np.full(len(col), -1, dtype=np.int64)
    cmin, rmin = gcol.min(), grow.min()
    ncols, nrows = gcol.max() - cmin + 1, grow.max() - rmin + 1
    lookup = np.full(ncols * nrows, -1, dtype=np.int64)
    lookup[(grow - rmin) * ncols + (gcol - cmin)] = np.arange(len(gcol))
    inside = (col >= cmin) & (col < cmin + ncols) & (row >= rmin) & (row < rmin + nrows)
    out = np.full(len(col), -1, dtype=np.int64)
    out[inside] = lookup[(row[inside] - rmin) * ncols + (col[inside] - cmin)]
    return out


def _cell_index_generic(grid: gpd.GeoDataFrame, x, y) -> np.ndarray:
    pts = shapely.points(x, y)
    tree = shapely.STRtree(grid.geometry.values)
    ipt, icell = tree.query(pts, predicate="intersects")
    out = np.full(len(x), -1, dtype=np.int64)
    # first matching cell per point (points on shared edges belong to one cell only)
    order = np.lexsort((icell, ipt))
    ipt, icell = ipt[order], icell[order]
    first = np.r_[True, ipt[1:] != ipt[:-1]] if len(ipt) else np.array([], dtype=bool)
    out[ipt[first]] = icell[first]
    return out


# -------------------------------------------------------------------------------- make_grid


def _index_range(shape: str, cs: float, ox: float, oy: float, bounds) -> tuple[int, int, int, int]:
    """(col_min, row_min, col_max, row_max) of the lattice cells that may overlap ``bounds``."""
    minx, miny, maxx, maxy = bounds
    dx, dy, half_h = _lattice(shape, cs)
    if shape == "square":
        cmin, rmin = math.floor((minx - ox) / dx), math.floor((miny - oy) / dy)
        cmax = max(cmin, math.ceil((maxx - ox) / dx) - 1)
        rmax = max(rmin, math.ceil((maxy - oy) / dy) - 1)
    else:
        cmin = math.floor((minx - ox) / dx) - 1
        cmax = math.floor((maxx - ox) / dx) + 1
        rmin = math.floor((miny - oy - half_h) / dy) - 1
        rmax = math.floor((maxy - oy) / dy) + 1
    return cmin, rmin, cmax, rmax



def make_grid(area, *, cell_size=None, shape: str = "square", origin=None) -> gpd.GeoDataFrame:
    """A grid of square or hexagonal cells over a study area.

    Parameters
    ----------
    area : GeoDataFrame, GeoSeries or shapely geometry
        The study area in a metric CRS (commune limit, union of areas or ZACs). Points or lines
        (e.g. the incidents themselves) stand for their bounding box.
    cell_size : float, optional
        Cell size in metres (side of a square; distance between adjacent hexagon centres).
        Default: automatic, a round number of metres giving about 50 cells across the shorter
        side of the area's bounding box (``auto_cell_size``).
    shape : {"square", "hex"}, default "square"
        Cell shape; hexagons are pointy-topped.
    origin : tuple of float, optional
        ``(x, y)`` in metres anchoring the lattice (the lower-left corner of cell ``col=0,
        row=0``). Default: the area's lower-left corner snapped down to a multiple of the cell
        size. Shift it by half a cell to test the sensitivity of hotspots to the grid's origin.

    Returns
    -------
    GeoDataFrame
        One row per cell whose interior overlaps the area, whole (not cut), sorted by
        ``cell_id``, in the area's CRS. Columns: ``cell_id`` (int, row-major within the area's
        bounding box, stable for a given area, cell size and origin), ``col``, ``row`` (int
        position on the lattice), ``geometry`` (Polygon). ``attrs["vigie"]`` holds the choices:
        ``cell_size`` (m), ``cell_size_auto`` (bool), ``shape``, ``n_cells``, ``origin``,
        ``cell_area_m2``.

    Raises
    ------
    InputError
        Empty area, geographic CRS (degrees).
    ParameterError
        Bad ``cell_size`` or ``shape``, or a cell size so small that the bounding box would hold
        more than 20 million cells.

    Warns
    -----
    VigieWarning
        More than 100,000 cells: analyses slow down and maps become unreadable.

    Notes
    -----
    The automatic size follows sfhotspot's rule (about 50 cells across the shorter side).

    References
    ----------
    Ashby, M. (2023). sfhotspot: Hot-Spot Analysis with Simple Features. R package.

    Examples
    --------
    >>> import shapely
    >>> g = make_grid(shapely.box(0, 0, 300, 300), cell_size=100)
    >>> len(g), g.attrs["vigie"]["cell_size"]
    (9, 100.0)
    """
    geom, crs = _check_area(area)
    shape = check_one_of(shape, ("square", "hex"), "shape")
    minx, miny, maxx, maxy = geom.bounds
    auto = cell_size is None
    cs = auto_cell_size(geom.bounds) if auto else positive_number(cell_size, "cell_size", unit="metres")
    if origin is None:
        ox, oy = math.floor(minx / cs) * cs, math.floor(miny / cs) * cs
    else:
        try:
            ox, oy = (float(v) for v in origin)
        except (TypeError, ValueError):
            raise ParameterError(f"origin must be two numbers (x, y) in metres, got {origin!r}.", "origin") from None
    gcmin, grmin, gcmax, _ = _index_range(shape, cs, ox, oy, geom.bounds)
    ncols = gcmax - gcmin + 1
    # candidate cells: the bounding-box cells of each part of the area (far-apart parts do not
    # fill the space between them)
    ranges = [_index_range(shape, cs, ox, oy, b) for b in shapely.bounds(shapely.get_parts(geom))]
    total = sum((c1 - c0 + 1) * (r1 - r0 + 1) for c0, r0, c1, r1 in ranges)
    if total > _MAX_BBOX_CELLS:
        raise ParameterError(
            f"a cell size of {cs:g} m gives {total:,} cells over the study area's extent "
            f"({maxx - minx:,.0f} m x {maxy - miny:,.0f} m); choose a larger cell size.",
            "cell_size",
        )
    keys = []
    for c0, r0, c1, r1 in ranges:
        rr, cc = np.divmod(np.arange((c1 - c0 + 1) * (r1 - r0 + 1), dtype=np.int64), c1 - c0 + 1)
        keys.append((rr + r0 - grmin) * ncols + (cc + c0 - gcmin))
    key = np.unique(np.concatenate(keys))
    rr, cc = np.divmod(key, ncols)
    col, row = cc + gcmin, rr + grmin
    cx, cy = _centres(shape, cs, ox, oy, col, row)
    polys = _cell_polygons(shape, cs, cx, cy)
    shapely.prepare(geom)
    keep = shapely.intersects(geom, polys)
    if keep.any():
        cand = np.flatnonzero(keep)
        touch_only = shapely.touches(geom, polys[cand])
        keep[cand[touch_only]] = False
    idx = np.flatnonzero(keep)
    grid = gpd.GeoDataFrame(
        {"cell_id": key[idx].astype(np.int64), "col": col[idx], "row": row[idx]},
        geometry=polys[idx],
        crs=crs,
    )
    cell_area = cs * cs if shape == "square" else _SQRT3 / 2.0 * cs * cs
    grid.attrs["vigie"] = {
        "cell_size": cs,
        "cell_size_auto": auto,
        "shape": shape,
        "n_cells": len(grid),
        "origin": [float(ox), float(oy)],
        "cell_area_m2": float(cell_area),
    }
    if len(grid) > MAX_CELLS_WARNING:
        warnings.warn(
            f"the grid has {len(grid):,} cells of {cs:g} m (more than {MAX_CELLS_WARNING:,}): "
            "analyses will be slow and the map unreadable; choose a larger cell size.",
            VigieWarning,
            stacklevel=2,
        )
    return grid


def study_area(spec, *, areas=None, zac=None) -> gpd.GeoDataFrame | None:
    """The study-area polygons named by a ``Settings.study_area`` value, or None.

    Parameters
    ----------
    spec : str or None
        ``"areas:<level>"`` (areas whose ``level`` is ``<level>``, e.g. ``areas:commune``),
        ``"areas"`` (every area), ``"zac"`` (every ZAC) or ``None`` (every area if any, else
        None: the caller then falls back on the incidents' extent).
    areas, zac : GeoDataFrame, optional
        The stored ``areas`` and ``zac`` layers (any CRS; ``None`` counts as empty). Only the
        layer the spec names is read.

    Returns
    -------
    GeoDataFrame or None
        The selected rows of ``areas`` or ``zac`` (same columns and CRS, not copied), or None.

    Raises
    ------
    ParameterError
        ``spec`` is not one of the forms above (param ``study_area``).
    InputError
        An explicit ``spec`` selects nothing: the layer is not imported, or has no such level.
    """
    kind, level = parse_study_area(spec)
    layer = areas if kind == "areas" else zac
    if layer is not None and level is not None:
        if "level" not in layer.columns:
            layer = layer.iloc[:0]
        else:
            layer = layer[(layer["level"].astype(str) == level).to_numpy()]
    if layer is not None and len(layer):
        return layer
    if spec is None or str(spec).strip() == "":
        return None
    raise InputError(
        f"the study area '{spec}' is empty in the store: import the {kind} layer"
        + (f" with a level '{level}'" if level else "")
        + " (geo-app import), or change study_area in config.toml."
    )


# ------------------------------------------------------------------------------- neighbours


def neighbours(grid: gpd.GeoDataFrame, *, distance=None) -> sparse.csr_matrix:
    """Binary spatial weights between the cells of ``grid``, each cell included in its own set.

    Parameters
    ----------
    grid : GeoDataFrame
        Cells in a metric CRS, as made by ``make_grid`` (any polygon grid works; grids made by
        ``make_grid`` use their lattice positions and are faster).
    distance : float, optional
        Distance band in metres: cells whose centroids are at most ``distance`` apart are
        neighbours. Default: queen contiguity (cells sharing an edge or a corner; for hexagons
        the six cells sharing an edge).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n_cells x n_cells`` matrix of 0/1 (float64) in the row order of ``grid``, symmetric,
        with ones on the diagonal (the "star" weights of Gi*).

    Notes
    -----
    Distance ties are included with a tolerance of 1e-9 of the distance, so a band equal to the
    cell size reliably gives the four edge neighbours of a square cell. Build a libpysal ``W``
    from this matrix (``WSP(w).to_W()``) to compare with esda.

    References
    ----------
    Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance
    statistics. Geographical Analysis 24(3), 189-206.
    """
    if not isinstance(grid, gpd.GeoDataFrame):
        raise InputError(f"neighbours needs a GeoDataFrame of cells, got {type(grid).__name__}.")
    n = len(grid)
    if distance is not None:
        d = positive_number(distance, "distance", unit="metres")
        check_metric(grid, "grid")
        c = grid.geometry.centroid
        xy = np.column_stack([c.x.to_numpy(), c.y.to_numpy()])
        tree = cKDTree(xy)
        pairs = tree.query_pairs(d * (1 + 1e-9), output_type="ndarray")
        i = np.r_[pairs[:, 0], pairs[:, 1], np.arange(n)]
        j = np.r_[pairs[:, 1], pairs[:, 0], np.arange(n)]
        return _binary(i, j, n)
    meta = grid.attrs.get("vigie", {})
    if meta.get("shape") in ("square", "hex") and {"col", "row"} <= set(grid.columns):
        return _lattice_neighbours(grid, meta["shape"])
    geoms = grid.geometry.values
    tree = shapely.STRtree(geoms)
    minx, miny, maxx, maxy = shapely.bounds(geoms).T if n else (np.zeros(0),) * 4
    tol = 1e-7 * float(np.median(np.maximum(maxx - minx, maxy - miny))) if n else 0.0
    i, j = tree.query(geoms, predicate="dwithin", distance=tol)
    return _binary(np.r_[i, np.arange(n)], np.r_[j, np.arange(n)], n)


def _binary(i, j, n) -> sparse.csr_matrix:
    m = sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    m.data[:] = 1.0  # duplicates summed by the constructor: back to binary
    m.sort_indices()
    m._vigie_binary = True  # lets layers.hotspots skip re-checking that every weight is 1
    return m


def _lattice_neighbours(grid: gpd.GeoDataFrame, shape: str) -> sparse.csr_matrix:
    col = grid["col"].to_numpy(dtype=np.int64)
    row = grid["row"].to_numpy(dtype=np.int64)
    n = len(col)
    if n == 0:
        return _binary(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0)
    cmin, rmin = col.min(), row.min()
    ncols, nrows = col.max() - cmin + 3, row.max() - rmin + 3  # one cell of padding each side
    lookup = np.full(ncols * nrows, -1, dtype=np.int64)
    key = (row - rmin + 1) * ncols + (col - cmin + 1)
    lookup[key] = np.arange(n)
    if shape == "square":
        offsets = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
        offs = {0: offsets, 1: offsets}
    else:
        # pointy-topped, odd rows shifted right: neighbours above/below depend on row parity
        offs = {
            0: [(0, 0), (0, -1), (0, 1), (-1, -1), (-1, 0), (1, -1), (1, 0)],
            1: [(0, 0), (0, -1), (0, 1), (-1, 0), (-1, 1), (1, 0), (1, 1)],
        }
    ii, jj = [], []
    parity = np.mod(row, 2)
    for p in (0, 1):
        sel = np.flatnonzero(parity == p)
        for dr, dc in offs[p]:
            k = key[sel] + dr * ncols + dc
            nb = lookup[k]
            ok = nb >= 0
            ii.append(sel[ok])
            jj.append(nb[ok])
    return _binary(np.concatenate(ii), np.concatenate(jj), n)
