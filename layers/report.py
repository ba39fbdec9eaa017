"""The monthly monitoring report's figures and tables, as data (no I/O, no plotting).

The *cellule de veille* of a CLSPD meets every month around the situation of the month. This
module computes what its report shows: counts per problem group of the council against the
previous month and the same month a year earlier with an exact test of the difference, time
profiles (hour x weekday, darkness), a summary of emerging hotspot categories, and the
small-count suppression of tables shown to partners. Rendering (charts, maps, HTML, PDF) lives in
``geo_app.report``.

Public functions
----------------
parse_month(value, *, param="month")
    ``"YYYY-MM"`` -> ``pandas.Period`` (``ParameterError`` naming ``param`` otherwise).
month_window(month, *, tz)
    first instant of the month and of the next one (UTC), as cut in local time.
local_months(incidents, *, tz)
    the local calendar month of each incident's ``occurred_from``.
compare_counts(current, reference, *, exposure=(1, 1), min_total=10, alpha=0.05)
    exact conditional test of two Poisson counts and a verdict.
monthly_figures(incidents, *, month, tz, taxonomy, zac=None, min_total=10, alpha=0.05)
    the month's total and counts per problem group against the previous month and a year ago.
area_changes(areas, incidents, *, month, tz, min_total=10, alpha=0.05)
    incidents of the month and of the previous month inside each area (hotspot), with the test.
time_profiles(incidents, *, tz)
    hour x weekday profile and darkness counts of the month's incidents.
emerging_summary(cells, *, k=None)
    cells per emerging category and the table of the cells that matter for the month.
suppress_counts(table, columns, *, k)
    counts 1..k-1 blanked (for roles that may not see points).
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from layers.checks import check_columns, check_tz_aware
from layers.errors import InputError, ParameterError
from layers.settings import parse_tz
from layers.spacetime import EMERGING_CATEGORIES

__all__ = [
    "ALPHA",
    "HOT_EMERGING",
    "MIN_TOTAL",
    "area_changes",
    "compare_counts",
    "emerging_summary",
    "local_months",
    "month_window",
    "monthly_figures",
    "parse_month",
    "suppress_counts",
    "time_profiles",
]

#: below this many incidents in the two periods together no test is made ("too few to say")
MIN_TOTAL = 10
#: significance level of the two-count test (two-sided)
ALPHA = 0.05
#: emerging categories worth a partners' attention in the month (ArcGIS labels)
#: (``layers.spacetime.EMERGING_CATEGORIES`` codes 1..8)
HOT_EMERGING = tuple(EMERGING_CATEGORIES[c] for c in range(1, 9))
#: the three categories a report calls "emerging" (appeared recently or growing): codes 1, 2, 3
EMERGING_NOW = tuple(EMERGING_CATEGORIES[c] for c in (1, 2, 3))

_MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def parse_month(value, *, param: str = "month") -> pd.Period:
    """Parse a calendar month written ``YYYY-MM`` (``2025-10``).

    Raises ``ParameterError`` naming ``param`` for anything else (``2024-13``, ``june``).
    """
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    m = _MONTH_RE.match(str(value)) if value is not None else None
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 2100:
        raise ParameterError(
            f"{param} must be a month written YYYY-MM (for example 2025-10), got '{value}'.", param
        )
    return pd.Period(year=int(m.group(1)), month=int(m.group(2)), freq="M")


_check_tz = parse_tz  # ParameterError naming tz


def month_window(month, *, tz) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` in UTC: the first instant of ``month`` and of the next month, local time."""
    p = parse_month(month)
    tzinfo = _check_tz(tz)
    start = pd.Timestamp(p.start_time).tz_localize(tzinfo).tz_convert("UTC")
    end = pd.Timestamp((p + 1).start_time).tz_localize(tzinfo).tz_convert("UTC")
    return start, end


def _check_incidents(incidents) -> None:
    if not isinstance(incidents, pd.DataFrame):
        raise InputError(f"incidents must be a (Geo)DataFrame, got {type(incidents).__name__}.")
    check_columns(incidents, ("category", "occurred_from"), hint="read them from the store")
    if len(incidents):
        check_tz_aware(incidents, "occurred_from")


