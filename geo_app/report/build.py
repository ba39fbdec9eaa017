"""Assemble the monthly report of a deployment: read the store, call ``layers``, draw the images.

``build_report(home, month=..., ...)`` returns a plain dict (the *report*) that the template
renders; statistics come from ``layers.report``, ``layers.hotspots``, ``layers.spacetime`` and
``layers.temporal``; the privacy rules (DESIGN §8) are applied here, once, for the whole
document:

- ``audience="partners"`` (default): no incident point anywhere (maps show counts in squares of
  ``settings.privacy_cell_m`` metres with the cells under k dropped, hot cells holding
  fewer than k incidents are not drawn); every shown count from 1 to k-1 is blanked; sensitive
  categories appear only inside their group's total and in one aggregated row; hotspots,
  emerging trends and per-ZAC category details are computed without them.
- ``audience="police"``: points and every category.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_app.i18n import emerging_code, label, month_name
from geo_app.report.labels import LANGS, labels
from geo_app.style import EMERGING, STATUS
from layers.errors import InputError, ParameterError
from layers.filters import Filters
from layers.privacy import night_class
from layers.report import (
    area_changes,
    emerging_summary,
    local_months,
    monthly_figures,
    parse_month,
    suppress_counts,
    time_profiles,
)

__all__ = ["AUDIENCES", "EMERGING_MONTHS", "build_report", "check_zac"]

AUDIENCES = ("partners", "police")
#: months of the space-time cube behind the emerging categories (ending with the report month)
EMERGING_MONTHS = 24
#: review statuses counted as "waiting" (codes of ``geo_app.i18n.STATUSES``)
WAITING = ("new", "in_review")
DECIDED = "action_decided"


def _check_choice(value, allowed, param):
    if value not in allowed:
        raise ParameterError(f"{param} must be one of {', '.join(allowed)}, got '{value}'.", param)
    return value


def _zac_layer(home) -> gpd.GeoDataFrame:
    z = home.store.read("zac")
    if not len(z):
        return z
    return z[["name", "geometry"]].dissolve(by="name", as_index=False)


def check_zac(source, zac: str | None, *, param: str = "zac") -> str | None:
    """``zac`` if it names a stored ZAC (``ParameterError`` listing the known ones otherwise);
    ``source`` is a workspace or a deployment."""
    if zac is None or zac == "":
        return None
    store = source.store
    names = sorted(set(store.read("zac", columns=["name"])["name"].astype(str)))
    if zac not in names:
        raise ParameterError(
            f"{param}: unknown ZAC '{zac}'; known ZACs: {', '.join(names[:40]) or 'none'}.", param
        )
    return zac


def month_title(p: pd.Period, lang: str) -> str:
    return f"{month_name(p.month, lang)} {p.year}"


def _read_incidents(home, month: pd.Period, months: int) -> gpd.GeoDataFrame:
    """Incidents whose local month lies in the ``months`` months ending with ``month``."""
    tz = home.settings.timezone
    first = month - (months - 1)
    start = pd.Timestamp(first.start_time).tz_localize(tz).tz_convert("UTC") - pd.Timedelta(days=2)
    inc = home.store.read("incidents", Filters(start=start))
    if not len(inc):
        return inc
    lm = local_months(inc, tz=tz)
    keep = ((lm >= first) & (lm <= month)).to_numpy()
    return inc[keep]


def _fmt_count(v, k: int | None) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return f"< {k}" if k else "—"
    return f"{int(v):,}".replace(",", "\u202f")


def _fmt_pct(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    return f"{v:+.0f} %"


def _verdict(v: str, lang: str) -> str:
    return label("verdict", v, lang)


def _points_free(frames) -> None:
    """Refuse to hand a partners' report any point geometry (a programming error)."""
    for f in frames:
        if isinstance(f, gpd.GeoDataFrame) and len(f) and f.geometry.geom_type.isin(["Point", "MultiPoint"]).any():
            raise AssertionError("a partners' report must not hold incident points")


# ----------------------------------------------------------------------------- sections


def _sensitive_groups(taxonomy) -> set[str]:
    """Groups all of whose categories are sensitive."""
    sens = set(taxonomy.sensitive)
    return {g.code for g in taxonomy.groups
            if taxonomy.in_group(g.code) and all(c in sens for c in taxonomy.in_group(g.code))}


