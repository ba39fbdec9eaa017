"""Near repeat: the Knox test over space and time bands, with Monte Carlo permutations.

Does one burglary announce others nearby in the following days? The Knox test counts pairs of
incidents that are close both in space (a distance band, metres) and in time (a band of days),
and compares each count with what shuffling the dates among the incidents gives (Knox 1964;
Johnson et al. 2007; Ratcliffe's Near Repeat Calculator).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from layers.checks import check_columns, check_geodataframe, check_metric, check_one_of
from layers.errors import InputError, ParameterError
from layers.temporal import _check_max_window, _check_tz, _windows

__all__ = ["knox_pairs", "knox_test", "parse_bands"]

_DAY = pd.Timedelta(days=1)


def parse_bands(value, *, param: str) -> np.ndarray:
    """Band edges from ``"0,100,200,400"`` or a sequence: at least two, increasing, >= 0.

    Raises ``ParameterError`` naming ``param``.
    """
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    else:
        items = list(value) if value is not None else []
    try:
        edges = np.array([float(v) for v in items], dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{param} must be numbers separated by commas such as 0,100,200,400; got '{value}'.",
            param,
        ) from None
    if len(edges) < 2:
        raise ParameterError(f"{param} needs at least two edges (e.g. 0,100), got {len(edges)}.", param)
    if not np.all(np.isfinite(edges)) or edges[0] < 0:
        raise ParameterError(f"{param} must be finite and not negative, got '{value}'.", param)
    if np.any(np.diff(edges) <= 0):
        raise ParameterError(f"{param} must be strictly increasing, got '{value}'.", param)
    return edges


def _band_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the band (lo, hi] holding each value; the first band also holds its lower edge.

    -1 outside every band.
    """
    idx = np.searchsorted(edges, values, side="left") - 1
    idx = np.where(values == edges[0], 0, idx)
    return np.where((idx < 0) | (idx >= len(edges) - 1), -1, idx)


def _prepare(incidents, *, tz, max_window, metric, space_edges):
    check_geodataframe(incidents, of=" of points")
    check_metric(incidents, allow_none=False)
    check_one_of(metric, ("euclidean", "manhattan"), "metric")
    tzinfo = _check_tz(tz)
    mw = _check_max_window(max_window)
    check_columns(incidents, ("occurred_from",), hint="dates are required")
    start, end, _ = _windows(incidents)
    keep = (end - start) <= mw.value
    geom = incidents.geometry.to_numpy()[keep]
    xy = np.column_stack([gpd.GeoSeries(geom).x.to_numpy(), gpd.GeoSeries(geom).y.to_numpy()])
    if len(xy) and not np.all(np.isfinite(xy)):
        raise InputError("some incidents have empty or non-point geometries; remove them first.")
    local = incidents["occurred_from"][keep].dt.tz_convert(tzinfo)
    days = (local.dt.tz_localize(None).dt.normalize() - pd.Timestamp("1970-01-01")) // _DAY
    return xy, days.to_numpy(dtype=np.int64), int((~keep).sum()), mw


def knox_pairs(xy: np.ndarray, *, max_distance: float, metric: str = "euclidean"):
    """All unordered pairs of points within ``max_distance`` (metres): ``(i, j, distance)``.

    Uses ``scipy.spatial.cKDTree.query_pairs`` (Minkowski p=2, or p=1 for Manhattan).
    """
    p = 2 if metric == "euclidean" else 1
    tree = cKDTree(xy)
    pairs = tree.query_pairs(r=max_distance, p=p, output_type="ndarray")
    if len(pairs) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    d = xy[i] - xy[j]
    dist = np.hypot(d[:, 0], d[:, 1]) if p == 2 else np.abs(d).sum(axis=1)
    return i, j, dist


