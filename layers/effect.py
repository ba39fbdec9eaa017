"""Did an action on a place work? Before/after counts in the place, its displacement ring and an
automatically chosen control area, tested with the WDD (``layers.wdd``).

The control is the place's own shape moved elsewhere: candidates are translations of the place
on a lattice (so every area has the same size and the area weights are 1), far enough not to
share the ring, and the one whose before-period count and trend are closest to the place's is
chosen (same incidents: the caller passes the targeted categories and hours only).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy import special
from shapely import affinity

from layers.checks import check_same_length, positive_number
from layers.errors import InputError, ParameterError
from layers.places import ring
from layers.wdd import wdd, wdq

__all__ = ["EVALUATION_MIN_DAYS", "evaluate_place"]

#: an action is evaluated once its after-period is at least this many days long
EVALUATION_MIN_DAYS = 90

_DAY_NS = 86_400 * 10 ** 9


def _count(x, y, geom) -> np.ndarray:
    shapely.prepare(geom)
    return shapely.contains_xy(geom, x, y)


def evaluate_place(x, y, t, geometry, *, start, end=None, now, ring_m: float = 150.0,
                   min_after_days: int = EVALUATION_MIN_DAYS, max_days: int = 365,
                   search_m: float = 4000.0, step_m: float | None = None, alpha: float = 0.1,
                   control=None) -> dict:
    """Before/after WDD evaluation of an action on a place.

    Parameters
    ----------
    x, y : array-like of float
        The targeted incidents (categories and hours already selected), metric CRS.
    t : array-like of int64 or datetime64[ns]
        Their times (UTC nanoseconds).
    geometry : shapely Polygon
        The treated place, same CRS.
    start, end : str or Timestamp
        The action's dates: before = the ``L`` days up to ``start``, after = the ``L`` days from
        ``end`` (or ``start``), ``L`` = days from then to ``now``, at most ``max_days``.
    now : str or Timestamp
        The end of the data (the latest incident's day, usually).
    ring_m : float, default 150
        Width of the displacement ring.
    min_after_days : int, default 90
        Shorter after-periods are not evaluated (``status`` ``too_early``).
    search_m, step_m : float
        Control candidates are the place moved by multiples of ``step_m`` (default: twice the
        place's size plus the ring) within ``search_m``, never closer than twice the ring.
    alpha : float, default 0.1
        Level of the WDD's confidence interval and of the verdict.
    control : shapely Polygon, optional
        A control area given by the user instead of the automatic one.

    Returns
    -------
    dict
        ``status`` (``evaluated`` or ``too_early``), ``days`` (``L``), ``before``/``after``
        (ISO dates), ``counts`` (``treated``, ``ring``, ``control``, ``control_ring``: pairs
        before/after), ``control`` (its geometry, WKT), ``control_auto``, ``wdd`` (``layers.wdd.wdd``),
        ``wdq`` (``layers.wdd.wdq``), ``verdict`` (``down``: significant fall beyond the
        control, ``up``, ``no_effect``), ``displacement`` (``displacement``, ``diffusion``,
        ``none``: the ring's WDD term read with its own z at ``alpha``), ``change_local``
        (relative change in the place, control-adjusted: ``Ta/Tb / (Ca/Cb) - 1``).
    """
    import pandas as pd

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    t = np.asarray(t).astype("datetime64[ns]").astype(np.int64)
    check_same_length(x=x, y=y, t=t)
    if geometry is None or shapely.is_empty(geometry):
        raise InputError("The place has no geometry.")
    ring_m = positive_number(ring_m, "ring_m", unit="metres")
    t_start = pd.Timestamp(start, tz="UTC") if pd.Timestamp(start).tzinfo is None else pd.Timestamp(start)
    t_end = pd.Timestamp(end, tz="UTC") if end is not None and pd.Timestamp(end).tzinfo is None else (
        pd.Timestamp(end) if end is not None else t_start)
    t_now = pd.Timestamp(now, tz="UTC") if pd.Timestamp(now).tzinfo is None else pd.Timestamp(now)
    if t_end < t_start:
        raise ParameterError("the action ends before it starts.", "end")
    days = int(min(max_days, math.floor((t_now - t_end) / pd.Timedelta(days=1))))
    out = {"status": "too_early", "days": max(days, 0)}
    if days < int(min_after_days):
        return out
    b0, b1 = (t_start - pd.Timedelta(days=days)).value, t_start.value
    a0, a1 = t_end.value, (t_end + pd.Timedelta(days=days)).value
    before = (t >= b0) & (t < b1)
    after = (t >= a0) & (t < a1)

    def pair(geom):
        # bounding-box first: a place holds a handful of the city's incidents
        x0, y0, x1, y1 = geom.bounds
        box = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        inside = box[_count(x[box], y[box], geom)]
        return int(before[inside].sum()), int(after[inside].sum())

    place_ring = ring(geometry, ring_m)
    treated, disp = pair(geometry), pair(place_ring)
    auto = control is None
    if auto:
        control = _choose_control(x, y, t, geometry, ring_m=ring_m, b0=b0, b1=b1, search_m=search_m,
                                  step_m=step_m, target=treated[0])
        if control is None:
            raise InputError("No control area could be found around the place (no candidate with "
                             "incidents before the action within the search distance).")
    ctrl, ctrl_ring = pair(control), pair(ring(control, ring_m))
    test = wdd(ctrl, treated, ctrl_ring, disp, alpha=alpha)
    quotient = wdq(ctrl, treated, disp) if ctrl[0] > 0 else None
    if test["high_ci"] < 0:
        verdict = "down"
    elif test["low_ci"] > 0:
        verdict = "up"
    else:
        verdict = "no_effect"
    z_disp = test["est_displace"] / test["se_displace"] if test["se_displace"] > 0 else 0.0
    crit = math.sqrt(2.0) * float(special.erfcinv(alpha))
    displacement = "displacement" if z_disp > crit else ("diffusion" if z_disp < -crit else "none")
    change = None
    if treated[0] > 0 and ctrl[0] > 0 and ctrl[1] > 0:
        change = (treated[1] / treated[0]) / (ctrl[1] / ctrl[0]) - 1
    out.update(
        status="evaluated",
        before=(pd.Timestamp(b0, tz="UTC").date().isoformat(), t_start.date().isoformat()),
        after=(t_end.date().isoformat(), pd.Timestamp(a1, tz="UTC").date().isoformat()),
        counts={"treated": treated, "ring": disp, "control": ctrl, "control_ring": ctrl_ring},
        control=control.wkt, control_auto=auto, wdd=test, wdq=quotient, verdict=verdict,
        displacement=displacement, change_local=change,
    )
    return out


def _choose_control(x, y, t, geometry, *, ring_m, b0, b1, search_m, step_m, target):
    """The translated copy of ``geometry`` whose before-period count and trend (second half
    minus first half) are closest to the place's; None when no candidate has incidents."""
    minx, miny, maxx, maxy = geometry.bounds
    size = max(maxx - minx, maxy - miny)
    step = float(step_m) if step_m else 2 * size + 2 * ring_m
    k = max(1, int(search_m // step))
    mid = (b0 + b1) // 2
    sel = (t >= b0) & (t < b1)
    xs, ys, ts = x[sel], y[sel], t[sel]
    place_first = int((_count(xs, ys, geometry) & (ts < mid)).sum())
    place_trend = (target - place_first) - place_first
    keep_out = geometry.buffer(2 * ring_m)
    # the candidates are translations by multiples of ``step`` > the place's size, so a point
    # lies in at most one of them: bring each point back by its lattice offset and test it
    # against the place itself, once (O(n) whatever the number of candidates)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = (k + 0.5) * step
    win = (np.abs(xs - cx) <= half) & (np.abs(ys - cy) <= half)
    xs, ys, ts = xs[win], ys[win], ts[win]
    i = np.rint((xs - cx) / step).astype(np.int64)
    j = np.rint((ys - cy) / step).astype(np.int64)
    near = ~((i == 0) & (j == 0))
    i, j, ts_n = i[near], j[near], ts[near]
    inside = _count(xs[near] - i * step, ys[near] - j * step, geometry)
    i, j, early = i[inside], j[inside], ts_n[inside] < mid
    side = 2 * k + 1
    key = (i + k) * side + (j + k)
    n_all = np.bincount(key, minlength=side ** 2)
    n_first = np.bincount(key[early], minlength=side ** 2)
    trend = (n_all - n_first) - n_first
    score = (np.abs(n_all - target) + 0.5 * np.abs(trend - place_trend)) / max(target, 1)
    best = None
    for kk in sorted(np.flatnonzero(n_all), key=lambda q: (score[q], q)):
        cand = affinity.translate(geometry, (kk // side - k) * step, (kk % side - k) * step)
        if not cand.intersects(keep_out):
            best = cand
            break
    return best