def _figures_section(fig: dict, *, taxonomy, lang: str, k: int | None, L: dict) -> dict:
    """Tables of the key figures, counts suppressed under k for partners."""
    groups = fig["groups"]
    label_col = "label_en" if lang == "en" else "label_fr"
    shown = suppress_counts(groups, ["n", "n_prev", "n_year"], k=k) if k else groups
    rows = []
    for (_, g), (_, s) in zip(groups.iterrows(), shown.iterrows()):
        # a change in % of a suppressed count would disclose it: hidden with it
        hide = k is not None and any(pd.isna(s[c]) for c in ("n", "n_prev", "n_year"))
        rows.append({
            "group": g["group"], "label": g[label_col],
            "n": _fmt_count(s["n"], k), "n_prev": _fmt_count(s["n_prev"], k), "n_year": _fmt_count(s["n_year"], k),
            "change_prev": "—" if hide else _fmt_pct(g["change_prev_pct"]),
            "change_year": "—" if hide else _fmt_pct(g["change_year_pct"]),
            "verdict_prev": _verdict(g["verdict_prev"], lang), "verdict_year": _verdict(g["verdict_year"], lang),
            "v_prev": g["verdict_prev"], "v_year": g["verdict_year"],
            "raw_n": None if hide else int(g["n"]),
            "any": bool(g["n"] + g["n_prev"] + g["n_year"]),
        })
    t = fig["total"]
    total = {
        "n": _fmt_count(t["n"] if not k or not 0 < t["n"] < k else None, k),
        "n_prev": _fmt_count(t["n_prev"] if not k or not 0 < t["n_prev"] < k else None, k),
        "n_year": _fmt_count(t["n_year"] if not k or not 0 < t["n_year"] < k else None, k),
        "change_prev": _fmt_pct(t["vs_prev"]["change_pct"]), "change_year": _fmt_pct(t["vs_year"]["change_pct"]),
        "verdict_prev": _verdict(t["vs_prev"]["verdict"], lang), "verdict_year": _verdict(t["vs_year"]["verdict"], lang),
        "v_prev": t["vs_prev"]["verdict"], "v_year": t["vs_year"]["verdict"],
    }
    cats = fig["categories"]
    if k:  # partners: sensitive categories only as one aggregated row
        is_sens = cats["sensitive"].astype(bool).to_numpy()
        sens = cats[is_sens]
        cats = cats[~is_sens]
        if len(sens):
            agg = pd.DataFrame({"category": ["__sensitive__"], "group": [""], "sensitive": [True],
                                "n": [int(sens["n"].sum())], "n_prev": [int(sens["n_prev"].sum())]})
            cats = pd.concat([cats, agg], ignore_index=True).sort_values(
                ["n", "category"], ascending=[False, True], kind="stable")
        cats = suppress_counts(cats, ["n", "n_prev"], k=k)
    top = []
    for _, c in cats.head(12).iterrows():
        code = c["category"]
        label = L["sensitive_aggregated"] if code == "__sensitive__" else (
            taxonomy[code].label(lang) if code in taxonomy else code)
        top.append({"category": code, "label": label, "n": _fmt_count(c["n"], k),
                    "n_prev": _fmt_count(c["n_prev"], k)})
    return {"total": total, "groups": rows, "categories": top}


def _hotspots(ws, month: pd.Period, *, n_month: int) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None, str | None]:
    """Gi* cells and hotspot areas of the month (analysis CRS), or a reason.

    They are the workspace's (``Workspace.hotspot_areas``) for the month and the ordinary
    categories: the areas, ids and counts the partners review on the web for the same month."""

    if n_month < 30:
        return None, None, f"{n_month} incidents (Gi* needs at least 30)."
    tz = ws.tz
    start = pd.Timestamp(month.start_time).tz_localize(tz)
    end = pd.Timestamp((month + 1).start_time).tz_localize(tz)
    filters = ws.default_filters(Filters(start=start, end=end))
    try:
        gi = ws.analysis("gistar", filters)
        ha = ws.hotspot_areas(filters).to_crs(gi.crs)
    except (InputError, ParameterError) as e:
        return None, None, e.message
    return gi, ha, None


def _with_changes(ha, incidents, *, month, tz):
    """Hotspot areas with the month's and the previous month's counts inside them and the test."""
    if ha is None or not len(ha):
        return ha
    ch = area_changes(ha, incidents, month=month, tz=tz)
    out = ha.copy()
    out["n_month"] = ch["n"].to_numpy()
    out["n_prev"] = ch["n_prev"].to_numpy()
    out["change_prev_pct"] = ch["change_pct"].to_numpy()
    out["verdict_prev"] = ch["verdict"].to_numpy()
    return out


