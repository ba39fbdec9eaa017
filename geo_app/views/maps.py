"""The dashboard map at ``/``: filters, key figures and the Folium map of every layer."""

from __future__ import annotations

import hashlib

import pandas as pd
from flask import Blueprint, current_app, render_template, request, url_for

from geo_app.assets import self_hosted
from geo_app.auth import get_viewer
from geo_app.i18n import weekday_names
from geo_app.mapping import DynamicLayer, LazyLayer, MapLayers, build_map, layer_names, render_parts
from geo_app.style import LAYER
from geo_app.views.common import filter_query, request_filters
from geo_app.views.i18n import current_lang

__all__ = ["bp", "map_assets", "page_context"]

bp = Blueprint("maps", __name__)

_DYNAMIC_STYLE = {kind: {"color": LAYER[kind], "radius": r}
                  for kind, r in (("incidents", 4), ("lights", 3), ("shops", 5), ("schools", 6), ("cameras", 5))}


@bp.app_template_filter("d")
def _date(ts) -> str:
    """A timestamp as a local date (YYYY-MM-DD)."""
    if ts is None or pd.isna(ts):
        return ""
    return pd.Timestamp(ts).tz_convert(get_viewer().tz).strftime("%Y-%m-%d")


def map_assets() -> dict:
    """Folium resources -> self-hosted URLs; Bootstrap is loaded by the base layout already."""
    return self_hosted(url_for("vendor.vendor", filename=""), drop=("bootstrap", "bootstrap_css", "glyphicons_css"))


def page_context() -> dict:
    """Template values of the filter form (taxonomy groups, weekdays, ZAC names)."""
    viewer = get_viewer()
    tax, lang = viewer.taxonomy, current_lang()
    groups = [(g, [c for c in tax.categories if c.group == g.code]) for g in tax.groups]
    return {
        "category_groups": [(g, cats) for g, cats in groups if cats],
        "weekday_names": list(enumerate(weekday_names(lang))),
        "zac_names": viewer.zac_names(),
    }


def dynamic_layers(kinds, query: str, lang: str) -> list[DynamicLayer]:
    """The layers the page loads per bbox from the API."""
    cfg = current_app.config
    names = layer_names(lang)
    out = []
    for kind in kinds:
        if kind == "incidents" and not get_viewer().sees_points:
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


def concentration_card(c: dict | None) -> dict | None:
    """The dashboard's concentration card: shares of street segments holding 50 % and 100 % of
    the incidents, and the share of incidents on the top 5 % of segments, as "4.4 %" text."""
    if not c or not c.get("incidents"):
        return None

    def pct(v):
        return f"{100 * v:.1f} %" if v < 0.1 else f"{100 * v:.0f} %"

    top5 = next((p["share_incidents"] for p in c["curve"] if abs(p["share_places"] - 0.05) < 1e-9), None)
    return {"p50": pct(c["share_places_50"]), "p100": pct(c["share_places_100"]),
            "top5": None if top5 is None else pct(top5), "segments": c["places"]}


def _fingerprint(frame) -> str | None:
    """A digest of a small layer that lives in the application database, not in the store (the
    places followed and their actions): part of the cached map's key, so that a new place or
    action shows at the next visit although the store version did not move."""
    if frame is None or not len(frame):
        return None
    return hashlib.sha1(pd.util.hash_pandas_object(frame.to_wkb(hex=True).astype(str), index=False).to_numpy().tobytes()).hexdigest()


def _map(viewer, data: dict, query: str, lang: str) -> tuple[dict, list[str]]:
    """The dashboard's rendered map parts (``render_parts``) and its layer names."""
    tax = viewer.taxonomy
    m = build_map(
        MapLayers(context=data["context"], incident_grid=data["incident_grid"], gistar=data["gistar"],
                  hotspots=data["hotspots"], places=data.get("places"), actions=data.get("actions")),
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
        place_url=url_for("places.place_page", place_id="ID").replace("ID", "{id}"),
    )
    return render_parts(m), list(m.vigie_layers)


@bp.get("/")
def dashboard():
    """Dashboard: aggregated incidents, context layers, hotspot results; points on demand."""
    filters, night = request_filters(with_bbox=False)
    viewer = get_viewer()
    lang = current_lang()
    data = viewer.dashboard(filters, night=night, cells=current_app.config["GRID_CELLS"])
    query = filter_query()
    hotspots = data["hotspots"]
    statuses = tuple(hotspots["status"]) if hotspots is not None and "status" in hotspots.columns else ()
    cfg = current_app.config
    key = (filters, night, cfg["GRID_CELLS"], lang, query, request.script_root, cfg["TILE_URL"],
           cfg["TILE_ATTRIBUTION"], statuses, _fingerprint(data.get("places")), _fingerprint(data.get("actions")))
    # the map is the same for every account of these rights, filters, review statuses, places and
    # actions: built and rendered once per store version, then served from the workspace's cache
    parts, names = viewer.cached("dashboard_map", key, lambda: _map(viewer, data, query, lang))
    return render_template(
        "dashboard.html",
        map_parts=parts,
        figures=data["figures"],
        concentration=concentration_card(data.get("concentration")),
        counts=data["counts"],
        notes=data["notes"],
        query=query,
        share_url=request.path + ("?" + query if query else ""),
        layer_names=names,
        **page_context(),
    )
