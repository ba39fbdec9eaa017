"""Street segments as micro-places: the network, incidents assigned to segments, per-segment
counts, Gi* with network contiguity and the concentration curve.

Crime concentrates at a few micro-places — about half of incidents at a few percent of street
segments (the law of crime concentration, Weisburd 2015) — and situational prevention acts there.
This module works on the street network split at intersections (one row per segment, the
``streets`` layer kind) in a metric CRS:

=====================  ==================================================================
``network``            node ids of each segment's two ends (ends closer than ``snap_m`` meet)
``segment_neighbours``  binary weights: segments sharing a node, each segment included
``assign_xy``          nearest segment of each point within a tolerance (or -1: off-network);
                       ``SegmentIndex``: the segments prepared once for it
``segment_counts``     incidents per segment and per 100 m, off-network incidents counted
                       (``segment_counts_xy``: the same from coordinate arrays)
``segment_gistar``     Gi* of the counts over network contiguity, with FDR bins
                       (``segment_gistar_counts``: from counts already made)
``concentration``      the concentration curve and the share of segments holding 50 %/100 %
``intersections``      the nodes that are micro-places: where different streets (or three or
                       more segments) meet
``micro_counts_xy``    incidents per micro-place, each counted once: at an intersection
                       within ``radius_m``, else at its nearest segment, else off-network
=====================  ==================================================================

References
----------
Weisburd, D. (2015). The law of crime concentration and the criminology of place.
Criminology 53(2), 133-157.
Getis, A. & Ord, J. K. (1992); Ord & Getis (1995) — see ``layers.hotspots.gistar_z``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from layers.checks import (
    check_layer,
    check_metric,
    check_points,
    check_same_length,
    positive_number,
)
from layers.errors import InputError, ParameterError
from layers.hotspots.gistar import ALPHA_LEVELS, bh_adjust, fdr_bins, gistar_z

__all__ = [
    "INTERSECTION_RADIUS_M",
    "SNAP_M",
    "STREET_TOLERANCE_M",
    "SegmentIndex",
    "assign",
    "assign_xy",
    "concentration",
    "intersections",
    "micro_counts_xy",
    "network",
    "segment_counts",
    "segment_counts_assigned",
    "segment_counts_xy",
    "segment_gistar",
    "segment_gistar_counts",
    "segment_neighbours",
]

#: default distance (m) within which an incident is assigned to its nearest segment
STREET_TOLERANCE_M = 30.0
#: default radius (m) around an intersection within which an incident counts at the intersection
INTERSECTION_RADIUS_M = 15.0
#: segment ends closer than this (m) are one node (the source rounds to 0.1 m; a round trip
#: through lon/lat storage moves them by millimetres)
SNAP_M = 0.5


def _check_streets(streets) -> gpd.GeoDataFrame:
    check_layer(streets, "streets", kinds=("LineString",),
                empty_hint="import the street network first (layer kind 'streets')")
    check_metric(streets, "streets")
    return streets


def _check_same_crs(incidents, streets) -> None:
    if incidents.crs is not None and streets.crs is not None and not incidents.crs.equals(streets.crs):
        raise InputError(
            f"The incidents are in {incidents.crs.to_string()} but the streets in "
            f"{streets.crs.to_string()}: reproject both to the analysis CRS first (layers.crs.to_analysis)."
        )


def network(streets: gpd.GeoDataFrame, *, snap_m: float = SNAP_M) -> pd.DataFrame:
    """The node ids of each segment's ends.

    Parameters
    ----------
    streets : GeoDataFrame
        LineStrings in a metric CRS, one per segment (split at intersections).
    snap_m : float, default 0.5
        Ends closer than this many metres are the same node.

    Returns
    -------
    DataFrame
        One row per segment, in the order of ``streets`` (same index): ``from_node``,
        ``to_node`` (int node ids, 0..nodes-1), ``length_m``. ``attrs["vigie"]``: ``nodes``,
        ``snap_m``.
    """
    _check_streets(streets)
    snap_m = positive_number(snap_m, "snap_m", unit="metres")
    g = np.asarray(streets.geometry.values)
    a = shapely.get_coordinates(shapely.get_point(g, 0))
    b = shapely.get_coordinates(shapely.get_point(g, -1))
    ends = np.vstack([a, b])
    pairs = cKDTree(ends).query_pairs(snap_m, output_type="ndarray")
    m = len(ends)
    adj = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    n_nodes, label = connected_components(adj, directed=False)
    n = len(g)
    out = pd.DataFrame(
        {"from_node": label[:n], "to_node": label[n:], "length_m": shapely.length(g)},
        index=streets.index,
    )
    out.attrs["vigie"] = {"nodes": int(n_nodes), "snap_m": snap_m}
    return out


def segment_neighbours(streets: gpd.GeoDataFrame, *, snap_m: float = SNAP_M) -> sparse.csr_matrix:
    """Network contiguity: ``w[i, j] = 1`` when segments ``i`` and ``j`` share a node (an end
    within ``snap_m``), and ``w[i, i] = 1`` (Gi* includes the segment itself).

    Returns
    -------
    scipy.sparse.csr_matrix of float, shape (n, n)
        Binary, symmetric, rows in the order of ``streets``.
    """
    net = network(streets, snap_m=snap_m)
    n = len(net)
    nodes = net.attrs["vigie"]["nodes"]
    seg = np.arange(n)
    # incidence segment x node, then segments sharing a node: B B^T
    inc = sparse.csr_matrix(
        (np.ones(2 * n), (np.concatenate([seg, seg]), np.concatenate([net["from_node"], net["to_node"]]))),
        shape=(n, nodes),
    )
    w = (inc @ inc.T).tocsr()
    w = w + sparse.identity(n, format="csr")
    w.data[:] = 1.0
    w.eliminate_zeros()
    w.sort_indices()
    return w


class SegmentIndex:
    """The street segments prepared for nearest-segment queries within a tolerance.

    Every segment is cut into its straight pieces (two consecutive vertices); each piece is
    registered in the cells of a square grid (side ``cell_m``, at least ``tolerance_m``) that
    its bounding box, widened by ``tolerance_m``, touches. A point's candidates are then the
    pieces of its own cell, and its distance to each is computed with NumPy: no geometry object
    is made per point. Built once per network and tolerance (``assign_xy``'s fast path).

    Parameters
    ----------
    streets : GeoDataFrame
        LineStrings in a metric CRS.
    tolerance_m : float, default 30
        The largest distance a query will accept, metres.
    cell_m : float, optional
        Cell side in metres; default ``tolerance_m``, widened so that the grid has at most
        about 4 million cells.
    """

    def __init__(self, streets: gpd.GeoDataFrame, *, tolerance_m: float = STREET_TOLERANCE_M,
                 cell_m: float | None = None):
        _check_streets(streets)
        tol = positive_number(tolerance_m, "tolerance_m", unit="metres")
        xy, owner = shapely.get_coordinates(np.asarray(streets.geometry.values), return_index=True)
        same = owner[1:] == owner[:-1]
        a, b = xy[:-1][same], xy[1:][same]
        self.n_segments = len(streets)
        self.tolerance_m = tol
        self.a = a
        self.d = b - a
        self.len2 = (self.d ** 2).sum(axis=1)
        self.owner = owner[:-1][same].astype(np.int64)
        x0 = np.minimum(a[:, 0], b[:, 0]) - tol
        x1 = np.maximum(a[:, 0], b[:, 0]) + tol
        y0 = np.minimum(a[:, 1], b[:, 1]) - tol
        y1 = np.maximum(a[:, 1], b[:, 1]) + tol
        self.ox, self.oy = float(x0.min()), float(y0.min())
        span = max(float(x1.max()) - self.ox, 1.0) * max(float(y1.max()) - self.oy, 1.0)
        cell = float(cell_m) if cell_m is not None else tol
        cell = max(cell, float(np.sqrt(span / 4e6)))
        self.cell = cell
        i0 = np.floor((x0 - self.ox) / cell).astype(np.int64)
        i1 = np.floor((x1 - self.ox) / cell).astype(np.int64)
        j0 = np.floor((y0 - self.oy) / cell).astype(np.int64)
        j1 = np.floor((y1 - self.oy) / cell).astype(np.int64)
        self.nx, self.ny = int(i1.max()) + 1, int(j1.max()) + 1
        wi, k = i1 - i0 + 1, (i1 - i0 + 1) * (j1 - j0 + 1)
        piece = np.repeat(np.arange(len(a)), k)
        off = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        key = (j0[piece] + off // wi[piece]) * self.nx + (i0[piece] + off % wi[piece])
        order = np.argsort(key, kind="stable")
        self.piece = piece[order]
        self.indptr = np.searchsorted(key[order], np.arange(self.nx * self.ny + 1))

    def nearest(self, x: np.ndarray, y: np.ndarray, *, tolerance_m: float | None = None,
                chunk: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
        """``assign_xy`` for finite coordinates ``x``, ``y`` (float arrays): the nearest segment
        within ``tolerance_m`` (at most the index's) and the distance in metres."""
        tol = self.tolerance_m if tolerance_m is None else min(float(tolerance_m), self.tolerance_m)
        n = len(x)
        seg = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        for s in range(0, n, chunk):
            xs, ys = x[s:s + chunk], y[s:s + chunk]
            ci = np.floor((xs - self.ox) / self.cell)
            cj = np.floor((ys - self.oy) / self.cell)
            ok = (ci >= 0) & (ci < self.nx) & (cj >= 0) & (cj < self.ny)
            c = np.where(ok, cj * self.nx + ci, 0).astype(np.int64)
            lo = self.indptr[c]
            cnt = np.where(ok, self.indptr[c + 1] - lo, 0)
            total = int(cnt.sum())
            if total == 0:
                continue
            # one row per (point, candidate piece), grouped by point
            p = np.repeat(np.arange(len(xs)), cnt)
            pos = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(lo, cnt)
            pc = self.piece[pos]
            px, py = xs[p] - self.a[pc, 0], ys[p] - self.a[pc, 1]
            dx, dy, ll = self.d[pc, 0], self.d[pc, 1], self.len2[pc]
            t = np.clip((px * dx + py * dy) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
            ex, ey = px - t * dx, py - t * dy
            d2 = ex * ex + ey * ey
            has = np.flatnonzero(cnt)
            starts = np.cumsum(cnt)[has] - cnt[has]
            m = np.minimum.reduceat(d2, starts)
            # ties (a point on a node) go to the segment listed first
            tie = np.where(d2 == np.repeat(m, cnt[has]), self.owner[pc], np.iinfo(np.int64).max)
            best = np.minimum.reduceat(tie, starts)
            good = m <= tol * tol
            rows = s + has[good]
            seg[rows] = best[good]
            dist[rows] = np.sqrt(m[good])
        return seg, dist


def assign_xy(x, y, streets: gpd.GeoDataFrame, *, tolerance_m: float = STREET_TOLERANCE_M,
              tree: SegmentIndex | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The nearest segment of each point within ``tolerance_m``.

    Parameters
    ----------
    x, y : array-like of float
        Point coordinates in the streets' metric CRS.
    streets : GeoDataFrame
        The segments (LineStrings, metric CRS).
    tolerance_m : float, default 30
        Points further than this from every segment stay off-network.
    tree : SegmentIndex, optional
        ``SegmentIndex(streets, tolerance_m=...)`` built once by the caller (the fast path of
        repeated calls); ignored unless built on these streets with at least this tolerance.

    Returns
    -------
    segment : ndarray of int64
        Position (0..n-1) of the nearest segment in ``streets``, or -1 (off-network). Ties (a
        point on a node) go to the segment listed first.
    distance : ndarray of float
        Distance in metres to that segment (NaN when off-network).

    Notes
    -----
    The distance is the Euclidean distance to the nearest straight piece of the segment
    (``SegmentIndex``); it agrees with GEOS's point-line distance to about 1e-13 m and the
    segment with ``geopandas.sjoin_nearest(max_distance=)`` up to ties (bench/README.md).
    """
    tolerance_m = positive_number(tolerance_m, "tolerance_m", unit="metres")
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    check_same_length(x=x, y=y)
    seg = np.full(len(x), -1, dtype=np.int64)
    dist = np.full(len(x), np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return seg, dist
    index = tree if (isinstance(tree, SegmentIndex) and tree.n_segments == len(streets)
                     and tree.tolerance_m >= tolerance_m) else SegmentIndex(streets, tolerance_m=tolerance_m)
    rows = np.flatnonzero(ok)
    seg[rows], dist[rows] = index.nearest(x[ok], y[ok], tolerance_m=tolerance_m)
    return seg, dist


def assign(incidents: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *,
           tolerance_m: float = STREET_TOLERANCE_M) -> gpd.GeoDataFrame:
    """A copy of ``incidents`` with ``segment`` (position in ``streets``, -1 off-network) and
    ``segment_distance_m`` (metres, NaN off-network). Both layers in the same metric CRS."""
    check_points(incidents)
    _check_streets(streets)
    check_metric(incidents)
    _check_same_crs(incidents, streets)
    g = np.asarray(incidents.geometry.values)
    seg, dist = assign_xy(shapely.get_x(g), shapely.get_y(g), streets, tolerance_m=tolerance_m)
    out = incidents.copy()
    out["segment"] = seg
    out["segment_distance_m"] = dist
    out.attrs["vigie"] = {"tolerance_m": float(tolerance_m), "off_network": int((seg < 0).sum())}
    return out


def segment_counts(incidents: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *,
                   tolerance_m: float = STREET_TOLERANCE_M, weights=None) -> gpd.GeoDataFrame:
    """Incidents per street segment.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points, in the streets' metric CRS.
    streets : GeoDataFrame
        The segments (LineStrings, metric CRS).
    tolerance_m : float, default 30
        Assignment tolerance (``assign_xy``).
    weights : str or array-like, optional
        A column of ``incidents`` or one weight per incident (e.g. aoristic); default 1 each.

    Returns
    -------
    GeoDataFrame
        A copy of ``streets`` with ``segment`` (position 0..n-1), ``length_m``, ``n``
        (incidents, weighted if asked) and ``per_100m`` (``n`` per 100 m of segment; segments
        shorter than 1 m count as 1 m). ``attrs["vigie"]``: ``tolerance_m``, ``n_incidents``,
        ``n_assigned``, ``n_off_network`` (unweighted counts of points).
    """
    check_points(incidents)
    _check_streets(streets)
    check_metric(incidents)
    _check_same_crs(incidents, streets)
    g = np.asarray(incidents.geometry.values)
    return segment_counts_xy(shapely.get_x(g), shapely.get_y(g), streets, tolerance_m=tolerance_m,
                             weights=_weights(incidents, weights))


def segment_counts_xy(x, y, streets: gpd.GeoDataFrame, *, tolerance_m: float = STREET_TOLERANCE_M,
                      weights=None, tree: SegmentIndex | None = None) -> gpd.GeoDataFrame:
    """``segment_counts`` from coordinate arrays in the streets' CRS (the fast path of callers
    holding incidents as columns); ``weights``: one value per point or None."""
    _check_streets(streets)
    tolerance_m = positive_number(tolerance_m, "tolerance_m", unit="metres")
    seg, _ = assign_xy(x, y, streets, tolerance_m=tolerance_m, tree=tree)
    return segment_counts_assigned(seg, streets, tolerance_m=tolerance_m, weights=weights)


def segment_counts_assigned(seg, streets: gpd.GeoDataFrame, *, tolerance_m: float = STREET_TOLERANCE_M,
                            weights=None) -> gpd.GeoDataFrame:
    """``segment_counts_xy`` of incidents already assigned: ``seg`` is each incident's
    segment position (``assign_xy`` with this ``tolerance_m``, metres; -1 off-network). The
    fast path of a caller that assigned every stored incident once (``geo_app.workspace``)."""
    seg = np.asarray(seg).ravel()
    w = None if weights is None else np.asarray(weights, dtype=float)
    on = seg >= 0
    n = np.bincount(seg[on], weights=None if w is None else w[on], minlength=len(streets))
    out = streets.copy()
    out["segment"] = np.arange(len(streets))
    out["length_m"] = shapely.length(np.asarray(streets.geometry.values))
    out["n"] = n if w is not None else n.astype(np.int64)
    out["per_100m"] = 100.0 * n / np.maximum(out["length_m"].to_numpy(), 1.0)
    out.attrs["vigie"] = {
        "tolerance_m": tolerance_m,
        "n_incidents": int(len(seg)),
        "n_assigned": int(on.sum()),
        "n_off_network": int((~on).sum()),
    }
    return out


def _weights(incidents, weights) -> np.ndarray | None:
    if weights is None:
        return None
    w = incidents[weights].to_numpy(float) if isinstance(weights, str) else np.asarray(weights, float)
    check_same_length(incidents=incidents, weights=w)
    return w


def segment_gistar(incidents: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *,
                   tolerance_m: float = STREET_TOLERANCE_M, snap_m: float = SNAP_M,
                   fdr: bool = True, weights=None) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* of incidents per segment over network contiguity, with FDR bins.

    Parameters
    ----------
    incidents, streets, tolerance_m, weights
        As in ``segment_counts``.
    snap_m : float, default 0.5
        Ends closer than this are one node (``network``).
    fdr : bool, default True
        Benjamini-Hochberg correction before binning (``layers.hotspots.fdr_bins``).

    Returns
    -------
    GeoDataFrame
        ``segment_counts`` plus ``z`` (Gi* z-score), ``p`` (two-sided), ``p_adj`` (BH-adjusted,
        or ``p`` when ``fdr=False``) and ``bin`` (int -3..+3, 99/95/90 %). ``attrs["vigie"]``
        adds ``neighbourhood`` ("network"), ``snap_m``, ``fdr``.

    Notes
    -----
    The weights are binary, each segment included, neighbours the segments sharing one of its
    ends (``segment_neighbours``); the statistic is ``layers.hotspots.gistar_z``, equal to
    ``esda.G_Local(n, w, star=True, transform="B", permutations=0).Zs`` with the same ``w``.
    Raw counts are used, not counts per 100 m: a long segment holds more places and more
    people, as a large cell would.
    """
    counts = segment_counts(incidents, streets, tolerance_m=tolerance_m, weights=weights)
    return segment_gistar_counts(counts, snap_m=snap_m, fdr=fdr)


def segment_gistar_counts(counts: gpd.GeoDataFrame, *, snap_m: float = SNAP_M,
                          fdr: bool = True) -> gpd.GeoDataFrame:
    """``segment_gistar`` of segments whose column ``n`` already holds the counts
    (``segment_counts`` / ``segment_counts_xy``): a copy with ``z``, ``p``, ``p_adj``, ``bin``."""
    _check_streets(counts)
    if "n" not in counts:
        raise InputError("The street counts have no column 'n': count with segment_counts first.")
    out = counts.copy()
    out.attrs = {"vigie": dict(counts.attrs.get("vigie", {}))}
    w = segment_neighbours(out, snap_m=snap_m)
    z, p = gistar_z(out["n"].to_numpy(float), w)
    out["z"] = z
    out["p"] = p
    out["p_adj"] = bh_adjust(p) if fdr else p
    out["bin"] = fdr_bins(z, p, alpha_levels=ALPHA_LEVELS, fdr=fdr)
    out.attrs["vigie"].update({"neighbourhood": "network", "snap_m": float(snap_m), "fdr": bool(fdr)})
    return out


def concentration(n, *, shares=(0.01, 0.02, 0.05, 0.10, 0.25, 0.50)) -> dict:
    """The concentration curve of counts over places (segments or cells).

    Parameters
    ----------
    n : array-like of float
        Incidents per place (``segment_counts(...)["n"]``), all places included, even empty ones.
    shares : tuple of float
        Shares of places (0..1] at which to read the curve.

    Returns
    -------
    dict
        ``places`` (number), ``incidents`` (total), ``curve``: list of ``{"share_places",
        "share_incidents"}`` at each of ``shares`` (the top places, ranked by count),
        ``share_places_50`` and ``share_places_100`` (smallest share of places holding 50 % and
        100 % of incidents), ``places_50``, ``places_100`` (their numbers), ``points``: the
        whole curve as two lists (``x`` share of places, ``y`` share of incidents) of at most
        101 points, for a chart.

    Notes
    -----
    Weisburd (2015) reads the law of crime concentration from the share of street segments
    holding 50 % and 100 % of incidents (about 4 % and 15-25 % in the cities he reviews). The
    top ``k`` places are ``ceil(share * places)``.

    Examples
    --------
    >>> c = concentration([6, 2, 1, 1, 0, 0, 0, 0, 0, 0])
    >>> c["share_places_50"], c["share_places_100"]
    (0.1, 0.4)
    """
    v = np.sort(np.asarray(n, dtype=float).ravel())[::-1]
    if len(v) == 0:
        raise InputError("There are no places to measure concentration on.")
    if (v < 0).any() or not np.isfinite(v).all():
        raise ParameterError("counts must be finite and non-negative.", "n")
    total = float(v.sum())
    m = len(v)
    cum = np.cumsum(v)
    share_inc = cum / total if total > 0 else np.zeros(m)
    curve = []
    for s in shares:
        s = float(s)
        if not 0 < s <= 1:
            raise ParameterError(f"shares must lie in (0, 1], got {s!r}.", "shares")
        k = max(1, int(np.ceil(s * m - 1e-9)))
        curve.append({"share_places": s, "share_incidents": float(share_inc[k - 1])})

    def holding(q):
        if total <= 0:
            return 0
        return int(np.searchsorted(cum, q * total - 1e-9 * total) + 1)

    k50, k100 = holding(0.5), holding(1.0)
    idx = np.unique(np.linspace(0, m, min(m, 100) + 1).round().astype(int))
    x = (idx / m).tolist()
    y = [0.0 if k == 0 else float(share_inc[k - 1]) for k in idx]
    return {
        "places": m,
        "incidents": total,
        "curve": curve,
        "places_50": k50,
        "places_100": k100,
        "share_places_50": k50 / m,
        "share_places_100": k100 / m,
        "points": {"x": x, "y": y},
    }


def intersections(streets: gpd.GeoDataFrame, *, snap_m: float = SNAP_M) -> gpd.GeoDataFrame:
    """The street nodes that are micro-places of their own: intersections.

    A node is an intersection when the segments meeting there belong to at least two different
    streets (two distinct non-empty ``name`` values: a crossing, a T-junction, a street changing
    name) or when at least three segments meet there (a fork of one street, unnamed ways).

    Parameters
    ----------
    streets : GeoDataFrame
        The segments (LineStrings, metric CRS), with a ``name`` column (empty or missing names
        allowed).
    snap_m : float, default 0.5
        Ends closer than this many metres are one node (``network``).

    Returns
    -------
    GeoDataFrame
        One Point per intersection, in the streets' CRS, ordered by node id, with ``node``
        (the node id of ``network``), ``degree`` (segment ends meeting there), ``streets`` (the
        distinct non-empty street names, the longest street in the network first, a list) and
        ``segments`` (positions in ``streets`` of the segments meeting there, a list). The point
        is the mean of the segment ends forming the node.

    Examples
    --------
    Two streets crossing at (100, 0): one intersection of degree 4.

    >>> import geopandas as gpd, shapely
    >>> s = gpd.GeoDataFrame({"name": ["A", "A", "B", "B"]}, geometry=[
    ...     shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (200, 0)]),
    ...     shapely.LineString([(100, -80), (100, 0)]), shapely.LineString([(100, 0), (100, 90)])],
    ...     crs=2154)
    >>> x = intersections(s)
    >>> len(x), int(x["degree"].iloc[0]), x["streets"].iloc[0]
    (1, 4, ['A', 'B'])
    """
    _check_streets(streets)
    net = network(streets, snap_m=snap_m)
    names = (streets["name"].fillna("").astype(str).str.strip().to_numpy() if "name" in streets
             else np.array([""] * len(streets), dtype=object))
    n = len(net)
    g = np.asarray(streets.geometry.values)
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(g, 0)),
                      shapely.get_coordinates(shapely.get_point(g, -1))])
    node = np.concatenate([net["from_node"].to_numpy(), net["to_node"].to_numpy()])
    seg = np.concatenate([np.arange(n), np.arange(n)])
    length = net["length_m"].to_numpy()
    street_len: dict = {}
    for name, ln in zip(names, length):
        street_len[name] = street_len.get(name, 0.0) + float(ln)
    order = np.argsort(node, kind="stable")
    node, seg, ends = node[order], seg[order], ends[order]
    starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
    stops = np.r_[starts[1:], len(node)]
    rows = []
    for a, b in zip(starts, stops):
        segs = seg[a:b]
        named = sorted({names[i] for i in segs if names[i]}, key=lambda s: (-street_len[s], s))
        if len(named) >= 2 or b - a >= 3:
            xy = ends[a:b].mean(axis=0)
            rows.append((int(node[a]), int(b - a), named, sorted({int(i) for i in segs}), xy[0], xy[1]))
    cols = list(zip(*rows)) if rows else [[], [], [], [], [], []]
    out = gpd.GeoDataFrame(
        {"node": np.asarray(cols[0], dtype=np.int64), "degree": np.asarray(cols[1], dtype=np.int64),
         "streets": list(cols[2]), "segments": list(cols[3])},
        geometry=gpd.points_from_xy(np.asarray(cols[4], float), np.asarray(cols[5], float)), crs=streets.crs,
    )
    out.attrs["vigie"] = {"snap_m": float(snap_m)}
    return out