def _night(share, *, k, lang) -> str:
    """A night share as a percentage, or for partners (``k`` given) as its class only
    (``layers.privacy.night_class``: an exact share is a ratio of counts)."""
    if share is None or pd.isna(share):
        return "—"
    if k:
        return label("night_class", night_class([share])[0], lang)
    return f"{100 * float(share):.0f} %"


def _hotspot_rows(ha, *, k, lang, taxonomy, L, zac=None) -> list[dict]:
    if ha is None or not len(ha):
        return []
    table = ha
    if zac is not None:
        table = ha[ha["zac"].astype(str).str.split("; ").apply(lambda names: zac in names)]
    has_prev = "n_prev" in table.columns
    shown = suppress_counts(table, ["n"] + (["n_prev"] if has_prev else []), k=k) if k else table
    rows = []
    for (_, r), (_, raw) in zip(shown.iterrows(), table.iterrows()):
        hide = k is not None and has_prev and (pd.isna(r["n"]) or pd.isna(r["n_prev"]))
        prev = {}
        if has_prev:
            prev = {"n_prev": _fmt_count(r["n_prev"], k),
                    "change_prev": "—" if hide else _fmt_pct(raw["change_prev_pct"]),
                    "verdict_prev": _verdict(raw["verdict_prev"], lang), "v_prev": raw["verdict_prev"]}
        top = str(r["top_category"] or "")
        if k and top in taxonomy.sensitive:
            top = ""
        rows.append({
            "number": int(r["number"]), "hotspot_id": r["hotspot_id"], "n": _fmt_count(r["n"], k),
            "area_km2": f"{float(r['area_km2']):.2f}",
            "night_share": _night(r["night_share"], k=k, lang=lang),
            "zac": r["zac"] or "", "areas": r["areas"] or "",
            "top_category": taxonomy[top].label(lang) if top in taxonomy else top,
            **prev,
        })
    return rows


def _place_names(home, cells) -> list[str]:
    """The finest area (sous-quartier, else quartier) holding each cell's centre."""
    if not len(cells):
        return []
    areas = home.store.read("areas")
    if not len(areas) or "level" not in areas.columns:
        return ["—"] * len(cells)
    centres = cells.geometry.centroid
    out = ["—"] * len(cells)
    for level in ("quartier", "sous-quartier"):  # finer levels overwrite coarser ones
        a = areas[areas["level"] == level]
        if not len(a):
            continue
        a = a.to_crs(cells.crs)
        for i, c in enumerate(centres):
            hit = a[a.contains(c).to_numpy()]
            if len(hit):
                out[i] = str(hit["name"].iloc[0])
    return out


def _emerging(home, inc_a, *, area_a, k, lang, L, zac_geom=None):
    from layers.spacetime import emerging_hotspots

    months = local_months(inc_a, tz=home.settings.timezone)
    if months.nunique() < 4:
        return None, f"{months.nunique()} months of data (at least 4 needed)."
    try:
        cells = emerging_hotspots(inc_a, period="month", tz=home.settings.timezone, study_area=area_a)
    except (InputError, ParameterError) as e:
        return None, e.message
    summ = emerging_summary(cells, k=k)
    table = summ["cells"]
    if zac_geom is not None:
        table = table[table.intersects(zac_geom).to_numpy()]
        cnt = cells[cells.intersects(zac_geom).to_numpy()]["category"].astype(str).value_counts()
        summ["counts"] = summ["counts"][summ["counts"]["category"].isin(cnt.index)].assign(
            cells=lambda d: [int(cnt[c]) for c in d["category"]])
    summ["table"] = table
    shown = table[table["emerging"]].head(25)
    where = _place_names(home, shown)
    summ["rows"] = [
        {"cell_id": str(r["cell_id"]), "where": w, "category": label("emerging", r["category"], lang),
         "code": emerging_code(r["category"]), "colour": EMERGING.get(emerging_code(r["category"]) or "", ""),
         "n": _fmt_count(r["n"], None), "n_last": _fmt_count(r["n_last"] if not k or not 0 < r["n_last"] < k else None, k),
         # partners: the emerging category is the class; its Mann-Kendall z is not shown
         "trend_z": "—" if k or pd.isna(r["trend_z"]) else f"{r['trend_z']:+.1f}"}
        for (_, r), w in zip(shown.iterrows(), where)
    ]
    summ["count_rows"] = [{"category": label("emerging", c, lang), "code": emerging_code(c),
                           "colour": EMERGING.get(emerging_code(c) or "", ""), "cells": int(n)}
                          for c, n in zip(summ["counts"]["category"], summ["counts"]["cells"])
                          if emerging_code(c) != "no_pattern"]
    summ["all"] = cells
    return summ, None


