"""Context of incidents: around schools and shops, per ZAC and per area.

Descriptive tables a CLSPD reads before deciding: how many incidents happen near each school
during school hours and outside them, near each shop (bars and late-night alcohol sellers
apart), and how each ZAC or area evolves (last months against the months before and the same
months a year earlier, with an exact test).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import cKDTree

from layers.checks import check_layer, positive_number
from layers.errors import ParameterError
from layers.recommend._common import (
    _check_incidents,
    _check_tz,
    _in_metric,
    _to,
    _xy,
)
from layers.registry import Taxonomy, default_taxonomy

__all__ = ["ALCOHOL_KINDS", "BAR_KINDS", "context_schools", "context_shops", "shop_group",
           "zone_summary"]

#: shop kinds counted as bars (lower-case; OSM amenity values and French labels)
BAR_KINDS = frozenset({
    "bar", "pub", "biergarten", "nightclub", "bar-tabac", "bar tabac", "café", "cafe",
    "cafés", "bars", "débit de boissons", "discothèque", "boîte de nuit",
})

#: shop kinds selling take-away alcohol (off-licences; lower-case, OSM values and French labels)
ALCOHOL_KINDS = frozenset({
    "alcohol", "wine", "beverages", "alcools, caves", "caviste", "cave", "caves", "alcools",
})


def _categories(taxonomy, include_sensitive, categories):
    tax = taxonomy or default_taxonomy()
    if categories is not None:
        cats = set(categories)
    else:
        cats = set(tax.codes)
    if not include_sensitive:
        cats -= set(tax.sensitive)
    return cats


def _top(cats: pd.Series) -> str:
    vc = cats.value_counts().head(3)
    return ", ".join(f"{c} ({n})" for c, n in vc.items())


def _in_holidays(local: pd.Series, holidays) -> np.ndarray:
    if not holidays:
        return np.zeros(len(local), dtype=bool)
    d = local.dt.tz_localize(None).dt.normalize()
    out = np.zeros(len(local), dtype=bool)
    for pair in holidays:
        try:
            start, end = (pd.Timestamp(pair[0]).normalize(), pd.Timestamp(pair[1]).normalize())
        except (TypeError, ValueError, IndexError):
            raise ParameterError(
                f"holidays: '{pair}' is not a (first day, last day) pair of dates.", "holidays"
            ) from None
        out |= ((d >= start) & (d <= end)).to_numpy()
    return out


def context_schools(
    incidents: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    *,
    radius_m: float = 150.0,
    school_hours: tuple[int, int] = (8, 17),
    school_days: tuple[int, ...] = (0, 1, 2, 3, 4),
    holidays=None,
    tz="Europe/Paris",
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
    crs=None,
) -> gpd.GeoDataFrame:
    """Incidents within ``radius_m`` of each school, during school hours and outside them.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents (``category``, ``occurred_from``).
    schools : GeoDataFrame
        Points with ``name`` (and ``level``).
    radius_m : float, default 150
        Distance around each school, metres.
    school_hours : (int, int), default (8, 17)
        Local hours ``[start, end)``: 8:00–16:59.
    school_days : tuple of int, default Monday–Friday
        Weekdays 0 (Monday) … 6 (Sunday) with classes.
    holidays : list of (date, date), optional
        School holidays, first and last day inclusive (e.g. the academic zone's calendar);
        incidents on those days count as outside school hours. None: weekdays only.
    tz : str
        Time zone of the deployment.
    include_sensitive : bool, default False
        Count sensitive categories (police users only).
    categories, taxonomy, crs
        Categories to count (default every non-sensitive one), taxonomy, metric CRS.

    Returns
    -------
    GeoDataFrame
        The schools (analysis CRS) with ``n_within`` (incidents within ``radius_m``),
        ``n_school_hours``, ``n_outside_hours``, ``share_school_hours``, ``top_categories``,
        sorted by ``n_within`` descending. ``attrs["vigie"]``: the options.

    Notes
    -----
    An incident near two schools counts for both. Times are the start of the incident's
    window (``occurred_from``) in local time.
    """
    _check_incidents(incidents)
    check_layer(schools, "schools layer")
    r = positive_number(radius_m, "radius_m")
    h0, h1 = (int(x) for x in school_hours)
    if not 0 <= h0 < h1 <= 24:
        raise ParameterError("school_hours must be (start, end) with 0 <= start < end <= 24.",
                             "school_hours")
    tzi = _check_tz(tz)
    cats = _categories(taxonomy, include_sensitive, categories)
    inc, acrs = _in_metric(incidents, cats, crs)
    sch = _to(schools, acrs)
    local = inc["occurred_from"].dt.tz_convert(tzi)
    in_hours = (
        local.dt.hour.between(h0, h1 - 1).to_numpy()
        & local.dt.day_of_week.isin(list(school_days)).to_numpy()
        & ~_in_holidays(local, holidays)
    )
    near = cKDTree(_xy(inc)).query_ball_point(_xy(sch), r) if len(inc) else [[] for _ in range(len(sch))]
    out = sch.copy()
    cat = inc["category"].to_numpy()
    out["n_within"] = [len(ix) for ix in near]
    out["n_school_hours"] = [int(in_hours[ix].sum()) if ix else 0 for ix in near]
    out["n_outside_hours"] = out["n_within"] - out["n_school_hours"]
    out["share_school_hours"] = np.where(out["n_within"] > 0,
                                         out["n_school_hours"] / out["n_within"].clip(lower=1),
                                         np.nan)
    out["top_categories"] = [_top(pd.Series(cat[ix])) if ix else "" for ix in near]
    out = out.sort_values("n_within", ascending=False, kind="stable")
    out.attrs["vigie"] = {"radius_m": r, "school_hours": [h0, h1], "school_days": list(school_days),
                          "holidays": bool(holidays), "categories": sorted(cats),
                          "crs": acrs.to_string()}
    return out


def shop_group(shops: gpd.GeoDataFrame) -> pd.Series:
    """'bar', 'late_alcohol', 'alcohol' (off-licence) or 'other' for each shop, in that order
    of precedence: bars by ``kind`` (``BAR_KINDS``), then shops flagged ``late_alcohol``, then
    off-licences by ``kind`` (``ALCOHOL_KINDS``)."""
    kind = (shops["kind"].astype("object").fillna("").astype(str).str.strip().str.lower()
            if "kind" in shops.columns else pd.Series("", index=shops.index))
    late = (shops["late_alcohol"].astype("object").fillna(False).astype(bool)
            if "late_alcohol" in shops.columns else pd.Series(False, index=shops.index))
    group = np.where(kind.isin(BAR_KINDS), "bar",
                     np.where(late, "late_alcohol",
                              np.where(kind.isin(ALCOHOL_KINDS), "alcohol", "other")))
    return pd.Series(group, index=shops.index, name="group")


def context_shops(
    incidents: gpd.GeoDataFrame,
    shops: gpd.GeoDataFrame,
    *,
    radius_m: float = 50.0,
    by_kind: bool = True,
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
    crs=None,
) -> gpd.GeoDataFrame:
    """Incidents within ``radius_m`` of each shop; bars and late-night alcohol sellers apart.

    Parameters
    ----------
    incidents, shops : GeoDataFrame
        Point incidents; shops with ``name``/``kind``/``late_alcohol``.
    radius_m : float, default 50
        Distance around each shop, metres.
    by_kind : bool, default True
        Also summarise per kind and per group in ``attrs["vigie"]["by_kind"]`` and
        ``["by_group"]`` (lists of records: ``kind``/``group``, ``shops``, ``incidents``,
        ``per_shop``).
    include_sensitive, categories, taxonomy, crs
        As in :func:`context_schools`.

    Returns
    -------
    GeoDataFrame
        The shops (analysis CRS) with ``group`` ('bar', 'late_alcohol', 'alcohol', 'other';
        see :func:`shop_group`),
        ``n_within``, ``n_shop_categories`` (shop robbery, shoplifting, shop break-in: the
        taxonomy's ``shops`` group), ``n_alcohol`` (public drinking), ``top_categories``;
        sorted by ``n_within`` descending.
    """
    _check_incidents(incidents)
    check_layer(shops, "shops layer")
    r = positive_number(radius_m, "radius_m")
    tax = taxonomy or default_taxonomy()
    cats = _categories(tax, include_sensitive, categories)
    inc, acrs = _in_metric(incidents, cats, crs)
    sh = _to(shops, acrs)
    near = cKDTree(_xy(inc)).query_ball_point(_xy(sh), r) if len(inc) else [[] for _ in range(len(sh))]
    cat = inc["category"].to_numpy()
    shop_cats = set(tax.in_group("shops"))
    alcohol = set(tax.in_group("alcohol"))
    out = sh.copy()
    out["group"] = shop_group(sh).to_numpy()
    out["n_within"] = [len(ix) for ix in near]
    out["n_shop_categories"] = [int(np.isin(cat[ix], list(shop_cats)).sum()) if ix else 0 for ix in near]
    out["n_alcohol"] = [int(np.isin(cat[ix], list(alcohol)).sum()) if ix else 0 for ix in near]
    out["top_categories"] = [_top(pd.Series(cat[ix])) if ix else "" for ix in near]
    out = out.sort_values("n_within", ascending=False, kind="stable")
    meta = {"radius_m": r, "categories": sorted(cats), "crs": acrs.to_string()}
    if by_kind:
        def summary(key):
            g = out.groupby(key, dropna=False)["n_within"].agg(["size", "sum"]).reset_index()
            return [{key: str(row[key]), "shops": int(row["size"]), "incidents": int(row["sum"]),
                     "per_shop": float(row["sum"] / row["size"])} for _, row in g.iterrows()]
        if "kind" in out.columns:
            meta["by_kind"] = summary("kind")
        meta["by_group"] = summary("group")
    out.attrs["vigie"] = meta
    return out


def _month_start(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.normalize().replace(day=1)


def zone_summary(
    incidents: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    tz="Europe/Paris",
    end=None,
    months: int = 3,
    alpha: float = 0.05,
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
    crs=None,
) -> gpd.GeoDataFrame:
    """Counts and trends per ZAC or area: the last months against the months before and
    the same months a year earlier.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents.
    zones : GeoDataFrame
        Polygons with ``name`` (ZACs, areas or hotspot areas).
    tz : str
        Time zone: months are local calendar months.
    end : date or Timestamp, optional
        End (exclusive) of the recent period, snapped to the first of its month. Default: the
        first day of the month after the latest incident (the last month may be partial;
        pass ``end`` to compare complete months).
    months : int, default 3
        Length of each period in months.
    alpha : float, default 0.05
        Level of the tests for the ``trend`` label.

    Returns
    -------
    GeoDataFrame
        The zones with ``n_total``, ``n_recent`` ([end − months, end)), ``n_previous`` (the
        ``months`` before), ``n_year_before`` (the same months a year earlier),
        ``change_previous`` and ``change_year`` (relative change, e.g. 0.25 = +25 %; NaN when
        the base is 0), ``p_previous`` and ``p_year`` (two-sided exact conditional test of
        equal Poisson rates: ``n_recent ~ Binomial(n_recent + n_other, 1/2)`` for periods of
        equal length, scaled by the periods' lengths in days), ``trend`` ('up', 'down' or
        'stable' against the previous months at level ``alpha``).
        ``attrs["vigie"]``: the periods (ISO dates), ``months``, ``alpha``.

    Notes
    -----
    An incident inside two overlapping zones counts in both.

    References
    ----------
    Przyborowski, J. & Wilenski, H. (1940). Homogeneity of results in testing samples from
    Poisson series. *Biometrika* 31, 313–323 (the conditional binomial test).
    """
    _check_incidents(incidents)
    check_layer(zones, "zones layer", kinds=("Polygon", "MultiPolygon"))
    m = int(months)
    if m < 1 or m > 12:
        raise ParameterError("months must be between 1 and 12.", "months")
    tzi = _check_tz(tz)
    cats = _categories(taxonomy, include_sensitive, categories)
    inc, acrs = _in_metric(incidents, cats, crs)
    zn = _to(zones, acrs)
    local = inc["occurred_from"].dt.tz_convert(tzi)
    if end is None:
        last = local.max() if len(local) else pd.Timestamp.now(tz=tzi)
        e = _month_start(last) + pd.DateOffset(months=1)
    else:
        try:
            e = pd.Timestamp(end)
        except (TypeError, ValueError):
            raise ParameterError(f"end '{end}' is not a date.", "end") from None
        e = e.tz_localize(tzi) if e.tzinfo is None else e.tz_convert(tzi)
        e = _month_start(e)
    periods = {
        "recent": (e - pd.DateOffset(months=m), e),
        "previous": (e - pd.DateOffset(months=2 * m), e - pd.DateOffset(months=m)),
        "year_before": (e - pd.DateOffset(months=12 + m), e - pd.DateOffset(months=12)),
    }
    ii, zz = zn.sindex.query(inc.geometry.values, predicate="intersects")
    tt = pd.DatetimeIndex(local.iloc[ii]) if len(ii) else pd.DatetimeIndex([], tz=tzi)
    out = zn.copy()
    out["n_total"] = np.bincount(zz, minlength=len(zn))
    days = {}
    for name, (a, b) in periods.items():
        sel = (tt >= a) & (tt < b)
        out[f"n_{name}"] = np.bincount(zz[sel], minlength=len(zn))
        days[name] = (b.tz_localize(None) - a.tz_localize(None)).days  # calendar days

    def test(n1, n2, d1, d2):
        p = np.full(len(n1), np.nan)
        for i, (a, b) in enumerate(zip(n1, n2)):
            if a + b > 0:
                p[i] = stats.binomtest(int(a), int(a + b), d1 / (d1 + d2)).pvalue
        return p

    for other, col in (("previous", "previous"), ("year_before", "year")):
        base = out[f"n_{other}"].to_numpy().astype(float)
        rate_ratio = (out["n_recent"].to_numpy() / days["recent"]) / np.where(base > 0, base / days[other], np.nan)
        out[f"change_{col}"] = rate_ratio - 1
        out[f"p_{col}"] = test(out["n_recent"].to_numpy(), base.astype(int), days["recent"], days[other])
    sig = out["p_previous"] < alpha
    out["trend"] = np.where(sig & (out["change_previous"] > 0), "up",
                            np.where(sig & (out["change_previous"] < 0), "down", "stable"))
    out.attrs["vigie"] = {
        "periods": {k: [a.isoformat(), b.isoformat()] for k, (a, b) in periods.items()},
        "months": m, "alpha": float(alpha), "categories": sorted(cats), "crs": acrs.to_string(),
    }
    return out
