"""Hotspot pages: the sortable list of hotspot areas and one page per hotspot."""

from __future__ import annotations

import json

import pandas as pd
from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _

from geo_app.auth import get_viewer
from geo_app.i18n import describe_methods, label, normalize_status, place_name, weekday_names
from geo_app.mapping import MapLayers, build_map, render_parts
from geo_app.views.common import filter_query, request_filters
from geo_app.views.i18n import current_lang
from geo_app.views.maps import dynamic_layers, map_assets, page_context
from layers.errors import ParameterError

__all__ = ["SORT_KEYS", "bp", "micro_place_rows"]

bp = Blueprint("hotspots", __name__)

#: sortable columns of the list (query ``sort=`` and ``order=asc|desc``)
SORT_KEYS = ("hotspot_id", "n", "area_km2", "trend", "night_share", "zac", "status")


#: order of the classes served instead of a trend's z and a night share (aggregate roles)
_CLASS_RANK = {"trend": {"down": -1, "stable": 0, "up": 1}, "night_share": {"day": 0, "mixed": 1, "night": 2}}


def _trend_label(code) -> str | None:
    """``up`` / ``down`` / ``stable`` (Workspace.hotspot_areas) in the current language."""
    return label("trend", code) if isinstance(code, str) else None


def _proposals(d: dict, lang: str) -> list[dict]:
    """The proposals near a hotspot, with their texts in ``lang``."""
    pr = d.get("proposals")
    if pr is None or not len(pr):
        return []
    sfx = "en" if lang == "en" else "fr"
    return [{"kind": r.get("kind"), "title": f"{label('proposal_title', r.get('kind'), lang)} #{r.get('rank')}",
             "covered": None if pd.isna(r.get("covered")) else int(r.get("covered")),
             "technique": r.get(f"technique_{sfx}") or "", "reason": r.get(f"reason_{sfx}") or "",
             "evidence": r.get(f"evidence_{sfx}") or ""}
            for _i, r in pr.iterrows()]


def micro_place_rows(seg, lang: str) -> list[dict]:
    """The top micro-places (street segments and intersections) of a hotspot area or a place
    as table rows (counts may be blanked; an intersection has no length nor Gi* class)."""
    rows = []
    for _i, r in seg.iterrows():
        parts = {k: r.get(f"name_{k}") for k in ("kind", "street", "from", "to")}
        n, per, length = r.get("n"), r.get("per_100m"), r.get("length_m")
        kind = r.get("micro_kind") or "segment"
        rows.append({"rank": int(r["rank"]), "name": place_name(parts, lang), "kind": kind,
                     "n": None if n is None or pd.isna(n) else int(n),
                     "per_100m": None if per is None or pd.isna(per) else float(per),
                     "length_m": None if length is None or pd.isna(length) else float(length),
                     "bin": int(r["bin"]) if kind == "segment" else None})
    return rows


@bp.get("/hotspots")
def hotspot_list():
    """Hotspot areas of the current filters, sortable by every column."""
    filters, night = request_filters(with_bbox=False)
    sort = request.args.get("sort", "n")
    order = request.args.get("order", "desc")
    if sort not in SORT_KEYS:
        raise ParameterError(f"sort must be one of {', '.join(SORT_KEYS)}, got '{sort}'.", "sort")
    if order not in ("asc", "desc"):
        raise ParameterError(f"order must be asc or desc, got '{order}'.", "order")
    viewer = get_viewer()
    areas = viewer.hotspot_areas(filters, night=night)
    names = viewer.hotspot_names(filters, night=night)
    followed = viewer.hotspot_places(filters, night=night)
    lang = current_lang()
    _status, reviewed = viewer.review_status([])
    rows = []
    for _i, r in areas.iterrows():
        zac = r.get("zac")
        rows.append({
            "hotspot_id": r["hotspot_id"], "n": int(r["n"]) if pd.notna(r.get("n")) else None,
            "name": place_name(names.get(str(r["hotspot_id"])), lang),
            "place_id": followed.get(str(r["hotspot_id"])),
            "area_km2": float(r["area_km2"]) if "area_km2" in r and pd.notna(r["area_km2"]) else None,
            # sorted by the Mann-Kendall z of the monthly counts, shown as rising / stable / falling
            "trend": float(r["trend_z"]) if "trend_z" in r and pd.notna(r.get("trend_z")) else None,
            "trend_label": _trend_label(r.get("trend")),
            "trend_code": r.get("trend") if isinstance(r.get("trend"), str) else None,
            "trend_p": float(r["trend_p"]) if "trend_p" in r and pd.notna(r.get("trend_p")) else None,
            "night_share": float(r["night_share"]) if "night_share" in r and pd.notna(r["night_share"]) else None,
            # roles seeing aggregates only get the class (layers.privacy.area_classes)
            "night_class": r.get("night_class") if isinstance(r.get("night_class"), str) else None,
            "zac": ", ".join(zac) if isinstance(zac, (list, tuple)) else (zac if isinstance(zac, str) else ""),
            "status": r.get("status", ""),
        })

    def key(row):
        v = row[sort]
        if v is None and sort in _CLASS_RANK:  # classes only: sorted by their order
            v = _CLASS_RANK[sort].get(row["trend_code" if sort == "trend" else "night_class"])
        return (v is None, v if v is not None else 0) if not isinstance(v, str) else (False, v)

    wanted = normalize_status(request.args.get("status") or None)  # review status filter
    if wanted is not None:
        rows = [r for r in rows if r["status"] == wanted]
    rows.sort(key=key, reverse=(order == "desc"))
    if order == "desc":  # keep missing values last
        rows.sort(key=lambda r: r[sort] is None)
    return render_template("hotspots.html", rows=rows, sort=sort, order=order, reviewed=reviewed,
                           query=filter_query(), methods=describe_methods(areas.attrs.get("vigie", {})),
                           **page_context())