def micro_counts_xy(x, y, streets: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, *,
                    tolerance_m: float = STREET_TOLERANCE_M, radius_m: float = INTERSECTION_RADIUS_M,
                    weights=None, tree: SegmentIndex | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Incidents per micro-place — street segments and intersections — each counted once.

    An incident within ``radius_m`` of an intersection counts at the nearest such
    intersection and not at any segment; otherwise at its nearest segment within
    ``tolerance_m`` (``assign_xy``); otherwise it is off-network.

    Parameters
    ----------
    x, y : array-like of float
        Incident coordinates in the streets' metric CRS (metres).
    streets : GeoDataFrame
        The segments (LineStrings, metric CRS).
    nodes : GeoDataFrame
        The intersections (``intersections(streets)``), same CRS.
    tolerance_m : float, default 30
        Assignment tolerance to segments, metres.
    radius_m : float, default 15
        Radius around an intersection, metres; 0 counts every incident at a segment.
    weights : array-like, optional
        One weight per incident (default 1 each).
    tree : SegmentIndex, optional
        The segments prepared once (the fast path of repeated calls).

    Returns
    -------
    segment_n : ndarray
        Incidents per segment (in the order of ``streets``), those counted at an intersection
        left out.
    node_n : ndarray
        Incidents per intersection (in the order of ``nodes``).
    meta : dict
        ``n_incidents``, ``n_segments`` (counted at segments), ``n_intersections`` (counted at
        intersections), ``n_off_network``, ``tolerance_m``, ``radius_m``. The three counts add
        up to ``n_incidents``.

    Notes
    -----
    Corners are where many incidents are recorded (the address of a crossing, a bar on a
    corner); counting them at the intersection keeps them from being split arbitrarily between
    the two to four segments that meet there (Weisburd 2015 treats street segments and
    intersections as the micro-places of crime concentration). An incident on a segment
    further than ``radius_m`` from both its ends counts at the segment.
    """
    _check_streets(streets)
    tolerance_m = positive_number(tolerance_m, "tolerance_m", unit="metres")
    if isinstance(radius_m, bool) or not isinstance(radius_m, (int, float, np.floating)) \
            or not np.isfinite(radius_m) or radius_m < 0:
        raise ParameterError(f"radius_m must be a number of metres (0 or more), got {radius_m!r}.", "radius_m")
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    check_same_length(x=x, y=y)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float).ravel()
    check_same_length(x=x, weights=w)
    at_node = np.full(len(x), -1, dtype=np.int64)
    ok = np.isfinite(x) & np.isfinite(y)
    if len(nodes) and radius_m > 0 and ok.any():
        nxy = shapely.get_coordinates(np.asarray(nodes.geometry.values))
        d, i = cKDTree(nxy).query(np.c_[x[ok], y[ok]], k=1, distance_upper_bound=float(radius_m))
        hit = np.isfinite(d)
        rows = np.flatnonzero(ok)
        at_node[rows[hit]] = i[hit]
    rest = at_node < 0
    seg = np.full(len(x), -1, dtype=np.int64)
    if rest.any():
        seg[rest], _ = assign_xy(x[rest], y[rest], streets, tolerance_m=tolerance_m, tree=tree)
    on_seg = seg >= 0
    on_node = ~rest
    segment_n = np.bincount(seg[on_seg], weights=w[on_seg], minlength=len(streets))
    node_n = np.bincount(at_node[on_node], weights=w[on_node], minlength=len(nodes))
    if weights is None:
        segment_n, node_n = segment_n.astype(np.int64), node_n.astype(np.int64)
    meta = {"n_incidents": int(len(x)), "n_segments": int(on_seg.sum()), "n_intersections": int(on_node.sum()),
            "n_off_network": int(len(x) - on_seg.sum() - on_node.sum()), "tolerance_m": float(tolerance_m),
            "radius_m": float(radius_m)}
    return segment_n, node_n, meta
