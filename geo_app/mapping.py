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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from geo_app.i18n import LANGS, emerging_code, gettext_for, label, labels, layer_label
from geo_app.style import ACTION, EMERGING, GI_BIN, INCIDENT_RAMP, KDE_RAMP, LAYER, PROPOSAL, STATUS
from layers.registry import LAYERS

__all__ = [
    "DynamicLayer",
    "LazyLayer",
    "Legend",
    "MapLayers",
    "build_map",
    "layer_names",
    "lazy_features",
    "lazy_legend",
    "render_parts",
    "use_assets",
]

_STYLE = {
    "zac": {"color": LAYER["zac"], "weight": 2, "fillOpacity": 0.05},
    "areas": {"color": LAYER["areas"], "weight": 1, "fillOpacity": 0.0, "dashArray": "4 4"},
    "schools": {"color": LAYER["schools"], "radius": 6},
    "shops": {"color": LAYER["shops"], "radius": 5},
    "cameras": {"color": LAYER["cameras"], "radius": 5},
    "lights": {"color": LAYER["lights"], "radius": 3},
    "incidents": {"color": LAYER["incidents"], "radius": 4},
}


def layer_names(lang: str = "fr") -> dict[str, str]:
    """Name of every possible map layer, keyed by a stable id (for tests and the UI)."""
    _ = gettext_for(lang)
    names = {k: layer_label(k, lang) for k in LAYERS}
    names.update(
        incident_grid=_("Faits constatés — densité (grille)"),
        incidents=_("Faits constatés — points (zoom)"),
        cameras=_("Vidéoprotection (portée)"),
        gistar=_("Points chauds Gi* (niveau de confiance)"),
        kde=_("Densité lissée (KDE)"),
        hotspots=_("Zones de points chauds"),
        emerging=_("Tendances spatio-temporelles"),
        proposals=_("Propositions"),
        places=_("Lieux suivis"),
        actions=_("Actions"),
        micro_places=_("Micro-lieux (tronçons et intersections)"),
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
    for k, v in rows:
        text = _esc(v)
        if text != "":
            parts.append(f"{_esc(k)} : {text}")
    if link:
        parts.append(f'<a href="{html.escape(link[0], quote=True)}">{_esc(link[1])}</a>')
    return "<br>".join(parts)


def _features(gdf: gpd.GeoDataFrame, props: Callable[[dict], dict], precision: int = 5) -> dict:
    """A GeoJSON FeatureCollection (EPSG:4326, rounded coordinates) with computed properties.

    Vectorised: coordinates are rounded and written by GEOS (``shapely.to_geojson``), rows are
    plain dicts (``props`` receives one dict per row), so thousands of cells take milliseconds.
    """
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    geoms = np.asarray(gdf.geometry.values)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.all():
        gdf, geoms = gdf[ok], geoms[ok]
    texts = shapely.to_geojson(shapely.transform(geoms, lambda c: np.round(c, precision)))
    records = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).to_dict("records")
    geometries = json.loads("[" + ",".join(texts) + "]")  # one parse, not one per feature
    feats = [{"type": "Feature", "geometry": g, "properties": props(r)} for g, r in zip(geometries, records)]
    return {"type": "FeatureCollection", "features": feats}