def _status(code, lang: str) -> dict:
    """A review status as the report shows it: code, words and the palette's colour."""
    return {"code": code, "label": label("status", code, lang), "colour": STATUS.get(code, "")}


def _reviews(home, month: pd.Period, ha, *, lang: str = "fr", zac=None) -> dict:
    """Status changes recorded during the month, hotspots waiting, actions decided (statuses as
    ``{"code", "label", "colour"}``)."""
    out = {"available": False, "changed": [], "waiting": [], "decided": []}
    try:
        from geo_app.db import DEFAULT_STATUS, AppDB
    except ImportError:
        return out
    db = AppDB.of(home)
    if not db.exists:
        return out
    try:
        reviews = db.reviews()
    except Exception:  # noqa: BLE001 - an app.db without review tables
        return out
    out["available"] = True
    tz = home.settings.timezone
    start = pd.Timestamp(month.start_time).tz_localize(tz).tz_convert("UTC")
    end = pd.Timestamp((month + 1).start_time).tz_localize(tz).tz_convert("UTC")
    month_ids = [] if ha is None else list(ha["hotspot_id"].astype(str))
    in_zac = None
    if zac is not None and ha is not None:
        in_zac = set(ha[ha["zac"].astype(str).str.contains(zac, regex=False)]["hotspot_id"].astype(str))
    for hid in sorted(reviews):
        if in_zac is not None and hid not in in_zac:
            continue
        for h in db.history(hid):
            at = pd.Timestamp(h["at"])
            at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
            if h["field"] == "status" and start <= at < end:
                row = {"hotspot_id": hid, "old": _status(h["old"], lang), "new": _status(h["new"], lang),
                       "by": h["user"],
                       "when": at.tz_convert(tz).strftime("%Y-%m-%d")}
                out["changed"].append(row)
                if h["new"] == DECIDED:
                    out["decided"].append(row)
    ids = month_ids if in_zac is None else [i for i in month_ids if i in in_zac]
    for hid in ids:
        status = reviews.get(hid, {}).get("status", DEFAULT_STATUS)
        if status in WAITING:
            out["waiting"].append({"hotspot_id": hid, "status": _status(status, lang)})
    for hid, r in sorted(reviews.items()):
        if hid not in ids and r["status"] in WAITING and (in_zac is None or hid in in_zac):
            out["waiting"].append({"hotspot_id": hid, "status": _status(r["status"], lang)})
    return out


#: new sites proposed per kind in the report (kept small: the report must stay fast)
PROPOSALS_K = 5


def _where(sites, ha, areas_a, L) -> list[str]:
    """Where each proposed site lies: the hotspot area holding it, else its quarter."""
    out = []
    for geom in sites.geometry:
        label = ""
        if ha is not None and len(ha):
            hit = ha[ha.intersects(geom).to_numpy()]
            if len(hit):
                label = f"{L['hotspot']} {int(hit['number'].iloc[0])}"
        if not label and areas_a is not None and len(areas_a):
            hit = areas_a[areas_a.intersects(geom).to_numpy()]
            if len(hit):
                label = str(hit["name"].iloc[0])
        out.append(label or "—")
    return out