def local_months(incidents: pd.DataFrame, *, tz) -> pd.Series:
    """The local calendar month (``Period[M]``) of each incident's ``occurred_from``."""
    _check_incidents(incidents)
    local = incidents["occurred_from"].dt.tz_convert(_check_tz(tz)).dt.tz_localize(None)
    return local.dt.to_period("M")


def compare_counts(current: int, reference: int, *, exposure=(1.0, 1.0), min_total: int = MIN_TOTAL,
                   alpha: float = ALPHA) -> dict:
    """Is ``current`` different from ``reference``? Exact conditional test of two Poisson counts.

    Parameters
    ----------
    current, reference : int
        Incident counts of the two periods.
    exposure : (float, float)
        Lengths of the two periods (days): a 31-day month is expected to hold 31/30 of a 30-day
        one.
    min_total : int, default 10
        Below this many incidents in the two periods together the answer is ``too_few``.
    alpha : float, default 0.05
        Two-sided significance level.

    Returns
    -------
    dict
        ``current``, ``reference``, ``change`` (difference), ``change_pct`` (% of the reference,
        None when it is 0), ``p`` (two-sided p-value, None when not tested), ``verdict``:
        ``"up"`` / ``"down"`` (significant at ``alpha``), ``"stable"`` (no significant
        difference) or ``"too_few"``.

    Notes
    -----
    Given ``n = current + reference``, under equal daily rates ``current`` follows a binomial
    law ``B(n, t1 / (t1 + t2))`` (the conditional test of Przyborowski & Wilenski):
    ``scipy.stats.binomtest`` gives its exact two-sided p-value.

    References
    ----------
    Przyborowski, J. & Wilenski, H. (1940). Homogeneity of results in testing samples from
    Poisson series. *Biometrika*, 31, 313-323. Krishnamoorthy, K. & Thomson, J. (2004). A more
    powerful test for comparing two Poisson means. *J. Stat. Plann. Inference*, 119, 23-35.
    """
    a, b = int(current), int(reference)
    if a < 0 or b < 0:
        raise ParameterError(f"counts must not be negative, got {a} and {b}.", "counts")
    t1, t2 = (float(x) for x in exposure)
    if t1 <= 0 or t2 <= 0:
        raise ParameterError(f"exposures must be positive, got {exposure}.", "exposure")
    out = {"current": a, "reference": b, "change": a - b,
           "change_pct": (100.0 * (a - b) / b) if b else None, "p": None, "verdict": "too_few"}
    if a + b < min_total:
        return out
    p = float(stats.binomtest(a, a + b, t1 / (t1 + t2)).pvalue)
    out["p"] = p
    expected = (a + b) * t1 / (t1 + t2)
    out["verdict"] = "stable" if p >= alpha else ("up" if a > expected else "down")
    return out


def _days(p: pd.Period) -> int:
    return int(p.days_in_month)


