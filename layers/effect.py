"""Did an action on a place work? Before/after counts in the place, its displacement ring and an
automatically chosen control area, tested with the WDD (``layers.wdd``).

The control is the place's own shape moved elsewhere: candidates are translations of the place
on a lattice (so every area has the same size and the area weights are 1), far enough not to
share the ring, and the one whose before-period count and trend are closest to the place's is
chosen (same incidents: the caller passes the targeted categories and hours only).

Many actions are evaluated over the same incidents (every done action of every place, on the
place page and in the monthly report): :class:`EffectIndex` sorts the incidents by x once, so
that each evaluation only reads the incidents of a few boxes (the place, its ring, the control
search window) instead of scanning the whole city several times.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from scipy import special
from shapely import affinity

from layers.checks import check_same_length, positive_number
from layers.errors import InputError, ParameterError
from layers.places import ring
from layers.wdd import wdd, wdq

__all__ = ["EVALUATION_ALPHA", "EVALUATION_MIN_DAYS", "EffectIndex", "evaluate_in", "evaluate_place"]

#: an action is evaluated once its after-period is at least this many days long (the
#: deployment's setting ``evaluation_min_days`` overrides it)
EVALUATION_MIN_DAYS = 90
#: level of the WDD's confidence interval and of the verdict (setting ``evaluation_alpha``)
EVALUATION_ALPHA = 0.1

_DAY = pd.Timedelta(days=1)


class EffectIndex:
    """The targeted incidents of an evaluation, sorted by x once for box queries.

    Parameters
    ----------
    x, y : array-like of float
        Coordinates in a metric CRS (metres).
    t : array-like of int64 or datetime64[ns]
        Times (UTC nanoseconds).

    Attributes
    ----------
    x, y, t : ndarray
        The incidents in x order (``t`` as int64 nanoseconds).
    first, last : pandas.Timestamp or None
        The earliest and latest time (UTC), None without incidents.
    """

    def __init__(self, x, y, t):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        t = np.asarray(t)
        if t.dtype.kind == "M":
            t = t.astype("datetime64[ns]")
        t = t.astype(np.int64)
        check_same_length(x=x, y=y, t=t)
        order = np.argsort(x, kind="stable")
        self.x, self.y, self.t = x[order], y[order], t[order]
        for a in (self.x, self.y, self.t):
            a.flags.writeable = False
        self.first = pd.Timestamp(int(self.t.min()), tz="UTC") if len(t) else None
        self.last = pd.Timestamp(int(self.t.max()), tz="UTC") if len(t) else None

    def __len__(self) -> int:
        return len(self.x)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, bytes."""
        return int(self.x.nbytes + self.y.nbytes + self.t.nbytes)

    def box(self, minx: float, miny: float, maxx: float, maxy: float) -> np.ndarray:
        """Positions (in this index) of the incidents inside the box, edges included."""
        lo = int(np.searchsorted(self.x, minx, side="left"))
        hi = int(np.searchsorted(self.x, maxx, side="right"))
        ys = self.y[lo:hi]
        return lo + np.flatnonzero((ys >= miny) & (ys <= maxy))

    def inside(self, geom) -> np.ndarray:
        """Positions of the incidents inside ``geom`` (a shapely polygon, same CRS)."""
        pos = self.box(*geom.bounds)
        shapely.prepare(geom)
        return pos[shapely.contains_xy(geom, self.x[pos], self.y[pos])]


