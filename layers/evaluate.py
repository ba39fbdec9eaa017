"""How well do hotspot maps predict? Hit rate, PAI, PEI, RRI and rolling-origin backtests.

A hotspot map flags a set of cells covering a share ``a/A`` of the study area. Scored on the
incidents of the next period:

- hit rate ``n/N``: share of the next period's incidents that fall in the flagged cells;
- PAI ``(n/N)/(a/A)`` (Chainey, Tompson & Uhlig 2008): hit rate per unit of area share;
- PEI ``PAI / PAI*`` (Hunt 2016; Chainey 2013): PAI over the best PAI achievable with the same
  area, i.e. ``n / n*`` where ``n*`` is the most incidents any cells of that area held;
- RRI ``(n2/n1)/(N2/N1)`` (Levine 2008): recapture rate index, the flagged cells' incidents in
  the test period relative to the fitting period, scaled by the change of the totals.

``backtest`` runs this month after month ("rolling origin") for several methods and coverages;
``backtest_segments`` does the same with street segments as the units, flagging top segments
whose footprint (length x width) covers the same share of the study area, so that street and
grid hotspots compare at the same covered area; ``recommend_method`` reads the results and says
which method a council should use.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.checks import check_geodataframe, check_metric, check_same_length
from layers.errors import InputError, ParameterError

__all__ = [
    "METHODS",
    "ProspectiveParams",
    "SEGMENT_METHODS",
    "backtest",
    "backtest_segments",
    "backtest_summary",
    "flag_top_cells",
    "hit_rate",
    "pai",
    "pei",
    "prospective_scores",
    "recommend_method",
    "rri",
]

#: forecasting methods known to ``backtest``
METHODS = ("previous", "kde", "gistar", "prospective")
#: forecasting methods known to ``backtest_segments`` (the same rules on street segments)
SEGMENT_METHODS = ("previous", "gistar")


def _arr(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ParameterError(f"{name} must be one value per cell.", name)
    return a


def hit_rate(flagged, counts) -> float:
    """Share of incidents falling in the flagged cells, ``n / N``.

    Parameters
    ----------
    flagged : array_like of bool
        One flag per cell.
    counts : array_like of float
        Incidents per cell in the evaluated period.

    Returns
    -------
    float
        ``n / N`` in [0, 1]; NaN when ``N`` is 0.

    References
    ----------
    Chainey, S., Tompson, L., & Uhlig, S. (2008). The utility of hotspot mapping for predicting
    spatial patterns of crime. *Security Journal*, 21(1-2), 4-28.
    """
    f = np.asarray(flagged, dtype=bool)
    c = _arr(counts, "counts")
    check_same_length(flagged=f, counts=c)
    total = c.sum()
    return float(c[f].sum() / total) if total > 0 else float("nan")


def pai(flagged, counts, areas) -> float:
    """Predictive Accuracy Index ``(n/N) / (a/A)``.

    Parameters
    ----------
    flagged : array_like of bool
        One flag per cell.
    counts : array_like of float
        Incidents per cell in the evaluated period.
    areas : array_like of float
        Area of each cell (any unit; only ratios matter).

    Returns
    -------
    float
        PAI (1 = no better than chance); NaN when ``N`` or ``a`` is 0.

    References
    ----------
    Chainey, S., Tompson, L., & Uhlig, S. (2008). The utility of hotspot mapping for predicting
    spatial patterns of crime. *Security Journal*, 21(1-2), 4-28.
    """
    f = np.asarray(flagged, dtype=bool)
    a = _arr(areas, "areas")
    c = _arr(counts, "counts")
    check_same_length(flagged=f, counts=c, areas=a)
    share = a[f].sum() / a.sum()
    h = hit_rate(f, c)
    return float(h / share) if share > 0 and not np.isnan(h) else float("nan")


def _best_count(counts: np.ndarray, areas: np.ndarray, area: float) -> float:
    """Most incidents any cells of total area ``area`` can hold (fractional knapsack bound).

    Exact for equal-area cells when ``area`` is a whole number of cells."""
    with np.errstate(invalid="ignore", divide="ignore"):
        density = np.where(areas > 0, counts / areas, 0.0)
    order = np.argsort(-density, kind="stable")
    ca = np.cumsum(areas[order])
    cc = np.cumsum(counts[order])
    k = np.searchsorted(ca, area, side="right")  # cells fully inside the budget
    best = cc[k - 1] if k > 0 else 0.0
    if k < len(order):
        left = area - (ca[k - 1] if k > 0 else 0.0)
        best += density[order[k]] * max(left, 0.0)
    return float(best)


def pei(flagged, counts, areas) -> float:
    """Predictive Efficiency Index: PAI over the best PAI possible with the same area.

    Parameters
    ----------
    flagged, counts, areas : array_like
        As in :func:`pai`.

    Returns
    -------
    float
        ``n / n*`` in [0, 1], where ``n*`` is the most incidents of the evaluated period that
        cells of the flagged total area could hold (the densest cells first; the last one
        pro rata when cell areas differ). NaN when ``n*`` is 0.

    References
    ----------
    Hunt, J. M. (2016). Do crime hot spots move? Exploring the effects of the modifiable areal
    unit problem and modifiable temporal unit problem on crime hot spot stability. PhD thesis,
    American University (defines PEI). Chainey, S. (2013). Examining the influence of cell
    size and bandwidth size on kernel density estimation crime hotspot maps for predicting
    spatial patterns of crime. *Bulletin of the Geographical Society of Liege*, 60, 7-19.
    """
    f = np.asarray(flagged, dtype=bool)
    a = _arr(areas, "areas")
    c = _arr(counts, "counts")
    check_same_length(flagged=f, counts=c, areas=a)
    best = _best_count(c, a, a[f].sum())
    return float(c[f].sum() / best) if best > 0 else float("nan")


def rri(flagged, counts_fit, counts_test) -> float:
    """Recapture Rate Index ``(n2/n1) / (N2/N1)``.

    Parameters
    ----------
    flagged : array_like of bool
        Flagged cells (made from the fitting period).
    counts_fit : array_like of float
        Incidents per cell in the fitting period (``n1`` in the flagged cells, ``N1`` in all).
    counts_test : array_like of float
        Incidents per cell in the test period (``n2``, ``N2``).

    Returns
    -------
    float
        RRI; above 1 the flagged cells kept more than their share of incidents. NaN when
        ``n1``, ``N1`` or ``N2`` is 0.

    References
    ----------
    Levine, N. (2008). The "hottest" part of a hotspot: comments on "The utility of hotspot
    mapping for predicting spatial patterns of crime". *Security Journal*, 21(4), 295-302.
    """
    f = np.asarray(flagged, dtype=bool)
    c1 = _arr(counts_fit, "counts_fit")
    c2 = _arr(counts_test, "counts_test")
    check_same_length(flagged=f, counts_fit=c1, counts_test=c2)
    n1, n2, t1, t2 = c1[f].sum(), c2[f].sum(), c1.sum(), c2.sum()
    if n1 <= 0 or t1 <= 0 or t2 <= 0:
        return float("nan")
    return float((n2 / n1) / (t2 / t1))


def flag_top_cells(scores, areas, *, coverage: float) -> np.ndarray:
    """Flag the highest-scoring cells until they cover ``coverage`` of the total area.

    Cells are taken by decreasing score (ties: lower position first) while the flagged area
    stays within ``coverage * A``; at least one cell is flagged. Cells with a NaN score are
    never flagged.

    Returns
    -------
    ndarray of bool
    """
    if not 0 < coverage < 1:
        raise ParameterError(f"coverage must be a share of the area in (0, 1), got {coverage}.", "coverage")
    s = _arr(scores, "scores")
    a = _arr(areas, "areas")
    check_same_length(scores=s, areas=a)
    s = np.where(np.isnan(s), -np.inf, s)
    order = np.argsort(-s, kind="stable")
    ca = np.cumsum(a[order])
    k = max(int(np.searchsorted(ca, coverage * a.sum() * (1 + 1e-9), side="right")), 1)
    out = np.zeros(len(s), dtype=bool)
    chosen = order[:k]
    out[chosen[np.isfinite(s[chosen])]] = True
    return out


# --------------------------------------------------------------------------- prospective


@dataclass(frozen=True)
class ProspectiveParams:
    """Parameters of prospective hotspotting (Bowers, Johnson & Pease 2004).

    Attributes
    ----------
    bandwidth_m : float, default 400
        Neighbourhood radius in metres (centroid to centroid).
    bandwidth_weeks : int, default 8
        Only incidents of the last ``bandwidth_weeks`` weeks before the forecast count.
    """

    bandwidth_m: float = 400.0
    bandwidth_weeks: int = 8

    def __post_init__(self):
        if not (self.bandwidth_m > 0):
            raise ParameterError("bandwidth_m must be a positive number of metres.", "bandwidth_m")
        if int(self.bandwidth_weeks) < 1:
            raise ParameterError("bandwidth_weeks must be at least 1.", "bandwidth_weeks")


def _distance_weights(cx: np.ndarray, cy: np.ndarray, cell_size: float, radius: float):
    """Sparse ``1 / (1 + d)`` with ``d`` the centroid distance in whole cells (rounded), <= radius."""
    from scipy import sparse
    from scipy.spatial import cKDTree

    xy = np.column_stack([cx, cy])
    pairs = cKDTree(xy).query_pairs(radius * (1 + 1e-9), output_type="ndarray")
    n = len(xy)
    d = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T) if len(pairs) else np.zeros(0)
    w = 1.0 / (1.0 + np.round(d / cell_size))
    i = np.r_[pairs[:, 0], pairs[:, 1], np.arange(n)] if len(pairs) else np.arange(n)
    j = np.r_[pairs[:, 1], pairs[:, 0], np.arange(n)] if len(pairs) else np.arange(n)
    v = np.r_[w, w, np.ones(n)] if len(pairs) else np.ones(n)
    return sparse.csr_matrix((v, (i, j)), shape=(n, n))


def prospective_scores(cell, times_ns, *, at_ns: int, dist_weights, params: ProspectiveParams):
    """Prospective risk of each cell at instant ``at_ns`` (Bowers et al. 2004).

    ``score_c = sum over incidents e of 1/(1 + d(c, e)) * 1/(1 + age_e)`` where ``d`` is the
    distance in cells from ``c`` to the cell of ``e`` (within ``bandwidth_m``) and ``age`` the
    whole weeks between ``e`` and ``at`` (incidents of the last ``bandwidth_weeks`` weeks).
    """
    week = 7 * 86_400 * 10**9
    age = (at_ns - times_ns) // week
    ok = (cell >= 0) & (times_ns < at_ns) & (age < params.bandwidth_weeks)
    cw = np.bincount(cell[ok], weights=1.0 / (1.0 + age[ok]), minlength=dist_weights.shape[0])
    return dist_weights @ cw


# --------------------------------------------------------------------------- backtest


def _check_backtest_options(methods, known, coverages, min_history, history):
    methods = tuple(methods)
    unknown = [m for m in methods if m not in known]
    if unknown or not methods:
        raise ParameterError(
            f"unknown method(s) {', '.join(unknown) or '(none given)'}; choose among {', '.join(known)}.",
            "methods",
        )
    try:
        coverages = tuple(float(c) for c in coverages)
    except (TypeError, ValueError):
        raise ParameterError("coverage must be shares of the area such as 0.05.", "coverage") from None
    for c in coverages:
        if not 0 < c < 1:
            raise ParameterError(f"coverage must be a share of the area in (0, 1), got {c}.", "coverage")
    if int(min_history) < 1 or int(history) < 1:
        raise ParameterError("min_history and history must be at least 1 period.", "min_history")
    return methods, coverages


def backtest(
    incidents: gpd.GeoDataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    cell_size: float | None = None,
    study_area=None,
    methods=METHODS,
    coverages=(0.01, 0.05, 0.10),
    period: str = "month",
    tz: str | ZoneInfo = "Europe/Paris",
    min_history: int = 3,
    history: int = 12,
    prospective: ProspectiveParams = ProspectiveParams(),
) -> pd.DataFrame:
    """Rolling-origin backtest of hotspot methods: fit on the past, score the next period.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points in a metric CRS with ``occurred_from``.
    grid : GeoDataFrame, optional
        Cells; default ``make_grid(study_area or incidents, cell_size=cell_size)``.
    cell_size : float, optional
        Metres; default automatic.
    study_area : GeoDataFrame or geometry, optional
        Area covered by the grid (its total area is ``A``).
    methods : sequence of str, default all of :data:`METHODS`
        ``previous`` (counts of the last period; ties broken by the history), ``kde`` (quartic
        KDE of the history at cell centres, bandwidth by ArcGIS's Silverman rule on the
        history), ``gistar`` (Gi* z of the history's counts, queen neighbours), ``prospective``
        (Bowers et al. 2004, see :class:`ProspectiveParams`).
    coverages : sequence of float, default (0.01, 0.05, 0.10)
        Shares of the study area flagged (top-ranked cells while within the share; at least
        one cell).
    period : str, default "month"
        Time step (:data:`layers.spacetime.PERIODS`).
    tz : str or ZoneInfo
        Time zone of the periods.
    min_history : int, default 3
        Periods of history before the first forecast.
    history : int, default 12
        Periods used to fit ``kde`` and ``gistar`` and as the fitting period of RRI.
    prospective : ProspectiveParams
        Radius (400 m) and time window (8 weeks) of prospective hotspotting.

    Returns
    -------
    DataFrame
        One row per (test period, method, coverage): ``period`` (label), ``method``,
        ``coverage``, ``area_share`` (flagged area / total), ``n_cells`` (flagged), ``n_test``
        (incidents of the test period, ``N``), ``n_hit`` (in the flagged cells, ``n``),
        ``hit_rate``, ``pai``, ``pei``, ``rri``. ``attrs["vigie"]``: the grid's choices,
        ``period``, ``history``, ``min_history``, ``prospective`` (dict), ``bandwidths``
        (KDE bandwidth per test period, m).

    Notes
    -----
    Each forecast uses only incidents before the test period's start. RRI's fitting period is
    the ``history`` window for every method, so RRIs compare across methods.

    References
    ----------
    Bowers, K. J., Johnson, S. D., & Pease, K. (2004). Prospective hot-spotting: the future of
    crime mapping? *British Journal of Criminology*, 44(5), 641-658.
    Chainey, S., Tompson, L., & Uhlig, S. (2008). *Security Journal*, 21(1-2), 4-28.
    Levine, N. (2008). *Security Journal*, 21(4), 295-302.
    Hunt, J. M. (2016). PhD thesis, American University (PEI).
    """
    from layers.grid import cell_index, make_grid, neighbours
    from layers.hotspots import gistar_z, kde_at, silverman_bandwidth
    from layers.spacetime import _area, _period_offsets, period_labels, space_time_cube

    check_geodataframe(incidents, of=" of points")
    check_metric(incidents, allow_none=False)
    methods, coverages = _check_backtest_options(methods, METHODS, coverages, min_history, history)
    if grid is None:
        grid = make_grid(_area(study_area, incidents), cell_size=cell_size)
    cube, labels, info = space_time_cube(incidents, grid, period=period, tz=tz)
    n_per = cube.shape[1]
    if n_per <= min_history:
        raise InputError(
            f"the incidents span {n_per} {period}(s): a backtest needs more than min_history="
            f"{min_history} periods (one to test at least)."
        )
    areas = grid.geometry.area.to_numpy()
    cent = grid.geometry.centroid
    cx, cy = cent.x.to_numpy(), cent.y.to_numpy()
    x, y = incidents.geometry.x.to_numpy(), incidents.geometry.y.to_numpy()
    cell = cell_index(grid, x, y)
    from layers.temporal import _check_tz

    tzinfo = _check_tz(tz)
    local = incidents["occurred_from"].dt.tz_convert(tzinfo)
    per = period_labels(local, period)
    first = period_labels(pd.Series([local.min()]), period)[0]
    t_idx = _period_offsets(per, first)
    times_ns = incidents["occurred_from"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
    starts_ns = (pd.DatetimeIndex(info["starts"]).tz_localize(tzinfo, ambiguous=False, nonexistent="shift_forward")
                 .tz_convert("UTC").as_unit("ns").asi8)
    w_queen = neighbours(grid)
    meta_cs = float(grid.attrs.get("vigie", {}).get("cell_size") or np.sqrt(np.median(areas)))
    dist_w = _distance_weights(cx, cy, meta_cs, prospective.bandwidth_m) if "prospective" in methods else None
    rows, bandwidths = [], {}
    for m in range(int(min_history), n_per):
        lo = max(0, m - int(history))
        fit = cube[:, lo:m].sum(axis=1).astype(float)
        test = cube[:, m].astype(float)
        scores = {}
        if "previous" in methods:
            prev = cube[:, m - 1].astype(float)
            scores["previous"] = prev + 0.5 * fit / (fit.max() + 1.0)
        if "kde" in methods:
            sel = (t_idx >= lo) & (t_idx < m)
            hist = incidents.iloc[np.flatnonzero(sel)]
            try:
                h = silverman_bandwidth(hist)
            except InputError:
                h = 2 * meta_cs
            bandwidths[labels[m]] = h
            scores["kde"] = kde_at(x[sel], y[sel], cx, cy, bandwidth=h)
        if "gistar" in methods:
            scores["gistar"] = gistar_z(fit, w_queen)[0]
        if "prospective" in methods:
            scores["prospective"] = prospective_scores(cell, times_ns, at_ns=int(starts_ns[m]),
                                                       dist_weights=dist_w, params=prospective)
        for method in methods:
            for cov in coverages:
                flagged = flag_top_cells(scores[method], areas, coverage=cov)
                rows.append({
                    "period": labels[m],
                    "method": method,
                    "coverage": cov,
                    "area_share": float(areas[flagged].sum() / areas.sum()),
                    "n_cells": int(flagged.sum()),
                    "n_test": int(test.sum()),
                    "n_hit": int(test[flagged].sum()),
                    "hit_rate": hit_rate(flagged, test),
                    "pai": pai(flagged, test, areas),
                    "pei": pei(flagged, test, areas),
                    "rri": rri(flagged, fit, test),
                })
    out = pd.DataFrame(rows)
    meta = dict(grid.attrs.get("vigie", {}))
    meta.update(period=period, history=int(history), min_history=int(min_history),
                prospective={"bandwidth_m": prospective.bandwidth_m,
                             "bandwidth_weeks": prospective.bandwidth_weeks,
                             "weight": "1/(1+distance in cells) * 1/(1+age in whole weeks)"},
                bandwidths=bandwidths, methods=list(methods), coverages=list(coverages))
    out.attrs["vigie"] = meta
    return out


def backtest_segments(
    incidents: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    *,
    study_area=None,
    methods=SEGMENT_METHODS,
    coverages=(0.01, 0.05, 0.10),
    period: str = "month",
    tz: str | ZoneInfo = "Europe/Paris",
    min_history: int = 3,
    history: int = 12,
    tolerance_m: float = 30.0,
    width_m: float | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest with street segments as the units, at the same covered area as
    the grid backtest (``backtest``).

    Parameters
    ----------
    incidents : GeoDataFrame
        Points in a metric CRS with ``occurred_from``; only those inside ``study_area`` count.
    streets : GeoDataFrame
        The segments (LineStrings, same CRS).
    study_area : GeoDataFrame or geometry, optional
        The area whose total ``A`` (m²) the coverages are shares of; default the convex hull of
        the incidents. Pass the grid backtest's study area to compare the two.
    methods : sequence of str, default ("previous", "gistar")
        ``previous`` (counts of the last period per segment, ties broken by the history) and
        ``gistar`` (Gi* z of the history's counts over network contiguity), the rules of
        ``backtest`` applied to segments.
    coverages : sequence of float, default (0.01, 0.05, 0.10)
        Shares of ``A`` flagged: top-ranked segments while the sum of their footprints stays
        within the share (at least one segment).
    period, tz, min_history, history
        As in ``backtest``.
    tolerance_m : float, default 30
        Incidents are assigned to their nearest segment within this distance, metres
        (``layers.streets.assign_xy``); the others are off-network and never hit.
    width_m : float, optional
        Footprint width of a segment, metres: a segment of length ``l`` covers ``l * width_m``
        m². Default ``2 * tolerance_m``, the corridor whose incidents it receives.

    Returns
    -------
    DataFrame
        The columns of ``backtest`` (``n_cells``: flagged segments; ``area_share``: their
        footprint over ``A``; ``n_test``: every incident of the test period in the study area,
        on the network or not) plus ``unit`` ("segments"), ``length_km`` (flagged length) and
        ``n_off_network`` (test incidents off the network). ``attrs["vigie"]``: ``period``,
        ``history``, ``min_history``, ``tolerance_m``, ``width_m``, ``study_area_m2``,
        ``methods``, ``coverages``.

    Notes
    -----
    ``PAI = (n/N) / (a/A)`` with ``a`` the flagged footprint and ``A`` the study area, as for
    grid cells (Chainey et al. 2008), so both PAIs answer the same question: how many times
    the average density does the flagged area hold. ``PEI = n / n*`` with ``n*`` the most test
    incidents any segments of the same footprint held (Hunt 2016): each unit is measured
    against its own best. Off-network incidents count in ``N`` (a segment map cannot hit them).

    References
    ----------
    Chainey, S., Tompson, L., & Uhlig, S. (2008). *Security Journal*, 21(1-2), 4-28.
    Hunt, J. M. (2016). PhD thesis, American University (PEI).
    Weisburd, D. (2015). The law of crime concentration and the criminology of place.
    *Criminology*, 53(2), 133-157.
    """
    import shapely

    from layers.hotspots import gistar_z
    from layers.spacetime import _label, _period_offsets, period_labels
    from layers.streets import assign_xy, segment_neighbours
    from layers.temporal import _check_tz

    check_geodataframe(incidents, of=" of points")
    check_metric(incidents, allow_none=False)
    methods, coverages = _check_backtest_options(methods, SEGMENT_METHODS, coverages, min_history, history)
    if streets is None or not len(streets):
        raise InputError("There are no street segments: import the street network first (layer kind 'streets').")
    if streets.crs is None or not streets.crs.equals(incidents.crs):
        raise InputError(f"The streets are in {streets.crs} but the incidents in {incidents.crs}: "
                         "reproject both to the analysis CRS first.")
    width = 2.0 * float(tolerance_m) if width_m is None else width_m
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not np.isfinite(width) or width <= 0:
        raise ParameterError(f"width_m must be a positive number of metres, got {width_m!r}.", "width_m")
    if study_area is None:
        zone = incidents.geometry.union_all().convex_hull
    elif isinstance(study_area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        zone = (study_area.to_crs(incidents.crs) if study_area.crs is not None else study_area).union_all()
    else:
        zone = study_area
    total_area = float(zone.area)
    if not total_area > 0:
        raise InputError("The study area has no area: give the study area (or more spread incidents).")
    g = np.asarray(incidents.geometry.values)
    x, y = shapely.get_x(g), shapely.get_y(g)
    keep = shapely.intersects_xy(zone, x, y) & incidents["occurred_from"].notna().to_numpy()
    inc = incidents[keep]
    x, y = x[keep], y[keep]
    if not len(inc):
        raise InputError("No incident with a date lies in the study area.")
    tzinfo = _check_tz(tz)
    local = inc["occurred_from"].dt.tz_convert(tzinfo)
    per = period_labels(local, period)
    first, last = per.min(), per.max()
    t_idx = _period_offsets(per, first)
    n_per = int(last.ordinal - first.ordinal + 1)
    if n_per <= min_history:
        raise InputError(
            f"the incidents span {n_per} {period}(s): a backtest needs more than min_history="
            f"{min_history} periods (one to test at least)."
        )
    labels = [_label(p, period) for p in pd.period_range(first, last, freq=first.freq)]
    seg, _ = assign_xy(x, y, streets, tolerance_m=tolerance_m)
    n_seg = len(streets)
    on = seg >= 0
    cube = np.bincount(seg[on] * n_per + t_idx[on], minlength=n_seg * n_per).reshape(n_seg, n_per)
    off = np.bincount(t_idx[~on], minlength=n_per)
    length = shapely.length(np.asarray(streets.geometry.values))
    foot = length * width
    # the off-network incidents as one unit of no footprint: in N, never flagged, never "best"
    areas = np.r_[foot, 0.0]
    w = segment_neighbours(streets) if "gistar" in methods else None
    rows = []
    for m in range(int(min_history), n_per):
        lo = max(0, m - int(history))
        fit = cube[:, lo:m].sum(axis=1).astype(float)
        test = np.r_[cube[:, m].astype(float), float(off[m])]
        scores = {}
        if "previous" in methods:
            scores["previous"] = cube[:, m - 1] + 0.5 * fit / (fit.max() + 1.0)
        if "gistar" in methods:
            scores["gistar"] = gistar_z(fit, w)[0]
        for method in methods:
            for cov in coverages:
                # flag_top_cells measures coverage against the sum of the footprints: rescale
                flagged = flag_top_cells(scores[method], foot, coverage=min(cov * total_area / foot.sum(), 1 - 1e-12)) \
                    if foot.sum() > cov * total_area else np.isfinite(scores[method])
                f = np.r_[flagged, False]
                a = float(foot[flagged].sum())
                n_hit, n_test = float(test[f].sum()), float(test.sum())
                hr = n_hit / n_test if n_test > 0 else float("nan")
                share = a / total_area
                best = _best_count(test, areas, a)
                rows.append({
                    "period": labels[m], "method": method, "coverage": cov, "area_share": share,
                    "n_cells": int(flagged.sum()), "n_test": int(n_test), "n_hit": int(n_hit),
                    "hit_rate": hr, "pai": hr / share if share > 0 and not np.isnan(hr) else float("nan"),
                    "pei": n_hit / best if best > 0 else float("nan"),
                    "rri": rri(flagged, fit, test[:-1]) if test[:-1].sum() > 0 else float("nan"),
                    "unit": "segments", "length_km": float(length[flagged].sum() / 1000.0),
                    "n_off_network": int(off[m]),
                })
    out = pd.DataFrame(rows)
    out.attrs["vigie"] = {"period": period, "history": int(history), "min_history": int(min_history),
                          "tolerance_m": float(tolerance_m), "width_m": float(width),
                          "study_area_m2": total_area, "methods": list(methods), "coverages": list(coverages)}
    return out


def backtest_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Mean hit rate, PAI, PEI and RRI per method and coverage over the test periods.

    Returns
    -------
    DataFrame
        Columns ``method``, ``coverage``, ``n_periods``, ``hit_rate``, ``pai``, ``pei``,
        ``rri`` (means, NaN-skipping), sorted by coverage then decreasing PEI.
    """
    need = {"method", "coverage", "hit_rate", "pai", "pei", "rri", "period"}
    if not need <= set(results.columns):
        raise InputError(f"backtest results need the columns {', '.join(sorted(need))}.")
    g = results.groupby(["method", "coverage"], sort=False)
    out = g[["hit_rate", "pai", "pei", "rri"]].mean()
    out.insert(0, "n_periods", g["period"].nunique())
    out = out.reset_index().sort_values(["coverage", "pei"], ascending=[True, False], kind="stable")
    return out.reset_index(drop=True)


#: simplest first: on a tie the council gets the method that is easiest to explain
_SIMPLICITY = ("previous", "kde", "gistar", "prospective")


def recommend_method(results: pd.DataFrame, *, tolerance: float = 0.01) -> tuple[str, str]:
    """Which method predicts the next period best, with the reason in plain words.

    The method with the highest mean PEI over all tested coverages wins; methods within
    ``tolerance`` of the best are a tie, and the simplest of them is chosen (previous period <
    KDE < Gi* < prospective).

    Returns
    -------
    (method, reason)
    """
    summary = backtest_summary(results)
    if summary.empty or summary["pei"].isna().all():
        raise InputError("the backtest scored no period: there is nothing to recommend yet.")
    by_method = summary.groupby("method")["pei"].mean().dropna()
    best_val = by_method.max()
    tied = [m for m in _SIMPLICITY if m in by_method.index and by_method[m] >= best_val - tolerance]
    method = tied[0]
    mid = summary[summary["method"] == method].sort_values("coverage")
    row = mid.iloc[len(mid) // 2]
    runner = by_method.drop(method).sort_values(ascending=False)
    reason = (
        f"{method} flags, in {row['coverage']:.0%} of the area, on average {row['hit_rate']:.0%} "
        f"of the next {results.attrs.get('vigie', {}).get('period', 'period')}'s incidents "
        f"(PAI {row['pai']:.1f}, PEI {row['pei']:.2f}, RRI {row['rri']:.2f}) over "
        f"{int(row['n_periods'])} tested periods; its mean PEI over all coverages is "
        f"{by_method[method]:.2f}"
    )
    if len(runner):
        reason += f" (next best: {runner.index[0]}, {runner.iloc[0]:.2f})"
    if len(tied) > 1:
        reason += f"; {', '.join(tied[1:])} did as well, and {method} is simpler to explain"
    if row["pai"] < 1.5:
        reason += "; predictions are weak (PAI under 1.5): treat the map as a guide, not a forecast"
    return method, reason + "."