def monthly_figures(
    incidents: pd.DataFrame,
    *,
    month,
    tz,
    taxonomy,
    zac=None,
    min_total: int = MIN_TOTAL,
    alpha: float = ALPHA,
) -> dict:
    """The month's total and counts per problem group, against last month and a year earlier.

    Parameters
    ----------
    incidents : DataFrame or GeoDataFrame
        Incidents with ``category`` and ``occurred_from`` (UTC), covering at least the month,
        the previous month and the same month a year earlier (other rows are ignored).
    month : str or Period
        ``YYYY-MM``.
    tz : str or ZoneInfo
        The deployment's time zone: an incident belongs to the local month of ``occurred_from``.
    taxonomy : layers.registry.Taxonomy
        Categories and the council's problem groups (``taxonomy.groups``).
    zac : shapely geometry, GeoSeries or GeoDataFrame, optional
        Keep only the incidents inside it (same CRS as ``incidents`` for a bare geometry).
    min_total, alpha
        As in :func:`compare_counts`.

    Returns
    -------
    dict
        ``month``, ``previous``, ``year_ago`` (Periods), ``days`` (their lengths), ``total``
        (one row as a dict: ``n``, ``n_prev``, ``n_year``, ``vs_prev``, ``vs_year`` — the dicts of
        :func:`compare_counts`), ``groups`` (DataFrame, one row per group of the taxonomy in its
        order: ``group``, ``label_fr``, ``label_en``, ``sensitive`` (bool: the group holds a
        sensitive category), ``n``, ``n_prev``, ``n_year``, ``change_prev_pct``, ``p_prev``,
        ``verdict_prev``, ``change_year_pct``, ``p_year``, ``verdict_year``), ``categories``
        (DataFrame: ``category``, ``group``, ``sensitive``, ``n``, ``n_prev``, sorted by ``n``
        descending, only categories seen in one of the two months), ``rule`` (text of the test
        rule, English), ``min_total``, ``alpha``.
    """
    _check_incidents(incidents)
    p = parse_month(month)
    prev, year = p - 1, p - 12
    inc = incidents
    if zac is not None:
        inc = _inside(inc, zac)
    months = local_months(inc, tz=tz)
    groups_of = {c.code: c.group for c in taxonomy.categories}
    sens = set(taxonomy.sensitive)
    cat = inc["category"].astype(str)
    grp = cat.map(groups_of).fillna("other")

    def count(period, by):
        sel = (months == period).to_numpy()
        return by[sel].value_counts()

    n_m, n_p, n_y = (int((months == x).sum()) for x in (p, prev, year))
    exp_prev = (_days(p), _days(prev))
    exp_year = (_days(p), _days(year))
    total = {"n": n_m, "n_prev": n_p, "n_year": n_y,
             "vs_prev": compare_counts(n_m, n_p, exposure=exp_prev, min_total=min_total, alpha=alpha),
             "vs_year": compare_counts(n_m, n_y, exposure=exp_year, min_total=min_total, alpha=alpha)}
    gm, gp, gy = count(p, grp), count(prev, grp), count(year, grp)
    rows = []
    for g in taxonomy.groups:
        a, b, c = int(gm.get(g.code, 0)), int(gp.get(g.code, 0)), int(gy.get(g.code, 0))
        vp = compare_counts(a, b, exposure=exp_prev, min_total=min_total, alpha=alpha)
        vy = compare_counts(a, c, exposure=exp_year, min_total=min_total, alpha=alpha)
        rows.append({
            "group": g.code, "label_fr": g.label_fr, "label_en": g.label_en,
            "sensitive": any(code in sens for code in taxonomy.in_group(g.code)),
            "n": a, "n_prev": b, "n_year": c,
            "change_prev_pct": vp["change_pct"], "p_prev": vp["p"], "verdict_prev": vp["verdict"],
            "change_year_pct": vy["change_pct"], "p_year": vy["p"], "verdict_year": vy["verdict"],
        })
    groups = pd.DataFrame(rows)
    cm, cp = count(p, cat), count(prev, cat)
    codes = sorted(set(cm.index) | set(cp.index))
    cats = pd.DataFrame({
        "category": pd.Series(codes, dtype=object),
        "group": pd.Series([groups_of.get(c, "other") for c in codes], dtype=object),
        "sensitive": pd.Series([c in sens for c in codes], dtype=bool),
        "n": pd.Series([int(cm.get(c, 0)) for c in codes], dtype="int64"),
        "n_prev": pd.Series([int(cp.get(c, 0)) for c in codes], dtype="int64"),
    })
    if len(cats):
        cats = cats.sort_values(["n", "category"], ascending=[False, True], kind="stable").reset_index(drop=True)
    rule = (f"Exact conditional binomial test of two Poisson counts (scipy.stats.binomtest), "
            f"two-sided, with the months' lengths as exposures; significant when p < {alpha}; "
            f"not tested when the two counts sum to fewer than {min_total}.")
    return {"month": p, "previous": prev, "year_ago": year,
            "days": {"month": _days(p), "previous": _days(prev), "year_ago": _days(year)},
            "total": total, "groups": groups, "categories": cats, "rule": rule,
            "min_total": int(min_total), "alpha": float(alpha)}


