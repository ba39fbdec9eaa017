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
``recommend_method`` reads its results and says which method a council should use.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.errors import InputError, ParameterError

__all__ = [
    "hit_rate",
    "pai",
    "pei",
    "rri",
    "flag_top_cells",
    "ProspectiveParams",
    "prospective_scores",
    "backtest",
    "backtest_summary",
    "recommend_method",
    "METHODS",
]

#: forecasting methods known to ``backtest``
METHODS = ("previous", "kde", "gistar", "prospective")


def _arr(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ParameterError(f"{name} must be one value per cell.", name)
    return a


def _check_same_length(**arrays) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ParameterError(
            "one value per cell is needed in each of "
            + ", ".join(f"{k} ({n})" for k, n in lengths.items()) + ".",
            next(iter(lengths)),
        )
    return next(iter(lengths.values()))


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
    _check_same_length(flagged=f, counts=c)
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
    _check_same_length(flagged=f, counts=c, areas=a)
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
    _check_same_length(flagged=f, counts=c, areas=a)
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
    _check_same_length(flagged=f, counts_fit=c1, counts_test=c2)
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
    _check_same_length(scores=s, areas=a)
    s = np.where(np.isnan(s), -np.inf, s)
    order = np.argsort(-s, kind="stable")
    ca = np.cumsum(a[order])
    k = max(int(np.searchsorted(ca, coverage * a.sum() * (1 + 1e-9), side="right")), 1)
    out = np.zeros(len(s), dtype=bool)
    chosen = order[:k]
    out[chosen[np.isfinite(s[chosen])]] = True
    return out