class _Text(Element):
    """Already rendered text, added to the figure as is."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class _SafeMacro(MacroElement):
    """A macro element whose rendered parts are added to the figure as text.

    Branca wraps each rendered part in ``Element(text)``, which compiles it as a *new* Jinja
    template: data holding ``{{ … }}`` (a school's name, a popup) would then be evaluated on
    the server (template injection), and a megabyte of GeoJSON is lexed for nothing. Vigie's
    own elements derive from this class instead.
    """

    def render(self, **kwargs):
        figure = self.get_root()
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = self._template.module.__dict__.get(part)
            if macro is not None:
                target.add_child(_Text(str(macro(self, kwargs))), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


#: characters escaped in JSON embedded in a script: HTML-significant ones (as Jinja's ``tojson``),
#: the JS line separators, and Jinja delimiters (never structural in JSON: only inside strings)
_SCRIPT_ESCAPES = (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027"),
                   ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
                   ("{{", "{\\u007b"), ("{%", "{\\u0025"), ("{#", "{\\u0023"))


def script_json(obj) -> str:
    """Compact JSON safe inside a ``<script>`` element (``<``, ``>``, ``&``, ``'`` and the JS
    line separators escaped, as Jinja's ``tojson``), non-ASCII text kept as UTF-8."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for raw, esc in _SCRIPT_ESCAPES:
        text = text.replace(raw, esc)
    return text


class _GeoJsonData(_SafeMacro):
    """Embedded GeoJSON drawn by one ``L.geoJSON``: each feature may carry ``_style`` (merged
    over ``style``) and ``_popup`` (HTML escaped on the server). Lighter than ``folium.GeoJson``,
    which styles and copies every feature in Python."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.geoJSON({{ this.json }}, {
                style: function (f) { return Object.assign({}, {{ this.style|tojson }}, f.properties._style || {}); },
                pointToLayer: function (f, latlng) {
                    if (f.properties._radius_m) {  /* a circle of a ground radius (camera range) */
                        return L.circle(latlng, Object.assign({weight: 1, fillOpacity: 0.08, interactive: false},
                                                             {{ this.point|tojson }}, {radius: f.properties._radius_m}));
                    }
                    return L.circleMarker(latlng, Object.assign({weight: 1, fillOpacity: 0.8},
                                                                {{ this.point|tojson }}, f.properties._style || {}));
                },
                onEachFeature: function (f, layer) { if (f.properties._popup) { layer.bindPopup(f.properties._popup); } }
            }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, *, style: dict | None = None, point: dict | None = None):
        super().__init__()
        self._name = "GeoJsonData"
        self.data = data
        self.json = script_json(data)
        self.style = {k: v for k, v in (style or {}).items() if v is not None}
        self.point = dict(point or {})


def _geojson_layer(data: dict, name: str, *, style: dict | None = None, style_property: str | None = None,
                   point: dict | None = None, show: bool = True) -> folium.FeatureGroup:
    """A FeatureGroup holding the features; features may carry ``_style`` (a style dict)."""
    fg = folium.FeatureGroup(name=name, show=show)
    _GeoJsonData(data, style=style, point=point).add_to(fg)
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


class DynamicLayer(JSCSSMixin, Layer, _SafeMacro):
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


class Legend(JSCSSMixin, _SafeMacro):
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
    places: gpd.GeoDataFrame | None = None  # places followed: place_id, name, status (Viewer.place_frame)
    actions: gpd.GeoDataFrame | None = None  # points: place_id, place_name, kind, status, dates, partner
    micro_places: gpd.GeoDataFrame | None = None  # segments (lines), intersections (points): name, rank, bin, n


def _context_props(kind: str, _, lang: str):
    def zac(r):
        return {"_popup": _popup(r.get("name"), [(_("gestionnaire"), r.get("manager"))])}

    def areas(r):
        return {"_popup": _popup(r.get("name"), [(_("niveau"), r.get("level"))]),
                "_style": {"weight": 2.5, "dashArray": None} if r.get("level") == "commune" else {}}

    def schools(r):
        return {"_popup": _popup(r.get("name"), [(_("niveau"), r.get("level"))])}

    def shops(r):
        late = _("oui") if bool(r.get("late_alcohol")) is True else ""
        return {"_popup": _popup(r.get("name") or r.get("kind"), [(_("type"), r.get("kind")),
                                                                  (_("vente d'alcool tardive"), late)])}

    def cameras(r):
        return {"_popup": _popup(r.get("name"), [(_("adresse"), r.get("address")),
                                                 (_("portée (m)"), r.get("range_m")),
                                                 (_("installée"), r.get("installed"))])}

    def lights(r):
        return {"_popup": _popup(r.get("type"), [(_("en panne"), _("oui") if r.get("status") == "faulty" else "")])}

    def incidents(r):
        return {"_popup": _popup(r.get("category"), [("", r.get("occurred_from"))])}

    return locals()[kind]


def _camera_layer(cams: gpd.GeoDataFrame, name: str, _, lang: str) -> folium.FeatureGroup:
    """Camera points with their range circle (``range_m``, 100 m when unknown).

    The circles are one more embedded GeoJSON (points with ``_radius_m``, drawn as
    ``L.circle``), not a ``folium.Circle`` each: Folium compiles a Jinja template per element,
    which for 150 cameras was half the time of a dashboard."""
    fg = _geojson_layer(_features(cams, _context_props("cameras", _, lang)), name,
                        point=_STYLE["cameras"])
    ranges = pd.to_numeric(cams.get("range_m", pd.Series(index=cams.index, dtype=float)), errors="coerce")
    circles = gpd.GeoDataFrame({"_radius_m": ranges.fillna(100.0).astype(float).to_numpy()},
                               geometry=cams.geometry.values, crs=cams.crs)
    _GeoJsonData(_features(circles, lambda r: {"_radius_m": r["_radius_m"]}, precision=6),
                 point={"color": LAYER["cameras"]}).add_to(fg)
    return fg


def _layer_kde(kde: gpd.GeoDataFrame, _):
    if "kde_class" in kde and "kde" not in kde:  # density classes only (aggregate-only roles)
        kde = kde[kde["kde_class"] > 0] if len(kde) else kde
        ramp = np.linspace(0, len(KDE_RAMP) - 1, 6).round().astype(int)
        data = _features(kde, lambda r: {"_popup": _popup(_("Densité lissée (KDE)"), [("", f"{int(r['kde_class'])}/5")]),
                                         "_style": {"fillColor": KDE_RAMP[ramp[int(r["kde_class"])]]}}, precision=4)
        return data, {"weight": 0, "fillOpacity": 0.55}, None, [(KDE_RAMP[0], "−"), (KDE_RAMP[-1], "+")]
    col = "kde" if "kde" in kde else "density"
    kde = kde[kde[col] > 0.05 * kde[col].max()] if len(kde) else kde
    kde = kde.assign(_cls=_classes(kde[col].to_numpy(), len(KDE_RAMP)))
    data = _features(kde, lambda r: {"_popup": _popup(_("Densité lissée (KDE)"), [(_("densité (faits/km²)"), f"{r[col]:.1f}")]),
                                     "_style": {"fillColor": KDE_RAMP[int(r["_cls"])]}}, precision=4)
    return data, {"weight": 0, "fillOpacity": 0.55}, None, [(KDE_RAMP[0], "−"), (KDE_RAMP[-1], "+")]


def _layer_emerging(em: gpd.GeoDataFrame, _, lang: str):
    codes = em["category"].map(emerging_code)
    keep = codes.notna() & (codes != "no_pattern")
    em, codes = em[keep.to_numpy()].assign(_code=codes[keep]), codes[keep]
    data = _features(em, lambda r: {
        "_popup": _popup(label("emerging", r["_code"], lang), [(_("faits"), r.get("n"))]),
        "_style": {"fillColor": EMERGING[r["_code"]]}})
    present = set(codes)
    return (data, {"weight": 0.5, "color": "#777", "fillOpacity": 0.6}, None,
            [(EMERGING[c], label("emerging", c, lang)) for c in EMERGING if c in present][:10])


def _proposal_legend(lang: str) -> list:
    return [(PROPOSAL[k], label("proposal_title", k, lang)) for k in PROPOSAL]


def _layer_proposals(pr: gpd.GeoDataFrame, _, lang: str):
    suffix = "en" if lang == "en" else "fr"

    def props(r):
        kind = str(r.get("kind") or "")
        name = label("proposal_title", kind, lang) if kind in PROPOSAL else _("Propositions")
        return {"_popup": _popup(f"{name} #{r.get('rank', '')}".strip(),
                                 [("", r.get(f"technique_{suffix}", r.get("technique"))),
                                  ("", r.get(f"reason_{suffix}", r.get("reason"))),
                                  ("", r.get(f"evidence_{suffix}"))]),
                "_style": {"color": PROPOSAL.get(kind, LAYER["proposals"])}}

    return (_features(pr, props), {"color": LAYER["proposals"], "weight": 2},
            {"radius": 7, "color": LAYER["proposals"]}, _proposal_legend(lang))


def _layer_places(pl: gpd.GeoDataFrame, _, lang: str, place_url: str):
    def props(r):
        st = str(r.get("status") or "")
        return {"_popup": _popup(r.get("name"), [(_("Lieu suivi"), r.get("place_id")),
                                                 (_("Statut"), label("status", st, lang) if st else ""),
                                                 (_("Partenaire"), r.get("owner"))],
                                 link=(place_url.replace("{id}", str(r["place_id"])), _("ouvrir la fiche"))),
                "_style": {"color": STATUS.get(st, LAYER["places"])}}

    seen = [st for st in STATUS if "status" in pl.columns and (pl["status"] == st).any()]
    items = [(STATUS[st], label("status", st, lang)) for st in seen] or [(LAYER["places"], _("Lieux suivis"))]
    return _features(pl, props), {"color": LAYER["places"], "weight": 3, "fillOpacity": 0.1, "dashArray": "6 3"}, items


def _layer_actions(ac: gpd.GeoDataFrame, _, lang: str, place_url: str):
    def props(r):
        kind = str(r.get("kind") or "")
        dates = str(r.get("start_date") or "") + (f" → {r.get('end_date')}" if r.get("end_date") else "")
        return {"_popup": _popup(label("action_kind", kind, lang) if kind in ACTION else kind,
                                 [(_("Statut"), label("action_status", r.get("status"), lang) if r.get("status") else ""),
                                  (_("Dates"), dates), (_("Partenaire"), r.get("partner")),
                                  (_("Lieu suivi"), r.get("place_name"))],
                                 link=(place_url.replace("{id}", str(r["place_id"])), _("ouvrir la fiche"))),
                "_style": {"color": ACTION.get(kind, LAYER["actions"]), "fillColor": ACTION.get(kind, LAYER["actions"])}}

    present = [k for k in ACTION if "kind" in ac.columns and (ac["kind"] == k).any()]
    items = [(ACTION[k], label("action_kind", k, lang)) for k in present]
    return _features(ac, props), {"radius": 8, "color": LAYER["actions"]}, items


def _layer_micro_places(mp: gpd.GeoDataFrame, _, lang: str):
    def props(r):
        n = r.get("n")
        return {"_popup": _popup(f"#{r.get('rank', '')} {r.get('name') or ''}".strip(),
                                 [(_("faits"), None if n is None or pd.isna(n) else int(n))]),
                "_style": {"color": GI_BIN.get(int(r.get("bin") or 0), LAYER["micro_places"])
                           if int(r.get("bin") or 0) > 0 else LAYER["micro_places"]}}

    return _features(mp, props), {"color": LAYER["micro_places"], "weight": 6, "opacity": 0.85}, \
        [(LAYER["micro_places"], _("Micro-lieux (tronçons et intersections)"))]


#: hidden dashboard layers computed and loaded on demand: key -> features builder
LAZY_BUILDERS = {"kde": lambda g, _, lang: _layer_kde(g, _),
                 "emerging": _layer_emerging, "proposals": _layer_proposals}


def lazy_features(key: str, gdf: gpd.GeoDataFrame, lang: str = "fr") -> dict:
    """The FeatureCollection a ``LazyLayer`` draws (``_style`` / ``_popup`` per feature, popups
    escaped), with the layer's default ``style`` and ``point`` style and its ``legend``."""
    _ = gettext_for(lang)
    if gdf is None or not len(gdf):
        return {"type": "FeatureCollection", "features": [], "style": {}, "point": {}, "legend": []}
    data, style, point, items = LAZY_BUILDERS[key](gdf, _, lang)
    data.update(style=style, point=point or {}, legend=[{"color": c, "label": str(t)} for c, t in items])
    return data


def lazy_legend(key: str, lang: str = "fr") -> list:
    """Legend entries of a lazy layer known before it is computed."""
    if key == "kde":
        return [(KDE_RAMP[0], "−"), (KDE_RAMP[-1], "+")]
    if key == "emerging":
        shown = ("new_hot", "consecutive_hot", "intensifying_hot", "persistent_hot", "diminishing_hot",
                 "historical_hot", "new_cold", "persistent_cold")
        return [(EMERGING[c], label("emerging", c, lang)) for c in shown]
    return _proposal_legend(lang)


class LazyLayer(JSCSSMixin, Layer, _SafeMacro):
    """A hidden layer whose features are fetched once from ``url`` (``lazy_features`` JSON)
    the first time it is switched on, then kept (``vigie-map.js``).

    Parameters
    ----------
    name : str
        Layer name in the layer control.
    key : str
        ``kde``, ``emerging`` or ``proposals`` (``LAZY_BUILDERS``).
    url : str
        Endpoint answering the FeatureCollection (``/api/map/<key>``).
    query : str
        Query string of the current filters.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.featureGroup();
            Vigie.lazyLayer({{ this._parent.get_name() }}, {{ this.get_name() }},
                            {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str, *, key: str, url: str, query: str = "", show: bool = False):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "LazyLayer"
        self.options = {"key": key, "url": url, "query": query, "name": name, "labels": {}}
        self.default_js = [("vigie_map", "/static/js/vigie-map.js")]


def build_map(
    layers: MapLayers | None = None,
    *,
    dynamic: Sequence[DynamicLayer] = (),
    lazy: Sequence[LazyLayer] = (),
    bounds: tuple[float, float, float, float] | None = None,
    tile_url: str = "",
    tile_attribution: str = "",
    assets: Mapping[str, str | None] | None = None,
    lang: str = "fr",
    hotspot_url: str = "/hotspots/{id}",
    category_labels: Mapping[str, str] | None = None,
    script_url: str = "/static/js/vigie-map.js",
    place_url: str = "/places/{id}",
) -> folium.Map:
    """Build the Folium map of the dashboard or of a hotspot page.

    Parameters
    ----------
    layers : MapLayers
        GeoDataFrames to draw (EPSG:4326 or any CRS, reprojected here). Each non-empty one
        becomes a toggleable layer with a legend entry.
    dynamic : sequence of DynamicLayer
        Layers filled from the API for the visible bbox (incident points, street lights).
    lazy : sequence of LazyLayer
        Hidden analysis layers fetched whole from the API the first time they are switched on
        (KDE, emerging hotspots, proposals: costly to compute, rarely all looked at).
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
    place_url : str
        Link pattern from a place's or an action's popup to the place's page (``{id}`` replaced).

    Returns
    -------
    folium.Map
        With a ``LayerControl``; ``m.vigie_layers`` lists the layer names in order.
    """
    lang = lang if lang in LANGS else "fr"
    _ = gettext_for(lang)
    names = layer_names(lang)
    layers = layers or MapLayers()
    category_labels = category_labels or {}
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_start=13,
                   location=[0, 0] if bounds is None else [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2])
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution or " ", name=_("Fond de plan"),
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
        data, style, point, items = _layer_kde(layers.kde, _)
        add(_geojson_layer(data, names["kde"], style=style, show=False), "kde", items)
        extent.append(tuple(layers.kde.to_crs(4326).total_bounds))
    if layers.incident_grid is not None and len(layers.incident_grid):
        g = layers.incident_grid
        cls = _classes(g["n"].to_numpy(), len(INCIDENT_RAMP))
        g = g.assign(_cls=cls)
        word = _("faits")
        data = _features(g, lambda r: {"_popup": _popup(f"{int(r['n'])} {word}"),
                                       "_style": {"fillColor": INCIDENT_RAMP[int(r["_cls"])]}}, precision=4)
        lo, hi = int(g["n"].min()), int(g["n"].max())
        add(_geojson_layer(data, names["incident_grid"], style={"weight": 0, "fillOpacity": 0.6}),
            "incident_grid", [(INCIDENT_RAMP[0], f"{lo} {word}"), (INCIDENT_RAMP[-1], f"{hi} {word}")])
        extent.append(tuple(g.to_crs(4326).total_bounds))
    if layers.gistar is not None and len(layers.gistar):
        bincol = "bin" if "bin" in layers.gistar else "gi_bin"
        gi = layers.gistar[layers.gistar[bincol] != 0]
        if len(gi):
            data = _features(gi, lambda r: {
                "_popup": _popup(_("Points chauds Gi* (niveau de confiance)"), [("Gi* z", f"{r['z']:.2f}" if "z" in r else ""),
                                                 (_("faits"), r.get("n")),
                                                 ("bin", int(r[bincol]))]),
                "_style": {"fillColor": GI_BIN[int(r[bincol])]}})
            bins = labels("gi_bin", lang)
            items = [(GI_BIN[b], bins[str(b)]) for b in (3, 2, 1, -1, -2, -3)]
            add(_geojson_layer(data, names["gistar"], style={"weight": 0.5, "color": "#999", "fillOpacity": 0.6},
                               show=False), "gistar", items)
    if layers.emerging is not None and len(layers.emerging):
        data, style, point, items = _layer_emerging(layers.emerging, _, lang)
        if data["features"]:
            add(_geojson_layer(data, names["emerging"], style=style, show=False), "emerging", items)
    if layers.hotspots is not None and len(layers.hotspots):
        hs = layers.hotspots
        # review status: shown in the popup and as the outline colour
        status_of = (lambda r: str(r.get("status") or "")) if "status" in hs.columns else (lambda r: "")
        data = _features(hs, lambda r: {"_popup": _popup(
            f"#{r['hotspot_id']}", [(_("faits"), r.get("n")),
                                    (_("surface (km²)"), f"{r['area_km2']:.3f}" if "area_km2" in r else ""),
                                    (_("Statut"), label("status", status_of(r), lang))],
            link=(hotspot_url.replace("{id}", str(r["hotspot_id"])), _("ouvrir la fiche"))),
            "_style": {"color": STATUS.get(status_of(r), STATUS["new"])}})
        seen = [st for st in STATUS if "status" in hs.columns and (hs["status"] == st).any()]
        add(_geojson_layer(data, names["hotspots"], style={"color": LAYER["hotspots"], "weight": 3, "fillOpacity": 0.15}),
            "hotspots", [(STATUS[st], f"{names['hotspots']} — {label('status', st, lang)}") for st in seen]
            or [(LAYER["hotspots"], names["hotspots"])])
        extent.append(tuple(hs.to_crs(4326).total_bounds))
    if layers.places is not None and len(layers.places):
        data, style, items = _layer_places(layers.places, _, lang, place_url)
        add(_geojson_layer(data, names["places"], style=style), "places", items)
        extent.append(tuple(layers.places.to_crs(4326).total_bounds))
    if layers.micro_places is not None and len(layers.micro_places):
        data, style, items = _layer_micro_places(layers.micro_places, _, lang)
        add(_geojson_layer(data, names["micro_places"], style=style, point={"radius": 7, "weight": 2}),
            "micro_places", items)
    for kind in ("areas", "zac"):
        gdf = layers.context.get(kind)
        if gdf is not None and len(gdf):
            data = _features(gdf, _context_props(kind, _, lang))
            add(_geojson_layer(data, names[kind], style=_STYLE[kind], show=(kind == "zac")),
                kind, [(_STYLE[kind]["color"], names[kind])])
            extent.append(tuple(gdf.to_crs(4326).total_bounds))
    for kind in ("schools", "shops", "lights", "incidents"):
        gdf = layers.context.get(kind)
        if gdf is not None and len(gdf):
            data = _features(gdf, _context_props(kind, _, lang))
            add(_geojson_layer(data, names[kind], point=_STYLE[kind], show=kind != "lights"),
                kind, [(_STYLE[kind]["color"], names[kind])])
    cams = layers.context.get("cameras")
    if cams is not None and len(cams):
        add(_camera_layer(cams, names["cameras"], _, lang), "cameras",
            [(_STYLE["cameras"]["color"], names["cameras"])])
    if layers.actions is not None and len(layers.actions):
        data, point, items = _layer_actions(layers.actions, _, lang, place_url)
        add(_geojson_layer(data, names["actions"], point=point), "actions", items)
    if layers.proposals is not None and len(layers.proposals):
        data, style, point, items = _layer_proposals(layers.proposals, _, lang)
        add(_geojson_layer(data, names["proposals"], style=style, point=point), "proposals", items)
    for lz in lazy:
        lz.options["labels"] = {"loading": _("Calcul en cours…")}
        lz.default_js = [("vigie_map", script_url)]
        lz.add_to(m)
        drawn.append(lz.layer_name)
        legend.append((lz.layer_name, lz.show, lazy_legend(lz.options["key"], lang)))
    for dyn in dynamic:
        dyn.options.setdefault("labels", {}).update(
            {"zoom_in": _("Zoomez pour voir les points"), "simulated": _("simulé"), "incidents": _("faits"),
             "near_address": _("près du"), "near_street": _("près de :"),
             "categories": dict(category_labels)})
        dyn.default_js = [("vigie_map", script_url)]
        dyn.add_to(m)
        drawn.append(dyn.layer_name)
        color = dyn.options["style"].get("color", "#333")
        legend.append((dyn.layer_name, dyn.show, [(color, dyn.layer_name)]))

    folium.LayerControl(collapsed=False).add_to(m)
    Legend(legend, _("Légende"), js_url=script_url).add_to(m)
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