def area_changes(
    areas: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    *,
    month,
    tz,
    min_total: int = MIN_TOTAL,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Incidents of the month and of the previous month inside each area, with the test.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons (hotspot areas, ZACs), any CRS (reprojected to the incidents').
    incidents : GeoDataFrame
        Points with ``occurred_from`` (UTC).
    month, tz, min_total, alpha
        As in :func:`monthly_figures`.

    Returns
    -------
    DataFrame
        Index of ``areas``; ``n`` (month), ``n_prev`` (previous month), ``change_pct``, ``p``,
        ``verdict`` (:func:`compare_counts`, the months' lengths as exposures). A point on a
        shared edge counts in every area it touches.
    """
    _check_incidents(incidents)
    if not isinstance(areas, gpd.GeoDataFrame):
        raise InputError("areas must be a GeoDataFrame of polygons.")
    p = parse_month(month)
    months = local_months(incidents, tz=tz)
    keep = months.isin([p, p - 1]).to_numpy()
    inc = incidents[keep]
    is_month = (months[keep] == p).to_numpy()
    polys = areas.to_crs(incidents.crs) if areas.crs is not None and areas.crs != incidents.crs else areas
    rows = []
    for geom in polys.geometry:
        inside = inc.geometry.intersects(geom).to_numpy() if len(inc) else np.zeros(0, dtype=bool)
        a, b = int((inside & is_month).sum()), int((inside & ~is_month).sum())
        r = compare_counts(a, b, exposure=(_days(p), _days(p - 1)), min_total=min_total, alpha=alpha)
        rows.append({"n": a, "n_prev": b, "change_pct": r["change_pct"], "p": r["p"], "verdict": r["verdict"]})
    return pd.DataFrame(rows, index=areas.index, columns=["n", "n_prev", "change_pct", "p", "verdict"])


def _inside(incidents, zone):
    """Rows of ``incidents`` whose point intersects ``zone`` (geometry, GeoSeries or GeoDataFrame)."""
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise InputError("incidents must be a GeoDataFrame to be cut to a ZAC.")
    if isinstance(zone, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if zone.crs is not None and incidents.crs is not None and zone.crs != incidents.crs:
            zone = zone.to_crs(incidents.crs)
        geom = zone.geometry.union_all() if isinstance(zone, gpd.GeoDataFrame) else zone.union_all()
    else:
        geom = zone
    return incidents[incidents.geometry.intersects(geom).to_numpy()]


def time_profiles(incidents: gpd.GeoDataFrame, *, tz) -> dict:
    """Hour x weekday profile and darkness of a month's incidents.

    Returns
    -------
    dict
        ``profile`` (DataFrame 7 x 24, weekday 0 = Monday, aoristic counts, from
        ``layers.temporal.hour_weekday_profile``), ``by_hour`` (24 values), ``by_weekday`` (7),
        ``darkness`` (dict day / twilight / night -> incidents, from
        ``layers.temporal.darkness``; windows longer than 7 days unclassified), ``unclassified``,
        ``night_share`` (night / classified, None when none), ``dark_share`` ((twilight +
        night) / classified).

    References
    ----------
    Ratcliffe, J. H. (2002). Aoristic signatures and the spatio-temporal analysis of high
    volume crime patterns. *Journal of Quantitative Criminology*, 18(1), 23-43.
    """
    from layers import temporal

    _check_incidents(incidents)
    tz = _check_tz(tz)
    if len(incidents) == 0:
        prof = pd.DataFrame(np.zeros((7, 24)), index=pd.RangeIndex(7, name="weekday"),
                            columns=pd.RangeIndex(24, name="hour"))
        return {"profile": prof, "by_hour": np.zeros(24), "by_weekday": np.zeros(7),
                "darkness": {"day": 0, "twilight": 0, "night": 0}, "unclassified": 0,
                "night_share": None, "dark_share": None}
    prof = temporal.hour_weekday_profile(incidents, tz=tz)
    dk = temporal.darkness(incidents, tz=tz)
    vc = dk.value_counts()
    counts = {c: int(vc.get(c, 0)) for c in ("day", "twilight", "night")}
    classified = sum(counts.values())
    return {
        "profile": prof,
        "by_hour": prof.sum(axis=0).to_numpy(),
        "by_weekday": prof.sum(axis=1).to_numpy(),
        "darkness": counts,
        "unclassified": int(len(incidents) - classified),
        "night_share": counts["night"] / classified if classified else None,
        "dark_share": (counts["night"] + counts["twilight"]) / classified if classified else None,
    }


def emerging_summary(cells: gpd.GeoDataFrame, *, k: int | None = None) -> dict:
    """Summarise an ``emerging_hotspots`` result for the report.

    Parameters
    ----------
    cells : GeoDataFrame
        The result of ``layers.spacetime.emerging_hotspots`` (``category``, ``n``, ``n_<last
        period>``…).
    k : int, optional
        When given (partners' version), cells holding fewer than ``k`` incidents over the whole
        period are left out of ``cells`` (they still count in ``counts``: a count of cells
        discloses no incident).

    Returns
    -------
    dict
        ``counts`` (DataFrame ``category``, ``cells``: every hot category in
        :data:`HOT_EMERGING` order, then the others present), ``cells`` (GeoDataFrame of the
        cells in a hot category: ``cell_id``, ``category``, ``n``, ``n_last`` (incidents in the
        last period), ``trend_z``, ``emerging`` (bool: new, consecutive or intensifying),
        ``geometry``; sorted emerging first then by ``n_last``), ``last_period``,
        ``suppressed`` (cells left out for k).

    References
    ----------
    ArcGIS Pro documentation, "How Emerging Hot Spot Analysis works" (the categories).
    """
    if not isinstance(cells, gpd.GeoDataFrame) or not {"category", "n"} <= set(cells.columns):
        raise InputError("cells must be the result of emerging_hotspots (columns 'category' and 'n').")
    periods = list(cells.attrs.get("vigie", {}).get("periods", []))
    last = periods[-1] if periods else None
    vc = cells["category"].astype(str).value_counts()
    order = [c for c in HOT_EMERGING if c in vc.index] + sorted(c for c in vc.index if c not in HOT_EMERGING)
    counts = pd.DataFrame({"category": order, "cells": [int(vc[c]) for c in order]})
    hot = cells[cells["category"].astype(str).isin(HOT_EMERGING)]
    out = gpd.GeoDataFrame({
        "cell_id": hot["cell_id"].to_numpy() if "cell_id" in hot else np.arange(len(hot)),
        "category": hot["category"].astype(str).to_numpy(),
        "n": hot["n"].to_numpy().astype("int64"),
        "n_last": (hot[f"n_{last}"].to_numpy().astype("int64") if last and f"n_{last}" in hot
                   else np.zeros(len(hot), dtype="int64")),
        "trend_z": hot["trend_z"].to_numpy() if "trend_z" in hot else np.full(len(hot), np.nan),
    }, geometry=hot.geometry.to_numpy(), crs=cells.crs)
    out["emerging"] = out["category"].isin(EMERGING_NOW)
    suppressed = 0
    if k is not None:
        keep = out["n"].to_numpy() >= int(k)
        suppressed = int((~keep).sum())
        out = out[keep]
    out = out.sort_values(["emerging", "n_last", "n"], ascending=[False, False, False], kind="stable")
    return {"counts": counts, "cells": out.reset_index(drop=True), "last_period": last,
            "suppressed": suppressed}


def suppress_counts(table: pd.DataFrame, columns, *, k: int) -> pd.DataFrame:
    """Blank the counts from 1 to ``k - 1`` in ``columns`` (zero is kept: it discloses no one).

    Returns a copy whose ``columns`` are nullable ``Int64`` with ``<NA>`` where suppressed;
    ``attrs["suppressed"]`` counts the blanked values and ``attrs["k"]`` is the threshold. A
    renderer shows a blank as ``< k``.

    References
    ----------
    Hundepool A. et al. (2012), *Statistical Disclosure Control*, Wiley, ch. 5 (threshold rule).
    """
    k = int(k)
    if k < 1:
        raise ParameterError(f"k must be at least 1, got {k}.", "k")
    out = table.copy()
    n = 0
    for c in columns:
        if c not in out.columns:
            raise InputError(f"the table has no column '{c}' to suppress.")
        v = pd.array(pd.to_numeric(out[c]).to_numpy(), dtype="Int64")
        small = (v > 0) & (v < k)
        small = np.asarray(small.fillna(False), dtype=bool)
        n += int(small.sum())
        v[small] = pd.NA
        out[c] = v
    out.attrs = {**table.attrs, "k": k, "suppressed": n}
    return out