def _proposals(home, inc_month_a, ha, *, crs, taxonomy, k, lang, L, zac_geom=None):
    """CCTV sites and lamp positions for the month's incidents (``layers.recommend``).

    Returns ``(rows, frames, reason)``: the table rows, the proposals as GeoDataFrames (sites,
    analysis CRS) and why nothing was proposed (or None). For partners (``k`` given) a site
    covering fewer than k incidents is left out and the reasons (which list counts per
    category) are replaced by the technique.
    """
    from layers.crs import to_analysis

    try:
        from layers.recommend import propose_lamps, site_cameras
    except ImportError as e:  # pragma: no cover - recommend not installed
        return [], {}, str(e)
    if not len(inc_month_a):
        return [], {}, "no incident"
    lights = home.store.read("lights")
    cams = home.store.read("cameras")
    areas = home.store.read("areas")
    areas = areas[areas["level"] != "commune"] if "level" in areas.columns else areas
    areas_a = to_analysis(areas, crs) if len(areas) else None
    rows, frames, reasons = [], {}, []
    tz = home.settings.timezone
    common = {"tz": tz, "taxonomy": taxonomy, "crs": crs, "method": "auto", "time_limit_s": 5.0}
    jobs = [
        ("cctv", "covered_incidents", lambda: site_cameras(
            inc_month_a, candidates=lights if len(lights) else None, existing=cams if len(cams) else None,
            k=PROPOSALS_K, **common)),
    ]
    if len(lights):
        jobs.append(("lighting", "night_incidents",
                     lambda: propose_lamps(inc_month_a, lights, k=PROPOSALS_K, **common)))
    for kind, n_col, run in jobs:
        try:
            sites = run()
        except (InputError, ParameterError) as e:
            reasons.append(f"{kind}: {e.message}")
            continue
        if zac_geom is not None:
            sites = sites[sites.intersects(zac_geom.buffer(100.0)).to_numpy()]
        if k:
            sites = sites[sites[n_col].to_numpy() >= k]
        frames[kind] = sites
        where = _where(sites, ha, areas_a, L)
        for (_, r), w in zip(sites.iterrows(), where):
            rows.append({
                "kind": label("proposal", kind, lang), "code": kind, "rank": int(r["rank"]), "where": w,
                "n": _fmt_count(r[n_col], None),
                "label": f"{label('proposal', kind, lang)} {int(r['rank'])} — {w}",
                "reason": r[f"technique_{lang}"] if k else r[f"reason_{lang}"],
            })
    return rows, frames, ("; ".join(reasons) if reasons and not rows else None)


def _batches(home, lang: str) -> list[dict]:
    rows = []
    for b in home.store.batches():
        rows.append({"kind": b.kind, "file": b.file_name, "date": str(b.created)[:10], "user": b.user,
                     "rows": f"{b.n_stored:,}".replace(",", "\u202f"),
                     "simulated": label("yes_no", "yes" if b.simulated else "no", lang)})
    return rows


# ----------------------------------------------------------------------------- the report