def knox_test(
    incidents: gpd.GeoDataFrame,
    *,
    space_bands,
    time_bands,
    metric: str = "euclidean",
    iterations: int = 99,
    seed: int | None = 0,
    tz: str | ZoneInfo = "Europe/Paris",
    max_window: pd.Timedelta | str = _DAY,
) -> pd.DataFrame:
    """Knox test of near repeats: pairs close in space and time versus shuffled dates.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents in a metric CRS (metres) with ``occurred_from`` (and ``occurred_to``).
    space_bands : str or sequence of float
        Distance band edges in metres, e.g. ``"0,100,200,400"`` (three bands).
    time_bands : str or sequence of float
        Time band edges in days, e.g. ``"0,7,14,28"``.
    metric : {"euclidean", "manhattan"}
        Distance between two incidents.
    iterations : int, default 99
        Monte Carlo permutations of the dates among the incidents (1..9999).
    seed : int or None, default 0
        Seed of ``numpy.random.default_rng``; permutation ``k`` is the ``k``-th
        ``rng.permutation(n)``.
    tz : str or ZoneInfo
        Time zone in which the calendar date of each incident is read.
    max_window : Timedelta or str, default 1 day
        Incidents whose time window is longer (e.g. police.uk's month-only dates) have no usable
        date and are left out; their number is in ``attrs["excluded_long_windows"]``.

    Returns
    -------
    DataFrame
        One row per (space band, time band), space bands varying slowest, with columns
        ``space_from``, ``space_to`` (metres), ``time_from``, ``time_to`` (days), ``observed``
        (pairs in the band pair), ``expected`` (mean over permutations), ``knox_ratio``
        (observed / expected; NaN when expected is 0), ``p`` ((1 + number of permutations with a
        count >= observed) / (1 + iterations)), ``z`` ((observed - expected) / SD of the
        permuted counts). ``attrs``: ``n_incidents``, ``n_pairs`` (pairs within the largest
        distance), ``excluded_long_windows``, ``iterations``, ``seed``, ``metric``,
        ``band_convention``.

    Notes
    -----
    *Band edges.* A band ``lo..hi`` holds the pairs with ``lo < d <= hi``; the first band also
    holds ``d == lo`` (so 0 m, "same place", and 0 days, "same day", are in the first band).
    Time is the whole number of days between the local calendar dates of ``occurred_from``
    (two incidents on the same date are 0 days apart, Monday 23:00 and Tuesday 01:00 one day).
    With edges 0,7,14,28 the time bands are 0-7, 8-14 and 15-28 days: the first band holds
    eight day values and the others seven, as in Ratcliffe's Near Repeat Calculator ("0 to 7",
    "8 to 14"). Distances are continuous, so Vigie does not use the calculator's inclusive
    integer labels for metres ("1 to 100", "101 to 200"), under which a pair 100.4 m apart
    falls between two bands and pairs 0 m apart sit in a separate "same location" band: here
    100.4 m is in 100..200 and 0 m in the first band. Pairs beyond the last edge in space or
    in time are not counted.

    *Permutations.* Only pairs within the largest distance can fall in a band, and shuffling
    dates does not move incidents, so the pair list is built once with a KD-tree and each
    permutation re-indexes the dates on it: O(pairs) per permutation.

    References
    ----------
    Knox, G. (1964). The detection of space-time interactions. *Journal of the Royal
    Statistical Society, Series C*, 13(1), 25-30.

    Johnson, S. D., Bernasco, W., Bowers, K. J., et al. (2007). Space-time patterns of risk:
    a cross national assessment of residential burglary victimization. *Journal of
    Quantitative Criminology*, 23(3), 201-219.

    Ratcliffe, J. H. (2009). *Near Repeat Calculator* (version 1.3). Temple University,
    Philadelphia, and the National Institute of Justice, Washington DC.
    """
    s_edges = parse_bands(space_bands, param="space_bands")
    t_edges = parse_bands(time_bands, param="time_bands")
    try:
        iterations = int(iterations)
    except (TypeError, ValueError):
        raise ParameterError(f"iterations must be a whole number, got {iterations!r}.", "iterations") from None
    if not 1 <= iterations <= 9999:
        raise ParameterError(f"iterations must be between 1 and 9999, got {iterations}.", "iterations")
    xy, days, excluded, mw = _prepare(incidents, tz=tz, max_window=max_window, metric=metric,
                                      space_edges=s_edges)
    n = len(xy)
    if n < 2:
        raise InputError(
            f"the Knox test needs at least 2 incidents with a date known to within {mw}; "
            f"got {n} ({excluded} left out for a longer time window)."
        )
    i, j, dist = knox_pairs(xy, max_distance=s_edges[-1], metric=metric)
    sband = _band_index(dist, s_edges)
    ok = sband >= 0
    n_s, n_t = len(s_edges) - 1, len(t_edges) - 1
    n_cells = n_s * n_t
    # pairs grouped by space band (one slice each); day gaps are whole numbers, so
    # "gap <= edge" is "gap <= floor(edge)" and the first band's "gap >= lo" is
    # "not gap <= ceil(lo) - 1"
    order = np.argsort(sband[ok], kind="stable")
    i, j = i[ok][order].astype(np.intp), j[ok][order].astype(np.intp)
    bounds = np.searchsorted(sband[ok][order], np.arange(n_s + 1))
    upper = np.floor(t_edges[1:]).astype(np.int64)
    below = int(np.ceil(t_edges[0])) - 1
    span = int(days.max() - days.min())
    days_c = (days - days.min()).astype(np.int16 if span < 32000 else np.int32)

    def counts(d: np.ndarray) -> np.ndarray:
        gap = d.take(i)
        gap -= d.take(j)
        np.abs(gap, out=gap)
        out = np.empty((n_s, n_t), dtype=np.int64)
        for sb in range(n_s):
            g = gap[bounds[sb]:bounds[sb + 1]]
            cum = np.array([np.count_nonzero(g <= u) for u in upper])
            lo = np.count_nonzero(g <= below) if below >= 0 else 0
            out[sb] = np.diff(np.r_[lo, cum])
        return out.ravel()

    observed = counts(days_c)
    rng = np.random.default_rng(seed)
    sims = np.empty((iterations, n_cells), dtype=np.int64)
    for k in range(iterations):
        sims[k] = counts(days_c[rng.permutation(n)])
    expected = sims.mean(axis=0)
    sd = sims.std(axis=0, ddof=1) if iterations > 1 else np.full(n_cells, np.nan)
    ge = (sims >= observed).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
        z = np.where(sd > 0, (observed - expected) / sd, np.nan)
    si, ti = np.divmod(np.arange(n_cells), n_t)
    out = pd.DataFrame(
        {
            "space_from": s_edges[si],
            "space_to": s_edges[si + 1],
            "time_from": t_edges[ti],
            "time_to": t_edges[ti + 1],
            "observed": observed,
            "expected": expected,
            "knox_ratio": ratio,
            "p": (1 + ge) / (1 + iterations),
            "z": z,
        }
    )
    out.attrs.update(
        n_incidents=n,
        n_pairs=len(i),
        excluded_long_windows=excluded,
        iterations=iterations,
        seed=seed,
        metric=metric,
        band_convention="(lo, hi], first band includes lo; days = calendar-date difference",
    )
    return out
