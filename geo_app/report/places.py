"""The report's "places followed" section and the concentration of incidents on street segments.

``places_section`` follows each place (``geo_app.db`` places, DESIGN §8b) over the months up to
the report month: its monthly counts and their Mann-Kendall trend, its review status, its
actions and the measured effect of each done one (``Workspace.action_evaluation``: the WDD of
``layers.effect``, worded by ``geo_app.i18n.evaluation_sentence``). ``concentration_section``
gives the law-of-crime-concentration figures of the month over the street segments
(``layers.streets.concentration``; Weisburd 2015).

Privacy (DESIGN §8), for the partners' version (``k`` given): counts come from the ordinary
categories only, a monthly count from 1 to k-1 is shown as "< k", the evaluation gives its
sentence only (no counts), and a concentration over fewer than k incidents is not shown.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from geo_app.i18n import evaluation_sentence, label
from geo_app.style import STATUS
from layers.filters import Filters

__all__ = ["PLACE_MONTHS", "concentration_section", "place_month_counts", "places_section"]

#: months of each place's trend in the report (ending with the report month)
PLACE_MONTHS = 12
#: level of the Mann-Kendall trend of a place's monthly counts
TREND_ALPHA = 0.05


def _fmt(v, k: int | None) -> str:
    if k and 0 < v < k:
        return f"< {k}"
    return f"{int(v):,}".replace(",", "\u202f")


def place_month_counts(x, y, month, geometries, months: pd.PeriodIndex) -> np.ndarray:
    """Incidents of each place in each month.

    Parameters
    ----------
    x, y : array of float
        The incidents' coordinates, metric CRS (metres).
    month : array of int
        Their local months as ``year * 12 + month - 1`` (``layers.columns.IncidentColumns.month``).
    geometries : sequence of shapely polygons
        The places, in the same CRS.
    months : PeriodIndex
        Consecutive local months.

    Returns
    -------
    ndarray of int, shape (places, months)
    """
    out = np.zeros((len(geometries), len(months)), dtype=np.int64)
    pos = np.asarray(month, dtype=np.int64) - (months[0].year * 12 + months[0].month - 1)
    keep = (pos >= 0) & (pos < len(months))
    x, y, pos = np.asarray(x)[keep], np.asarray(y)[keep], pos[keep]
    for i, g in enumerate(geometries):
        shapely.prepare(g)
        out[i] = np.bincount(pos[shapely.contains_xy(g, x, y)], minlength=len(months))
    return out


def _trend(series: np.ndarray) -> str:
    from layers.spacetime import mann_kendall

    if series.sum() == 0:
        return "stable"
    _, z, p = mann_kendall(series.astype(float))
    z, p = float(np.ravel(z)[0]), float(np.ravel(p)[0])
    return ("up" if z > 0 else "down") if p < TREND_ALPHA else "stable"


def _places(ws, zac: str | None) -> tuple[bool, list[dict], object]:
    """Whether the app database exists, its places (those touching ``zac`` when given), the db."""
    from geo_app.db import AppDB

    db = AppDB.of(ws.home)
    if not db.exists:
        return False, [], db
    places = db.places()
    if zac:
        places = [p for p in places if zac in (p.get("zacs") or [])]
    return True, places, db


def places_section(ws, month: pd.Period, *, k: int | None, lang: str, zac: str | None = None) -> dict:
    """The "places followed" section of the monthly report.

    Parameters
    ----------
    ws : geo_app.workspace.Workspace
        The workspace the report reads (its evaluations are the place pages').
    month : Period
        The report month.
    k : int or None
        The partners' k: counts of the ordinary categories only, 1..k-1 hidden, evaluations
        without the sensitive categories. None for the police version (every category).
    lang : {"fr", "en"}
    zac : str, optional
        Only the places touching this ZAC.

    Returns
    -------
    dict
        ``available`` (an app database exists), ``months`` (column titles ``MM/YY``), ``rows``
        (per place: ``place_id``, ``name``, ``owner``, ``status`` (code, label, colour),
        ``counts`` (shown), ``raw`` (the counts, None for partners), ``total``, ``trend``
        (code, label), ``actions``: ``kind``, ``technique``, ``start_date``, ``end_date``,
        ``partner``, ``status``, ``effect`` (the sentence, empty unless done), ``verdict``).
    """
    from layers.crs import to_analysis

    available, places, db = _places(ws, zac)
    months = pd.period_range(end=month, periods=PLACE_MONTHS, freq="M")
    out = {"available": available, "months": [f"{m.month:02d}/{m.year % 100:02d}" for m in months], "rows": []}
    if not places:
        return out
    crs = ws.settings.analysis_crs
    geoms = list(to_analysis(gpd.GeoSeries([shape(p["geometry"]) for p in places], crs=4326), crs))
    # read through the workspace (pinned to the report's store version), ordinary categories
    # for partners, every category for the police
    rows = ws.rows(ws.default_filters(None) if k else Filters())
    cols = ws.columns()
    counts = place_month_counts(cols.x[rows], cols.y[rows], cols.month[rows], geoms, months)
    reviews = db.reviews()
    sensitive = set(ws.taxonomy.sensitive) if k else set()
    for place, series in zip(places, counts):
        status = reviews.get(place["place_id"], {}).get("status", "new")
        trend = _trend(series)
        actions = []
        for a in db.actions(place["place_id"]):
            ev = None
            if a["status"] == "done":
                cats = [c for c in a["categories"] if c not in sensitive]
                ev = ws.action_evaluation(shape(place["geometry"]), start=a["start_date"], end=a["end_date"],
                                          categories=cats, night_only=a["night_only"])
            actions.append({
                "id": a["id"], "kind": label("action_kind", a["kind"], lang),
                "technique": label("technique", a["technique"], lang),
                "start_date": a["start_date"], "end_date": a["end_date"] or "", "partner": a["partner"],
                "status": label("action_status", a["status"], lang), "status_code": a["status"],
                "effect": evaluation_sentence(ev, lang), "verdict": (ev or {}).get("verdict"),
            })
        out["rows"].append({
            "place_id": place["place_id"], "name": place["name"], "owner": place.get("owner") or "",
            "status": {"code": status, "label": label("status", status, lang), "colour": STATUS.get(status, "")},
            "counts": [_fmt(v, k) for v in series], "raw": None if k else [int(v) for v in series],
            "total": _fmt(int(series.sum()), k), "trend": {"code": trend, "label": label("trend", trend, lang)},
            "actions": actions,
        })
    return out


def concentration_section(ws, month: pd.Period, *, k: int | None, zac_geometry=None) -> dict | None:
    """The month's incidents (ordinary categories) over the street segments: the law of crime
    concentration (``layers.streets.concentration``).

    Returns None without a street layer, or (partners) with fewer than ``k`` incidents on the
    network; else a dict with ``segments``, ``incidents``, ``off_network``, ``tolerance_m``,
    ``share_places_50`` and ``share_places_100`` (shares of segments holding 50 % and 100 % of
    the incidents), ``curve`` (``share_places`` → ``share_incidents`` at 1, 2, 5, 10, 25, 50 %),
    and ``text`` values formatted in % for the template. ``zac_geometry`` (analysis CRS): only
    the segments touching it.
    """
    from layers.crs import to_analysis
    from layers.streets import concentration

    tz = ws.tz
    start = pd.Timestamp(month.start_time).tz_localize(tz)
    end = pd.Timestamp((month + 1).start_time).tz_localize(tz)
    seg = ws.street_segments(ws.default_filters(Filters(start=start, end=end)))
    if seg is None or not len(seg):
        return None
    meta = seg.attrs.get("vigie", {})
    off = meta.get("n_off_network")
    if zac_geometry is not None:
        seg_a = to_analysis(seg[["geometry"]], ws.settings.analysis_crs)
        seg = seg[seg_a.intersects(zac_geometry).to_numpy()]
        off = None  # the off-network incidents are counted city-wide only
        if not len(seg):
            return None
    c = concentration(seg["n"].to_numpy(float))
    if k and c["incidents"] < k:
        return None

    def pct(v):
        return f"{100 * v:.1f} %" if v < 0.1 else f"{100 * v:.0f} %"

    return {
        "segments": c["places"], "incidents": int(c["incidents"]), "off_network": off,
        "tolerance_m": meta.get("tolerance_m"),
        "share_places_50": c["share_places_50"], "share_places_100": c["share_places_100"],
        "curve": c["curve"],
        "text": {"p50": pct(c["share_places_50"]), "p100": pct(c["share_places_100"]),
                 "curve": [(pct(p["share_places"]), pct(p["share_incidents"])) for p in c["curve"]]},
    }
