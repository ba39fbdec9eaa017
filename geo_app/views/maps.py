"""The dashboard map at ``/``: filters, key figures and the Folium map of every layer."""

from __future__ import annotations

import pandas as pd
from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _

from geo_app.assets import self_hosted
from geo_app.i18n import weekday_names
from geo_app.mapping import DynamicLayer, LazyLayer, build_map, layer_names, render_parts
from geo_app.services import get_services
from geo_app.style import LAYER
from geo_app.views.common import filter_query, request_filters
from geo_app.views.i18n import current_lang

__all__ = ["bp", "page_context", "map_assets"]

bp = Blueprint("maps", __name__)

_DYNAMIC_STYLE = {kind: {"color": LAYER[kind], "radius": r}
                  for kind, r in (("incidents", 4), ("lights", 3), ("shops", 5), ("schools", 6), ("cameras", 5))}


@bp.app_template_filter("d")
def _date(ts) -> str:
    """A timestamp as a local date (YYYY-MM-DD)."""
    if ts is None or pd.isna(ts):
        return ""
    return pd.Timestamp(ts).tz_convert(get_services().tz).strftime("%Y-%m-%d")


def map_assets() -> dict:
    """Folium resources -> self-hosted URLs; Bootstrap is loaded by the base layout already."""
    return self_hosted(url_for("vendor.vendor", filename=""), drop=("bootstrap", "bootstrap_css", "glyphicons_css"))


def page_context() -> dict:
    """Template values of the filter form (taxonomy groups, weekdays, ZAC names)."""
    svc = get_services()
    tax, lang = svc.taxonomy, current_lang()
    groups = [(g, [c for c in tax.categories if c.group == g.code]) for g in tax.groups]
    zac = svc.frame("zac")
    return {
        "category_groups": [(g, cats) for g, cats in groups if cats],
        "weekday_names": list(enumerate(weekday_names(lang))),
        "zac_names": sorted(zac["name"].dropna().unique()) if len(zac) else [],
    }


def sees_points() -> bool:
    """May the current user see incidents as points (``geo_app.access``)?"""
    if "vigie_db" not in current_app.extensions:
        return True
    from geo_app.access import incident_access
    from geo_app.auth import current_account

    return incident_access(current_account(), get_services().taxonomy).points


def dynamic_layers(kinds, query: str, lang: str) -> list[DynamicLayer]:
    """The layers the page loads per bbox from the API."""
    cfg = current_app.config
    names = layer_names(lang)
    out = []
    for kind in kinds:
        if kind == "incidents" and not sees_points():  # issue 7: roles without points
            continue
        out.append(DynamicLayer(
            names[kind], kind=kind, url=url_for("api.layer", kind=kind), query=query,
            min_zoom=cfg["POINTS_MIN_ZOOM"], limit=cfg["POINTS_LIMIT"],
            aggregate=(kind != "incidents"), style=_DYNAMIC_STYLE.get(kind, {}),
            show=(kind == "incidents"),
        ))
    return out


def lazy_layers(keys, query: str, lang: str) -> list[LazyLayer]:
    """Hidden analysis layers the page fetches from ``/api/map/<key>`` when switched on."""
    names = layer_names(lang)
    return [LazyLayer(names[k], key=k, url=url_for("api.map_layer", key=k), query=query) for k in keys]


@bp.get("/")
def dashboard():
    """Dashboard: aggregated incidents, context layers, hotspot results; points on demand."""
    filters, night = request_filters(with_bbox=False)
    svc = get_services()
    lang = current_lang()
    data = svc.dashboard(filters, night=night, cells=current_app.config["GRID_CELLS"])
    query = filter_query()
    tax = svc.taxonomy
    m = build_map(
        data["layers"],
        dynamic=dynamic_layers(data["dynamic"], query, lang),
        lazy=lazy_layers(data.get("lazy", ()), query, lang),
        bounds=data["extent"],
        tile_url=current_app.config["TILE_URL"],
        tile_attribution=current_app.config["TILE_ATTRIBUTION"],
        assets=map_assets(),
        lang=lang,
        hotspot_url=url_for("hotspots.hotspot_page", hotspot_id="ID") .replace("ID", "{id}") + (f"?{query}" if query else ""),
        category_labels={c.code: c.label(lang) for c in tax.categories},
        script_url=url_for("static", filename="js/vigie-map.js"),
    )
    notes = [_("Les résultats de points chauds ne sont pas encore disponibles.") if n == "hotspots_unavailable" else n
             for n in data["notes"]]
    return render_template(
        "dashboard.html",
        map_parts=render_parts(m),
        figures=data["figures"],
        counts=data["counts"],
        notes=notes,
        query=query,
        share_url=request.path + ("?" + query if query else ""),
        layer_names=m.vigie_layers,
        **page_context(),
    )