@bp.get("/hotspots/<hotspot_id>")
def hotspot_page(hotspot_id: str):
    """One hotspot: map (with its top micro-places), monthly counts, hour × weekday, categories,
    context, proposals, top micro-places, review."""
    filters, night = request_filters(with_bbox=False)
    viewer = get_viewer()
    lang = current_lang()
    d = viewer.hotspot_detail(hotspot_id, filters, night=night)
    tax = viewer.taxonomy
    query = filter_query()
    bounds = tuple(d["area"].total_bounds)
    pad = 0.003
    bounds = (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
    ctx = {k: v for k, v in d["near"].items() if len(v)}
    top = viewer.micro_places(hotspot_id, filters, night=night)
    micro = micro_place_rows(top, lang)
    if len(top):
        top = top.assign(name=[r["name"] for r in micro])
    status, reviewed = viewer.review_status([hotspot_id])
    cfg = current_app.config

    def page_map():
        return render_parts(build_map(
            MapLayers(context=ctx, hotspots=d["area"], proposals=d.get("proposals"), micro_places=top),
            dynamic=dynamic_layers(["incidents"], query, lang),
            bounds=bounds,
            tile_url=cfg["TILE_URL"],
            tile_attribution=cfg["TILE_ATTRIBUTION"],
            assets=map_assets(), lang=lang,
            hotspot_url=url_for("hotspots.hotspot_page", hotspot_id="ID").replace("ID", "{id}"),
            category_labels={c.code: c.label(lang) for c in tax.categories},
            script_url=url_for("static", filename="js/vigie-map.js"),
        ))

    # the same map for every account of these rights, filters and review status: built once
    # per store version (the dashboard's map is cached the same way)
    key = (str(hotspot_id), filters, night, lang, query, request.script_root, cfg["TILE_URL"],
           cfg["TILE_ATTRIBUTION"], status.get(hotspot_id, ""))
    map_parts = viewer.cached("hotspot_map", key, page_map)
    monthly = {"labels": [str(p) for p in d["monthly"].index], "values": [int(v) if pd.notna(v) else None for v in d["monthly"].values]}
    words = {"weekdays": weekday_names(lang), "incidents": _("faits")}
    profile = None
    if d["profile"] is not None:
        profile = {"hours": list(range(24)), "rows": [[round(float(v), 2) if pd.notna(v) else None for v in row]
                                                for row in d["profile"].to_numpy()]}
    cats = [(tax[c].label(lang) if c in tax else c, int(n), tax[c].sensitive if c in tax else False)
            for c, n in d["categories"].items()]
    row = d["area"].iloc[0]
    name = place_name(viewer.hotspot_names(filters, night=night).get(str(hotspot_id)), lang)
    return render_template(
        "hotspot.html", hotspot_id=hotspot_id, row=row, d=d, cats=cats, name=name, micro=micro,
        map_parts=map_parts, chart_data=json.dumps({"monthly": monthly, "profile": profile, "words": words}),
        status=status.get(hotspot_id, ""), reviewed=reviewed, query=query,
        proposals=_proposals(d, lang), proposals_note=d.get("proposals_note"),
        trend_label=_trend_label(row.get("trend")), methods=describe_methods(d["area"].attrs.get("vigie", {})),
    )