def _utc(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def evaluate_place(x, y, t, geometry, *, start, end=None, now, ring_m: float = 150.0,
                   min_after_days: int = EVALUATION_MIN_DAYS, max_days: int = 365,
                   search_m: float = 4000.0, step_m: float | None = None,
                   alpha: float = EVALUATION_ALPHA, control=None, data_start=None) -> dict:
    """Before/after WDD evaluation of an action on a place.

    One evaluation over plain arrays: :func:`evaluate_in` over an :class:`EffectIndex` built
    here (build the index once and call ``evaluate_in`` to evaluate many actions).

    Parameters
    ----------
    x, y : array-like of float
        The targeted incidents (categories and hours already selected), metric CRS.
    t : array-like of int64 or datetime64[ns]
        Their times (UTC nanoseconds).
    geometry : shapely Polygon
        The treated place, same CRS.
    start, end, now, ring_m, min_after_days, max_days, search_m, step_m, alpha, control, data_start
        See :func:`evaluate_in`.

    Returns
    -------
    dict
        See :func:`evaluate_in`.
    """
    return evaluate_in(EffectIndex(x, y, t), geometry, start=start, end=end, now=now, ring_m=ring_m,
                       min_after_days=min_after_days, max_days=max_days, search_m=search_m, step_m=step_m,
                       alpha=alpha, control=control, data_start=data_start)


def evaluate_in(index: EffectIndex, geometry, *, start, end=None, now=None, ring_m: float = 150.0,
                min_after_days: int = EVALUATION_MIN_DAYS, max_days: int = 365,
                search_m: float = 4000.0, step_m: float | None = None, alpha: float = EVALUATION_ALPHA,
                control=None, data_start=None) -> dict:
    """Before/after WDD evaluation of an action on a place, over indexed incidents.

    Parameters
    ----------
    index : EffectIndex
        The targeted incidents (categories and hours already selected), metric CRS.
    geometry : shapely Polygon
        The treated place, same CRS.
    start, end : str or Timestamp
        The action's dates: before = the ``L`` days up to ``start``, after = the ``L`` days from
        ``end`` (or ``start``), ``L`` = whole days from then to ``now``, at most ``max_days``
        and at most the days from ``data_start`` to ``start`` (so that both periods lie in the
        data and have the same length).
    now : str or Timestamp, optional
        The end of the data; default the latest incident of ``index``.
    ring_m : float, default 150
        Width of the displacement ring, metres.
    min_after_days : int, default ``EVALUATION_MIN_DAYS`` (90)
        Shorter after-periods are not evaluated (``status`` ``too_early``).
    max_days : int, default 365
        Longest before and after period, days.
    search_m, step_m : float
        Control candidates are the place moved by multiples of ``step_m`` (default: twice the
        place's size plus the ring) within ``search_m`` metres, never closer than twice the ring.
    alpha : float, default ``EVALUATION_ALPHA`` (0.1)
        Level of the WDD's confidence interval and of the verdict.
    control : shapely Polygon, optional
        A control area given by the user instead of the automatic one.
    data_start : str or Timestamp, optional
        The start of the data (its first day); None: the before-period is not clipped.

    Returns
    -------
    dict
        ``status`` (``evaluated`` or ``too_early``), ``days`` (``L``), ``min_days``
        (``min_after_days``), ``alpha``, ``before``/``after`` (ISO dates), ``counts``
        (``treated``, ``ring``, ``control``, ``control_ring``: pairs before/after), ``control``
        (its geometry, WKT), ``control_auto``, ``wdd`` (``layers.wdd.wdd``), ``wdq``
        (``layers.wdd.wdq``), ``verdict`` (``down``: significant fall beyond the control,
        ``up``, ``no_effect``), ``displacement`` (``displacement``, ``diffusion``, ``none``: the
        ring's WDD term read with its own z at ``alpha``), ``change_local`` (relative change in
        the place, control-adjusted: ``Ta/Tb / (Ca/Cb) - 1``).

    Notes
    -----
    Poisson variances and equal before/after periods, so the WDD's time weights are 1
    (Wheeler & Ratcliffe 2018); the control has the place's own shape, so the area weights are 1.
    The WDQ and net effect follow Bowers & Johnson (2003).

    References
    ----------
    Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement difference test to
    evaluate place based crime interventions. Crime Science 7(11).
    Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement and diffusion
    of benefit effects of crime prevention activity. J. Quantitative Criminology 19(3), 275-301.

    Examples
    --------
    >>> idx = EffectIndex(x, y, t)  # doctest: +SKIP
    >>> evaluate_in(idx, place, start="2024-10-28", end="2024-10-31")["verdict"]  # doctest: +SKIP
    'down'
    """
    if not isinstance(index, EffectIndex):
        raise ParameterError("index must be an EffectIndex of the targeted incidents.", "index")
    if geometry is None or shapely.is_empty(geometry):
        raise InputError("The place has no geometry.")
    ring_m = positive_number(ring_m, "ring_m", unit="metres")
    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be between 0 and 1, got {alpha}.", "alpha")
    min_after_days = int(min_after_days)
    t_start = _utc(start)
    t_end = _utc(end) if end is not None else t_start
    if t_end < t_start:
        raise ParameterError("the action ends before it starts.", "end")
    if now is None:
        if index.last is None:
            return {"status": "too_early", "days": 0, "min_days": min_after_days, "alpha": alpha}
        now = index.last
    t_now = _utc(now)
    days = int(min(max_days, math.floor((t_now - t_end) / _DAY)))
    if data_start is not None:
        days = min(days, int(math.floor((t_start - _utc(data_start)) / _DAY)))
    out = {"status": "too_early", "days": max(days, 0), "min_days": min_after_days, "alpha": alpha}
    if days < min_after_days or days <= 0:
        return out
    b0, b1 = (t_start - pd.Timedelta(days=days)).value, t_start.value
    a0, a1 = t_end.value, (t_end + pd.Timedelta(days=days)).value
    t = index.t

    def pair(geom):
        tt = t[index.inside(geom)]
        return int(((tt >= b0) & (tt < b1)).sum()), int(((tt >= a0) & (tt < a1)).sum())

    treated, disp = pair(geometry), pair(ring(geometry, ring_m))
    auto = control is None
    if auto:
        control = _choose_control(index, geometry, ring_m=ring_m, b0=b0, b1=b1, search_m=search_m,
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


def _choose_control(index: EffectIndex, geometry, *, ring_m, b0, b1, search_m, step_m, target):
    """The translated copy of ``geometry`` whose before-period count and trend (second half
    minus first half) are closest to the place's; None when no candidate has incidents."""
    minx, miny, maxx, maxy = geometry.bounds
    size = max(maxx - minx, maxy - miny)
    step = float(step_m) if step_m else 2 * size + 2 * ring_m
    k = max(1, int(search_m // step))
    mid = (b0 + b1) // 2
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    place_pos = index.inside(geometry)
    tp = index.t[place_pos]
    place_first = int(((tp >= b0) & (tp < mid)).sum())
    place_trend = (target - place_first) - place_first
    keep_out = geometry.buffer(2 * ring_m)
    # the candidates are translations by multiples of ``step`` > the place's size, so a point
    # lies in at most one of them. Column by column of the lattice, the x-sorted index gives the
    # strip of points under the candidates' boxes; each point is brought back by its row offset
    # and tested against the place itself (a box test first, the exact test on the few left):
    # the work is a few strips, not the whole search window.
    ii, jj, pp = [], [], []
    for i in range(-k, k + 1):
        lo = int(np.searchsorted(index.x, minx + i * step, side="left"))
        hi = int(np.searchsorted(index.x, maxx + i * step, side="right"))
        ys, ts = index.y[lo:hi], index.t[lo:hi]
        j = np.rint((ys - cy) / step)
        by = ys - j * step
        keep = (ts >= b0) & (ts < b1) & (by >= miny) & (by <= maxy) & (np.abs(j) <= k)
        if i == 0:
            keep &= j != 0
        hit = np.flatnonzero(keep)
        ii.append(np.full(len(hit), i, dtype=np.int64))
        jj.append(j[hit].astype(np.int64))
        pp.append(lo + hit)
    i, j, pos = np.concatenate(ii), np.concatenate(jj), np.concatenate(pp)
    shapely.prepare(geometry)
    inside = shapely.contains_xy(geometry, index.x[pos] - i * step, index.y[pos] - j * step)
    i, j, early = i[inside], j[inside], index.t[pos[inside]] < mid
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
