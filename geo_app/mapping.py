"""Build Vigie's Folium maps (no Flask here: ``build_map`` is tested on its own).

A map holds, each as a toggleable layer with a legend entry:

- small layers embedded in the page (ZAC, areas, schools, shops, cameras with their range);
- aggregates computed by the caller (incident grid counts, Gi* bins, KDE surface, hotspot
  areas, emerging-hotspot categories, proposals);
- *dynamic* layers for large kinds (incident points, street lights): an empty layer that
  ``static/js/vigie-map.js`` fills with the features of the visible bbox fetched from the API,
  drawing points only when zoomed in enough and few enough, otherwise the API's grid counts.

No page ships a whole large layer. Every text from the data is HTML-escaped on the server
(popups of embedded layers) or in the browser (``textContent``) for dynamic layers. Folium's
CDN links are replaced by the self-hosted files (``assets``: resource name -> URL).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template
from folium.utilities import JsCode

from layers.registry import LAYERS

__all__ = [
    "DynamicLayer",
    "Legend",
    "build_map",
    "use_assets",
    "LABELS",
    "GI_BIN_COLORS",
    "layer_names",
    "MapLayers",
    "render_parts",
]

#: Gi* bin (-3..3, ArcGIS Gi_Bin semantics) -> fill colour
GI_BIN_COLORS = {
    3: "#b2182b", 2: "#ef8a62", 1: "#fddbc7", 0: "#f7f7f7",
    -1: "#d1e5f0", -2: "#67a9cf", -3: "#2166ac",
}
_RAMP = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"]
_KDE_RAMP = ["#edf8fb", "#bfd3e6", "#9ebcda", "#8c96c6", "#8856a7", "#810f7c"]
_EMERGING_COLORS = {
    "new": "#fee0d2", "consecutive": "#fcbba1", "intensifying": "#fb6a4a",
    "persistent": "#cb181d", "diminishing": "#fc9272", "sporadic": "#fdd0a2",
    "oscillating": "#fd8d3c", "historical": "#a50f15",
}

#: user-visible strings of the map, per language (the map is built outside any request)
LABELS = {
    "fr": {
        "incident_grid": "Faits constatés — densité (grille)",
        "incident_points": "Faits constatés — points (zoom)",
        "lights": "Éclairage public",
        "cameras": "Vidéoprotection (portée)",
        "gistar": "Points chauds Gi* (niveau de confiance)",
        "kde": "Densité lissée (KDE)",
        "hotspots": "Zones de points chauds",
        "emerging": "Tendances spatio-temporelles",
        "proposals": "Propositions",
        "legend": "Légende",
        "incidents": "faits",
        "cell": "maille",
        "density": "densité (faits/km²)",
        "hot": "chaud", "cold": "froid", "confidence": "confiance",
        "open": "ouvrir la fiche",
        "area": "surface (km²)",
        "range": "portée (m)",
        "simulated": "simulé",
        "late_alcohol": "vente d'alcool tardive",
        "yes": "oui",
        "faulty": "en panne",
        "zoom_in": "Zoomez pour voir les points",
        "level": "niveau", "manager": "gestionnaire", "kind": "type", "address": "adresse",
        "installed": "installée",
    },
    "en": {
        "incident_grid": "Incidents — density (grid)",
        "incident_points": "Incidents — points (zoom in)",
        "lights": "Street lights",
        "cameras": "CCTV cameras (range)",
        "gistar": "Gi* hotspots (confidence)",
        "kde": "Smoothed density (KDE)",
        "hotspots": "Hotspot areas",
        "emerging": "Emerging hotspots",
        "proposals": "Proposals",
        "legend": "Legend",
        "incidents": "incidents",
        "cell": "cell",
        "density": "density (incidents/km²)",
        "hot": "hot", "cold": "cold", "confidence": "confidence",
        "open": "open the hotspot page",
        "area": "area (km²)",
        "range": "range (m)",
        "simulated": "simulated",
        "late_alcohol": "late-night alcohol sale",
        "yes": "yes",
        "faulty": "faulty",
        "zoom_in": "Zoom in to see points",
        "level": "level", "manager": "manager", "kind": "kind", "address": "address",
        "installed": "installed",
    },
}

_STYLE = {
    "zac": {"color": "#e66101", "weight": 2, "fillOpacity": 0.05},
    "areas": {"color": "#555555", "weight": 1, "fillOpacity": 0.0, "dashArray": "4 4"},
    "schools": {"color": "#1f78b4", "radius": 6},
    "shops": {"color": "#6a3d9a", "radius": 5},
    "cameras": {"color": "#1b7837", "radius": 5},
    "lights": {"color": "#d4a017", "radius": 3},
    "incidents": {"color": "#c51b7d", "radius": 4},
}


def layer_names(lang: str = "fr") -> dict[str, str]:
    """Name of every possible map layer, keyed by a stable id (for tests and the UI)."""
    lab = LABELS[lang]
    names = {k: (spec.label_en if lang == "en" else spec.label_fr) for k, spec in LAYERS.items()}
    names.update(
        incident_grid=lab["incident_grid"],
        incidents=lab["incident_points"],
        cameras=lab["cameras"],
        gistar=lab["gistar"],
        kde=lab["kde"],
        hotspots=lab["hotspots"],
        emerging=lab["emerging"],
        proposals=lab["proposals"],
    )
    return names


# ---------------------------------------------------------------------------------------------
# GeoJSON helpers: rounded coordinates (1e-5° ≈ 1 m), escaped popups


def _round(obj, nd: int):
    if isinstance(obj, float):
        return round(obj, nd)
    if isinstance(obj, (list, tuple)):
        return [_round(o, nd) for o in obj]
    return obj


def _esc(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp):
        return html.escape(v.strftime("%Y-%m-%d"))
    return html.escape(str(v))


def _popup(title, rows: Sequence[tuple[str, object]] = (), link: tuple[str, str] | None = None) -> str:
    """Popup HTML with every value escaped."""
    parts = [f"<b>{_esc(title)}</b>"] if title not in (None, "") else []
    parts += [f"{_esc(k)} : {_esc(v)}" for k, v in rows if _esc(v) != ""]
    if link:
        parts.append(f'<a href="{html.escape(link[0], quote=True)}">{_esc(link[1])}</a>')
    return "<br>".join(parts)


def _features(gdf: gpd.GeoDataFrame, props: Callable[[pd.Series], dict], precision: int = 5) -> dict:
    """A GeoJSON FeatureCollection (EPSG:4326, rounded coordinates) with computed properties."""
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    feats = []
    for (_, row), geom in zip(gdf.iterrows(), gdf.geometry):
        if geom is None or geom.is_empty:
            continue
        g = geom.__geo_interface__
        feats.append(
            {"type": "Feature", "geometry": {"type": g["type"], "coordinates": _round(g["coordinates"], precision)},
             "properties": props(row)}
        )
    return {"type": "FeatureCollection", "features": feats}


_BIND_POPUP = JsCode(
    """function(feature, layer) {
        if (feature.properties && feature.properties._popup) {
            layer.bindPopup(feature.properties._popup);
        }
    }"""
)


def _point_to_layer(radius: int, color: str) -> JsCode:
    return JsCode(
        "function(feature, latlng) { return L.circleMarker(latlng, "
        + json.dumps({"radius": radius, "color": color, "weight": 1, "fillOpacity": 0.8})
        + "); }"
    )


#: outline colour of a hotspot area by review status (geo_app.db.STATUSES)
REVIEW_COLORS = {"nouveau": "#b2182b", "en examen": "#e66101", "action décidée": "#5e3c99",
                 "traité": "#1a9641", "classé sans suite": "#7f7f7f"}


def _geojson_layer(data: dict, name: str, *, style: dict | None = None, style_property: str | None = None,
                   point: dict | None = None, show: bool = True) -> folium.FeatureGroup:
    """A FeatureGroup holding one GeoJson; features may carry ``_style`` (a style dict)."""
    fg = folium.FeatureGroup(name=name, show=show)
    style = dict(style or {})

    def style_function(feature):
        s = dict(style)
        s.update(feature["properties"].get("_style", {}))
        return s

    gj = folium.GeoJson(
        data,
        name=name,
        style_function=style_function,
        on_each_feature=_BIND_POPUP,
        point_to_layer=_point_to_layer(point["radius"], point["color"]) if point else None,
        embed=True,
        zoom_on_click=False,
        control=False,
    )
    gj.add_to(fg)
    return fg


def _classes(values: np.ndarray, k: int) -> np.ndarray:
    """Class index 0..k-1 of each value by quantiles of the positive values."""
    values = np.asarray(values, dtype=float)
    pos = values[values > 0]
    if len(pos) == 0:
        return np.zeros(len(values), dtype=int)
    edges = np.unique(np.quantile(pos, np.linspace(0, 1, k + 1)[1:-1]))
    return np.searchsorted(edges, values, side="right").clip(0, k - 1)


# ---------------------------------------------------------------------------------------------
# Custom Folium elements


class DynamicLayer(JSCSSMixin, Layer):
    """A layer filled in the browser from the API for the visible bbox (``vigie-map.js``).

    Parameters
    ----------
    name : str
        Layer name in the layer control.
    kind : str
        Layer kind (``incidents``, ``lights``…).
    url : str
        The kind's GeoJSON endpoint (``/api/layers/<kind>``); its ``/grid`` sibling gives the
        aggregate.
    query : str
        Query string of the current filters, appended to every request.
    min_zoom : int
        Below this zoom level points are never fetched.
    limit : int
        At most this many points are drawn; above, the aggregate is drawn instead.
    aggregate : bool
        Draw the API's grid counts when points are not drawn (else draw nothing and show a hint).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.featureGroup();
            Vigie.dynamicLayer({{ this._parent.get_name() }}, {{ this.get_name() }},
                               {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str, *, kind: str, url: str, query: str = "", min_zoom: int = 15,
                 limit: int = 2000, aggregate: bool = True, style: dict | None = None,
                 labels: dict | None = None, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DynamicLayer"
        self.options = {
            "kind": kind, "url": url, "query": query, "minZoom": int(min_zoom),
            "limit": int(limit), "aggregate": bool(aggregate), "style": style or {},
            "labels": labels or {}, "name": name,
        }
        self.default_js = [("vigie_map", "/static/js/vigie-map.js")]


class Legend(JSCSSMixin, MacroElement):
    """A legend control; each entry is tied to a layer name so the JS hides entries of
    layers switched off. Entries are ``(layer_name, [(colour, label), ...])``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            Vigie.legend({{ this._parent.get_name() }}, {{ this.entries|tojson }},
                         {{ this.title|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, entries: list, title: str, *, js_url: str = "/static/js/vigie-map.js"):
        super().__init__()
        self._name = "Legend"
        self.default_js = [("vigie_map", js_url)]
        self.entries = [
            {"layer": layer, "show": show, "items": [{"color": c, "label": str(lab)} for c, lab in items]}
            for layer, show, items in entries
        ]
        self.title = title


def use_assets(m: folium.Map, assets: Mapping[str, str | None]) -> folium.Map:
    """Replace the CDN URLs of every element of ``m`` by the self-hosted ones.

    ``assets`` maps Folium resource names (``leaflet``, ``leaflet_css``, ``markerclusterjs``…)
    to URLs; a ``None`` URL drops the resource (the page loads it already, or it is not
    needed). An external URL without a replacement raises ``KeyError`` naming it, so a new
    Folium or plugin version cannot silently bring a CDN back.
    """

    def fix(pairs):
        out = []
        for name, url in pairs:
            if name in assets:
                if assets[name] is not None:
                    out.append((name, assets[name]))
            elif url.startswith(("http://", "https://", "//")):
                raise KeyError(f"no self-hosted replacement for Folium resource '{name}' ({url})")
            else:
                out.append((name, url))
        return out

    def walk(el):
        if isinstance(el, JSCSSMixin):
            el.default_js = fix(el.default_js)  # instance attributes: the class lists stay intact
            el.default_css = fix(el.default_css)
        for child in el._children.values():
            walk(child)

    walk(m)
    return m


# ---------------------------------------------------------------------------------------------


@dataclass
class MapLayers:
    """What ``build_map`` can draw (every entry optional)."""

    context: dict = field(default_factory=dict)  # kind -> GeoDataFrame (zac, areas, schools, shops, cameras)
    incident_grid: gpd.GeoDataFrame | None = None  # cells with column n
    gistar: gpd.GeoDataFrame | None = None  # cells with bin (-3..3), z, n
    kde: gpd.GeoDataFrame | None = None  # cells with kde (incidents per km²)
    hotspots: gpd.GeoDataFrame | None = None  # hotspot areas with hotspot_id, n, area_km2
    emerging: gpd.GeoDataFrame | None = None  # cells with category
    proposals: gpd.GeoDataFrame | None = None  # points/polygons with title, technique


def _context_props(kind: str, lab: dict, lang: str):
    def zac(r):
        return {"_popup": _popup(r.get("name"), [(lab["manager"], r.get("manager"))])}

    def areas(r):
        return {"_popup": _popup(r.get("name"), [(lab["level"], r.get("level"))]),
                "_style": {"weight": 2.5, "dashArray": None} if r.get("level") == "commune" else {}}

    def schools(r):
        return {"_popup": _popup(r.get("name"), [(lab["level"], r.get("level"))])}

    def shops(r):
        late = lab["yes"] if bool(r.get("late_alcohol")) is True else ""
        return {"_popup": _popup(r.get("name") or r.get("kind"), [(lab["kind"], r.get("kind")),
                                                                  (lab["late_alcohol"], late)])}

    def cameras(r):
        return {"_popup": _popup(r.get("name"), [(lab["address"], r.get("address")),
                                                 (lab["range"], r.get("range_m")),
                                                 (lab["installed"], r.get("installed"))])}

    def lights(r):
        return {"_popup": _popup(r.get("type"), [(lab["faulty"], lab["yes"] if r.get("status") == "faulty" else "")])}

    def incidents(r):
        return {"_popup": _popup(r.get("category"), [("", r.get("occurred_from"))])}

    return locals()[kind]


def _camera_layer(cams: gpd.GeoDataFrame, name: str, lab: dict, lang: str) -> folium.FeatureGroup:
    """Camera points with their range circle (``range_m``, 100 m when unknown)."""
    fg = _geojson_layer(_features(cams, _context_props("cameras", lab, lang)), name,
                        point=_STYLE["cameras"])
    cams = cams.to_crs(4326) if cams.crs is not None and not cams.crs.equals("EPSG:4326") else cams
    ranges = pd.to_numeric(cams.get("range_m", pd.Series(index=cams.index, dtype=float)), errors="coerce")
    for geom, rng in zip(cams.geometry, ranges.fillna(100.0)):
        if geom is None or geom.is_empty:
            continue
        folium.Circle([round(geom.y, 6), round(geom.x, 6)], radius=float(rng), color="#1b7837",
                      weight=1, fill=True, fill_opacity=0.08, interactive=False).add_to(fg)
    return fg


def build_map(
    layers: MapLayers | None = None,
    *,
    dynamic: Sequence[DynamicLayer] = (),
    bounds: tuple[float, float, float, float] | None = None,
    tile_url: str = "",
    tile_attribution: str = "",
    assets: Mapping[str, str | None] | None = None,
    lang: str = "fr",
    hotspot_url: str = "/hotspots/{id}",
    category_labels: Mapping[str, str] | None = None,
    script_url: str = "/static/js/vigie-map.js",
) -> folium.Map:
    """Build the Folium map of the dashboard or of a hotspot page.

    Parameters
    ----------
    layers : MapLayers
        GeoDataFrames to draw (EPSG:4326 or any CRS, reprojected here). Each non-empty one
        becomes a toggleable layer with a legend entry.
    dynamic : sequence of DynamicLayer
        Layers filled from the API for the visible bbox (incident points, street lights).
    bounds : (minx, miny, maxx, maxy) in lon/lat
        The map fits these bounds; ``None`` fits the drawn layers.
    tile_url, tile_attribution : str
        Basemap; an empty URL gives a blank basemap (closed networks).
    assets : mapping
        Folium resource name -> self-hosted URL (see ``geo_app.assets.self_hosted``). ``None``
        keeps Folium's defaults (only for notebooks: they are CDN links).
    lang : "fr" or "en"
    hotspot_url : str
        Link pattern from a hotspot area's popup to its page (``{id}`` replaced).
    category_labels : mapping
        Category code -> label, for the popups of dynamic incident points.
    script_url : str
        URL of ``vigie-map.js`` (legend and dynamic layers).

    Returns
    -------
    folium.Map
        With a ``LayerControl``; ``m.vigie_layers`` lists the layer names in order.
    """
    lab = LABELS.get(lang, LABELS["fr"])
    names = layer_names(lang if lang in LABELS else "fr")
    layers = layers or MapLayers()
    category_labels = category_labels or {}
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_start=13,
                   location=[0, 0] if bounds is None else [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2])
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution or " ", name="Fond de plan" if lang == "fr" else "Basemap",
                         max_zoom=19, control=False).add_to(m)
    legend: list = []
    drawn: list[str] = []
    extent: list[tuple[float, float, float, float]] = []

    def add(fg, key, items):
        fg.add_to(m)
        drawn.append(fg.layer_name)
        if items:
            legend.append((fg.layer_name, fg.show, items))

    # aggregates first (underneath), then context, then points
    if layers.kde is not None and len(layers.kde):
        kde = layers.kde
        col = "kde" if "kde" in kde else "density"
        kde = kde[kde[col] > 0.05 * kde[col].max()] if len(kde) else kde
        cls = _classes(kde[col].to_numpy(), len(_KDE_RAMP))
        kde = kde.assign(_cls=cls)
        data = _features(kde, lambda r: {"_popup": _popup(lab["kde"], [(lab["density"], f"{r[col]:.1f}")]),
                                         "_style": {"fillColor": _KDE_RAMP[int(r["_cls"])]}}, precision=4)
        add(_geojson_layer(data, names["kde"], style={"weight": 0, "fillOpacity": 0.55}, show=False),
            "kde", [(_KDE_RAMP[0], "−"), (_KDE_RAMP[-1], "+")])
        extent.append(tuple(kde.to_crs(4326).total_bounds))
    if layers.incident_grid is not None and len(layers.incident_grid):
        g = layers.incident_grid
        cls = _classes(g["n"].to_numpy(), len(_RAMP))
        g = g.assign(_cls=cls)
        data = _features(g, lambda r: {"_popup": _popup(f"{int(r['n'])} {lab['incidents']}"),
                                       "_style": {"fillColor": _RAMP[int(r["_cls"])]}}, precision=4)
        lo, hi = int(g["n"].min()), int(g["n"].max())
        add(_geojson_layer(data, names["incident_grid"], style={"weight": 0, "fillOpacity": 0.6}),
            "incident_grid", [(_RAMP[0], f"{lo} {lab['incidents']}"), (_RAMP[-1], f"{hi} {lab['incidents']}")])
        extent.append(tuple(g.to_crs(4326).total_bounds))
    if layers.gistar is not None and len(layers.gistar):
        bincol = "bin" if "bin" in layers.gistar else "gi_bin"
        gi = layers.gistar[layers.gistar[bincol] != 0]
        if len(gi):
            data = _features(gi, lambda r: {
                "_popup": _popup(lab["gistar"], [("Gi* z", f"{r['z']:.2f}" if "z" in r else ""),
                                                 (lab["incidents"], r.get("n")),
                                                 ("bin", int(r[bincol]))]),
                "_style": {"fillColor": GI_BIN_COLORS[int(r[bincol])]}})
            conf = {3: "99 %", 2: "95 %", 1: "90 %"}
            items = [(GI_BIN_COLORS[b], f"{lab['hot']} {conf[b]}") for b in (3, 2, 1)]
            items += [(GI_BIN_COLORS[-b], f"{lab['cold']} {conf[b]}") for b in (1, 2, 3)]
            add(_geojson_layer(data, names["gistar"], style={"weight": 0.5, "color": "#999", "fillOpacity": 0.6},
                               show=False), "gistar", items)
    if layers.emerging is not None and len(layers.emerging):
        em = layers.emerging[~layers.emerging["category"].astype(str).isin(["", "no pattern", "no_pattern"])]
        if len(em):
            def em_color(c):
                for key, col in _EMERGING_COLORS.items():
                    if key in str(c).lower():
                        return "#2166ac" if "cold" in str(c).lower() else col
                return "#cccccc"
            data = _features(em, lambda r: {"_popup": _popup(r["category"]), "_style": {"fillColor": em_color(r["category"])}})
            cats = sorted(em["category"].astype(str).unique())[:10]
            add(_geojson_layer(data, names["emerging"], style={"weight": 0.5, "color": "#777", "fillOpacity": 0.6},
                               show=False), "emerging", [(em_color(c), c) for c in cats])
    if layers.hotspots is not None and len(layers.hotspots):
        hs = layers.hotspots
        # review status (issue 7): shown in the popup and as the outline colour
        status_of = (lambda r: str(r.get("status") or "")) if "status" in hs.columns else (lambda r: "")
        data = _features(hs, lambda r: {"_popup": _popup(
            f"#{r['hotspot_id']}", [(lab["incidents"], r.get("n")),
                                    (lab["area"], f"{r['area_km2']:.3f}" if "area_km2" in r else ""),
                                    (lab.get("status", "Statut"), status_of(r))],
            link=(hotspot_url.replace("{id}", str(r["hotspot_id"])), lab["open"])),
            "_style": {"color": REVIEW_COLORS.get(status_of(r), "#b2182b")}})
        seen = [st for st in REVIEW_COLORS if "status" in hs.columns and (hs["status"] == st).any()]
        add(_geojson_layer(data, names["hotspots"], style={"color": "#b2182b", "weight": 3, "fillOpacity": 0.15}),
            "hotspots", [(REVIEW_COLORS[st], f"{names['hotspots']} — {st}") for st in seen]
            or [("#b2182b", names["hotspots"])])
        extent.append(tuple(hs.to_crs(4326).total_bounds))
    for kind in ("areas", "zac"):
        gdf = layers.context.get(kind)
        if gdf is not None and len(gdf):
            data = _features(gdf, _context_props(kind, lab, lang))
            add(_geojson_layer(data, names[kind], style=_STYLE[kind], show=(kind == "zac")),
                kind, [(_STYLE[kind]["color"], names[kind])])
            extent.append(tuple(gdf.to_crs(4326).total_bounds))
    for kind in ("schools", "shops", "lights", "incidents"):
        gdf = layers.context.get(kind)
        if gdf is not None and len(gdf):
            data = _features(gdf, _context_props(kind, lab, lang))
            add(_geojson_layer(data, names[kind], point=_STYLE[kind], show=kind != "lights"),
                kind, [(_STYLE[kind]["color"], names[kind])])
    cams = layers.context.get("cameras")
    if cams is not None and len(cams):
        add(_camera_layer(cams, names["cameras"], lab, lang), "cameras",
            [(_STYLE["cameras"]["color"], names["cameras"])])
    if layers.proposals is not None and len(layers.proposals):
        pr = layers.proposals
        data = _features(pr, lambda r: {"_popup": _popup(r.get("title", lab["proposals"]),
                                                         [("", r.get("technique")), ("", r.get("reason"))])})
        add(_geojson_layer(data, names["proposals"], style={"color": "#01665e", "weight": 2},
                           point={"radius": 7, "color": "#01665e"}), "proposals", [("#01665e", names["proposals"])])
    for dyn in dynamic:
        dyn.options.setdefault("labels", {}).update(
            {"zoom_in": lab["zoom_in"], "simulated": lab["simulated"], "incidents": lab["incidents"],
             "categories": dict(category_labels)})
        dyn.default_js = [("vigie_map", script_url)]
        dyn.add_to(m)
        drawn.append(dyn.layer_name)
        color = dyn.options["style"].get("color", "#333")
        legend.append((dyn.layer_name, dyn.show, [(color, dyn.layer_name)]))

    folium.LayerControl(collapsed=False).add_to(m)
    Legend(legend, lab["legend"], js_url=script_url).add_to(m)
    fit = bounds
    if fit is None and extent:
        arr = np.array(extent, dtype=float)
        fit = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
    if fit is not None and all(np.isfinite(fit)):
        m.fit_bounds([[fit[1], fit[0]], [fit[3], fit[2]]])
    m.vigie_layers = drawn
    m.vigie_bounds = fit
    if assets is not None:
        use_assets(m, assets)
    return m


def render_parts(m: folium.Map) -> dict[str, str]:
    """The map's ``header`` (links, CSS), ``html`` (the div) and ``script`` for a template."""
    root = m.get_root()
    root.render()
    return {
        "header": root.header.render(),
        "html": root.html.render(),
        "script": root.script.render(),
    }