def build_report(
    source,
    *,
    month,
    zac: str | None = None,
    lang: str = "fr",
    audience: str = "partners",
    zac_pages: bool = True,
    images: bool = True,
    include_sensitive: bool = True,
) -> dict:
    """Everything the monthly report shows, for ``month`` (``YYYY-MM``).

    Parameters
    ----------
    source : geo_app.workspace.Workspace or geo_app.config.Home
        The workspace to read (the web passes the request's, pinned to one store version), or
        a deployment (a workspace is made for it).
    month : str or Period
        The report month, ``YYYY-MM``.
    zac : str, optional
        A ZAC name: figures, profiles and tables are cut to it and only its page is produced.
    lang : {"fr", "en"}
    audience : {"partners", "police"}
        ``partners``: aggregated, no point, no count from 1 to k-1 (``settings.k_anonymity``).
    zac_pages : bool
        Produce the per-ZAC pages.
    images : bool
        Draw charts and maps (``False``: data only, for tests and the API).
    include_sensitive : bool
        ``False``: the sensitive categories are left out of every figure, even aggregated
        (roles whose ``sensitive_points`` scope is ``none``: ZAC managers, planners); groups
        made only of sensitive categories disappear from the tables. Ignored for the police.

    Returns
    -------
    dict
        ``meta`` (month, title, audience, lang, k, zac, generated, timings), ``L`` (labels),
        ``figures`` (raw ``layers.report.monthly_figures`` of the scope), ``tables`` (what is
        shown: ``figures``, ``hotspots``, ``emerging``, ``reviews``, ``places``
        (``geo_app.report.places.places_section``), ``concentration``, ``zacs``…), ``images``
        (data: URIs), ``methods`` and ``data`` (the frames behind the maps, in the analysis
        CRS: ``gistar``, ``hotspots``, ``emerging``, ``grid`` or ``points``).

    Raises
    ------
    InputError
        No incident at all in the month (the message gives the months the store holds).
    ParameterError
        Bad month, language, audience or ZAC, naming the field.
    """
    from layers.crs import to_analysis
    from layers.privacy import aggregate_to_grid, blank_small_counts, classes_only, drop_sensitive

    ws = source if hasattr(source, "hotspot_areas") else source.workspace()
    home = ws.home
    t0 = time.perf_counter()
    p = parse_month(month)
    _check_choice(lang, LANGS, "lang")
    _check_choice(audience, AUDIENCES, "audience")
    zac = check_zac(home, zac)
    L = labels(lang)
    settings, taxonomy = home.settings, home.taxonomy
    tz, crs = settings.timezone, settings.analysis_crs
    k = int(settings.k_anonymity) if audience == "partners" else None

    inc = _read_incidents(home, p, EMERGING_MONTHS)
    exclude_sensitive = audience == "partners" and not include_sensitive
    if exclude_sensitive and len(inc):
        inc = drop_sensitive(inc, taxonomy=taxonomy)
    months = local_months(inc, tz=tz) if len(inc) else pd.Series([], dtype="period[M]")
    in_month = (months == p).to_numpy()
    if not in_month.any():
        allm = local_months(home.store.read("incidents", columns=["occurred_from", "category"]), tz=tz)
        if not len(allm):
            raise InputError(f"no incident is recorded in {p}: the store holds no incident at all "
                             "(import incidents first, or check GEO_APP_HOME / --home).")
        raise InputError(f"no incident is recorded in {p} (the store holds incidents from {allm.min()} "
                         f"to {allm.max()}): choose a month with data.")
    zlayer = _zac_layer(home)
    zlayer_a = to_analysis(zlayer, crs) if len(zlayer) else zlayer
    zac_geom = zlayer_a[zlayer_a["name"] == zac].geometry.union_all() if zac else None
    area = home.study_area()
    area_a = to_analysis(area, crs) if area is not None else None

    inc_a = to_analysis(inc, crs)
    spatial = drop_sensitive(inc_a, taxonomy=taxonomy) if audience == "partners" else inc_a
    sp_month = (local_months(spatial, tz=tz) == p).to_numpy()
    scope_inc = inc_a if zac_geom is None else inc_a[inc_a.intersects(zac_geom).to_numpy()]
    scope_month = scope_inc[(local_months(scope_inc, tz=tz) == p).to_numpy()] if len(scope_inc) else scope_inc

    # 1. key figures (every category: group totals are aggregates, suppressed for partners)
    fig = monthly_figures(scope_inc, month=p, tz=tz, taxonomy=taxonomy)
    only_sensitive = _sensitive_groups(taxonomy)
    if exclude_sensitive:
        fig["groups"] = fig["groups"][~fig["groups"]["group"].isin(only_sensitive)].reset_index(drop=True)
    timings = {}
    tables = {"figures": _figures_section(fig, taxonomy=taxonomy, lang=lang, k=k, L=L)}

    # 4 bis. places followed, their actions and measured effect; concentration on the streets.
    # Computed first among the workspace's analyses: they read the workspace (streets, incident
    # columns), pinned to the version of the request, before an import has time to land.
    from geo_app.report.places import concentration_section, places_section

    t = time.perf_counter()
    tables["places"] = places_section(ws, p, k=k, lang=lang, zac=zac)
    tables["concentration"] = concentration_section(ws, p, k=k, zac_geometry=zac_geom)
    timings["places_s"] = round(time.perf_counter() - t, 2)
    n_sim = int(scope_month["simulated"].fillna(False).astype(bool).sum()) if "simulated" in scope_month else 0

    # 2. hotspots of the month (city-wide Gi*; cut to the ZAC when one is asked)
    t = time.perf_counter()
    gi, ha, hs_reason = _hotspots(ws, p, n_month=int(sp_month.sum()))
    ha = _with_changes(ha, spatial, month=p, tz=tz)
    tables["hotspots"] = _hotspot_rows(ha, k=k, lang=lang, taxonomy=taxonomy, L=L, zac=zac)
    tables["hotspots_reason"] = hs_reason
    timings["hotspots_s"] = round(time.perf_counter() - t, 2)

    # 3. emerging trends over the last 24 months
    t = time.perf_counter()
    em, em_reason = _emerging(home, spatial, area_a=area_a, k=k, lang=lang, L=L, zac_geom=zac_geom)
    tables["emerging"] = em
    tables["emerging_reason"] = em_reason
    timings["emerging_s"] = round(time.perf_counter() - t, 2)

    # 4. reviews
    tables["reviews"] = _reviews(home, p, ha, lang=lang, zac=zac)

    # 5. time profiles of the scope's month
    t = time.perf_counter()
    prof = time_profiles(scope_month, tz=tz)
    dk = prof["darkness"]
    tables["time"] = {
        # partners: a share beside a hidden count (or over a hidden total) would give it back
        "darkness": [{"label": label("darkness", c, lang), "n": _fmt_count(dk[c] if not k or not 0 < dk[c] < k else None, k),
                      "share": "—" if k and any(0 < v < k for v in dk.values())
                      else f"{100 * dk[c] / max(sum(dk.values()), 1):.0f} %"} for c in ("day", "twilight", "night")],
        "unclassified": prof["unclassified"],
        "night_share": None if prof["night_share"] is None else _night(prof["night_share"], k=k, lang=lang),
    }
    timings["time_s"] = round(time.perf_counter() - t, 2)

    # 6. proposals
    t = time.perf_counter()
    props, prop_frames, props_reason = _proposals(home, spatial[sp_month], ha, crs=crs, taxonomy=taxonomy,
                                                  k=k, lang=lang, L=L, zac_geom=zac_geom)
    tables["proposals"] = props
    tables["proposals_reason"] = props_reason
    timings["proposals_s"] = round(time.perf_counter() - t, 2)

    # what the maps may show
    month_spatial = spatial[sp_month]
    data = {"gistar": gi, "hotspots": ha, "emerging": None if em is None else em["table"]}
    if audience == "partners":
        data["grid"] = aggregate_to_grid(month_spatial, cell_size=settings.privacy_cell_m, crs=crs, k=k)
        if gi is not None:  # classes only: z (linear in the counts) would give the hidden ones
            data["gistar"] = classes_only(gi, k=k)
        if ha is not None:
            data["hotspots"] = blank_small_counts(ha.drop(columns=[c for c in ("z_max",) if c in ha.columns]), k=k)
        _points_free(data.values())
    else:
        data["points"] = inc_a[in_month]

    # 7. per-ZAC pages
    zac_rows = []
    if zac_pages and len(zlayer_a):
        month_inc = inc_a[in_month]
        joined = gpd.sjoin(month_inc[["geometry"]], zlayer_a[["name", "geometry"]], how="inner",
                           predicate="intersects")
        present = joined["name"].value_counts()
        names = [zac] if zac else [n for n in sorted(present.index) if present[n] > 0]
        joined_all = gpd.sjoin(inc_a[["geometry"]], zlayer_a[["name", "geometry"]], how="inner",
                               predicate="intersects")
        for name in names:
            idx = joined_all.index[joined_all["name"] == name].unique()
            sub = inc_a.loc[idx]
            zf = monthly_figures(sub, month=p, tz=tz, taxonomy=taxonomy)
            if exclude_sensitive:
                zf["groups"] = zf["groups"][~zf["groups"]["group"].isin(only_sensitive)].reset_index(drop=True)
            sub_month = sub[(local_months(sub, tz=tz) == p).to_numpy()] if len(sub) else sub
            zprof = time_profiles(sub_month, tz=tz) if len(sub_month) else None
            zac_rows.append({
                "name": name,
                "figures": _figures_section(zf, taxonomy=taxonomy, lang=lang, k=k, L=L),
                "raw": zf,
                "night_share": None if zprof is None or zprof["night_share"] is None
                else _night(zprof["night_share"], k=k, lang=lang),
                "hotspots": _hotspot_rows(ha, k=k, lang=lang, taxonomy=taxonomy, L=L, zac=name),
                "geometry": zlayer_a[zlayer_a["name"] == name].geometry.union_all(),
            })
    tables["zacs"] = zac_rows

    # methods
    gmeta = gi.attrs.get("vigie", {}) if gi is not None else {}
    emeta = em["all"].attrs.get("vigie", {}) if em is not None else {}
    neigh = gmeta.get("neighbourhood", "queen")
    methods = {
        "figures": L["m_figures"].format(tz=tz, rule=L["rule"].format(alpha=fig["alpha"], min_total=fig["min_total"])),
        "hotspots": L["m_hotspots"].format(cell=_num(gmeta.get("cell_size")),
                                           neigh=(L["queen"] if neigh == "queen" else f"{neigh:.0f} m")),
        "emerging": L["m_emerging"].format(periods=len(emeta.get("periods", [])), cell=_num(emeta.get("cell_size"))),
        "time": L["m_time"],
        "proposals": L["m_proposals"].format(n=PROPOSALS_K),
        "places": L["m_places"].format(months=len(tables["places"]["months"]),
                                       min_days=settings.evaluation_min_days,
                                       level=round(100 * (1 - settings.evaluation_alpha))),
        "privacy": (L["m_privacy_partners"].format(cell=_num(settings.privacy_cell_m), k=k, k_1=k - 1) if k
                    else L["m_privacy_police"]) + (" " + L["sensitive_excluded"] if exclude_sensitive else ""),
        "parameters": {
            L["p_cell"]: _num(gmeta.get("cell_size")),
            L["p_cell_auto"]: label("yes_no", "yes" if gmeta.get("cell_size_auto") else "no", lang),
            L["p_neigh"]: L["queen"] if neigh == "queen" else f"{float(neigh):.0f} m",
            L["p_fdr"]: gmeta.get("correction", "Benjamini-Hochberg"),
            L["p_hot"]: "Gi* bin ≥ 2 (95 %)",
            L["p_cube"]: f"{len(emeta.get('periods', []))} × 1 {L['month'].lower()}, {_num(emeta.get('cell_size'))} m",
            L["p_conf"]: emeta.get("confidence", "—"),
            L["p_test"]: L["test_value"].format(alpha=fig["alpha"], min_total=fig["min_total"]),
            L["p_k"]: k if k else "—",
            L["p_tz"]: tz,
            L["p_crs"]: f"EPSG:{crs}",
            L["p_proposals"]: PROPOSALS_K,
        },
        "choices": {
            "cell_size": gmeta.get("cell_size"), "cell_size_auto": gmeta.get("cell_size_auto"),
            "neighbourhood": neigh, "correction": gmeta.get("correction", "Benjamini-Hochberg"),
            "emerging_periods": len(emeta.get("periods", [])), "emerging_cell_size": emeta.get("cell_size"),
            "k": k,
        },
        "batches": _batches(home, lang),
    }
    n_sim_all = int(inc["simulated"].fillna(False).astype(bool).sum()) if "simulated" in inc else 0
    methods["simulated"] = (L["sim_yes"].format(n_sim=_fmt_count(n_sim_all, None), n_all=_fmt_count(len(inc), None))
                            if n_sim_all else L["sim_no"])

    meta = {
        "month": str(p), "month_title": month_title(p, lang), "previous_title": month_title(p - 1, lang),
        "year_title": month_title(p - 12, lang), "audience": audience, "lang": lang, "k": k,
        "k_1": (k - 1) if k else None, "zac": zac, "n_month": len(scope_month),
        "sensitive_excluded": exclude_sensitive,
        "n_simulated": n_sim,
        "generated": datetime.now(UTC).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"),
        "timings": timings,
    }
    report = {"meta": meta, "L": L, "figures": fig, "tables": tables, "methods": methods, "data": data,
              "images": {}, "profile": prof, "proposals": prop_frames,
              "scope_bounds": tuple(inc_a.total_bounds) if len(inc_a) else None, "study_area": area_a, "zac_layer": zlayer_a,
              "zac_geometry": zac_geom}
    if images:
        from geo_app.report import charts, maps

        t = time.perf_counter()
        report["images"] = {
            "groups": charts.groups_chart(fig, lang=lang, k=k, L=L),
            "heatmap": charts.heatmap(prof, L=L, lang=lang, k=k),
            "darkness": charts.darkness_chart(prof, L=L, k=k),
            "hotspots": maps.hotspot_map(report),
            "emerging": maps.emerging_map(report) if em is not None else None,
            "proposals": maps.proposals_map(report),
        }
        for z in zac_rows:
            z["map"] = maps.zac_map(report, z["geometry"])
        timings["images_s"] = round(time.perf_counter() - t, 2)
    for z in zac_rows:
        z.pop("geometry", None)
    timings["total_s"] = round(time.perf_counter() - t0, 2)
    return report


def _num(v) -> str:
    if v is None:
        return "—"
    return f"{float(v):.0f}"


def to_json_summary(report: dict) -> str:
    """The shown tables as JSON (no geometry): what the web page's ``?format=json`` answers."""
    t = report["tables"]
    out = {"meta": report["meta"], "figures": t["figures"], "hotspots": t["hotspots"],
           "reviews": t["reviews"], "time": t["time"], "proposals": t["proposals"],
           "places": t["places"], "concentration": t["concentration"],
           "zacs": [{"name": z["name"], "figures": z["figures"], "hotspots": z["hotspots"]} for z in t["zacs"]]}
    return json.dumps(out, ensure_ascii=False, default=str)
