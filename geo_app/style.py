"""Vigie's one palette: the colour of every code, shared by the Folium map
(``geo_app.mapping``), the report's maps and charts (``geo_app.report``) and the QGIS styles
written into GeoPackage exports (``geo_app.views.exports``).

Colours are keyed by the codes of ``geo_app.i18n`` (review statuses, proposal kinds, emerging
categories) and of ``layers`` (Gi* bins, layer kinds), never by words, so a code has the same
colour wherever it is drawn. Hot is red, cold is blue, everywhere.
"""

from __future__ import annotations

from geo_app.i18n import EMERGING_CODES, STATUSES, emerging_code

__all__ = [
    "EMERGING",
    "GI_BIN",
    "INCIDENT_RAMP",
    "KDE_RAMP",
    "LAYER",
    "NEUTRAL",
    "PROPOSAL",
    "STATUS",
    "emerging_colour",
    "qgis_categories",
    "rgb",
]

#: a code without a colour of its own
NEUTRAL = "#bdbdbd"

#: Gi* bin (-3..3, ArcGIS Gi_Bin semantics: 99/95/90 % hot, then cold) -> fill colour
GI_BIN = {3: "#b2182b", 2: "#ef8a62", 1: "#fddbc7", 0: "#f7f7f7", -1: "#d1e5f0", -2: "#67a9cf", -3: "#2166ac"}

#: review status of a hotspot area -> colour (outline on the map, swatch in the report, QGIS)
STATUS = {"new": "#b2182b", "in_review": "#e66101", "action_decided": "#5e3c99", "done": "#1a9641",
          "dismissed": "#7f7f7f"}

#: proposal kind -> colour
PROPOSAL = {"cctv": "#01665e", "lighting": "#b8860b"}

#: emerging-hotspot category -> colour: reds for hot spots, blues for cold ones
EMERGING = {
    "new_hot": "#fb6a4a", "consecutive_hot": "#fc9272", "intensifying_hot": "#cb181d",
    "persistent_hot": "#a50f15", "diminishing_hot": "#fdae6b", "sporadic_hot": "#fdd0a2",
    "oscillating_hot": "#f16913", "historical_hot": "#d6a5a5",
    "new_cold": "#6baed6", "consecutive_cold": "#9ecae1", "intensifying_cold": "#2171b5",
    "persistent_cold": "#08519c", "diminishing_cold": "#c6dbef", "sporadic_cold": "#deebf7",
    "oscillating_cold": "#4292c6", "historical_cold": "#b4c4d4",
    "no_pattern": "#f0f0f0",
}

#: layer kind (``layers.registry.LAYERS``) and analysis layer -> colour
LAYER = {
    "incidents": "#c51b7d", "zac": "#e66101", "areas": "#555555", "schools": "#1f78b4",
    "shops": "#6a3d9a", "lights": "#d4a017", "cameras": "#1b7837",
    "incidents_grid": "#fd8d3c", "hotspots": "#b2182b", "gistar": "#ef8a62", "kde": "#8c96c6",
    "emerging": "#cb181d", "proposals": "#01665e", "places": "#5e3c99", "actions": "#01665e",
    "micro_places": "#b2182b",
}

#: action kind (``layers.places.ACTION_KINDS``) -> marker colour
ACTION = {"lighting": "#e08214", "cctv": "#35978f", "target_hardening": "#8073ac", "layout": "#8c510a",
          "presence": "#4393c3", "campaign": "#de77ae", "other": "#878787"}

#: incident counts (quantile classes), light to dark
INCIDENT_RAMP = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
#: smoothed density (KDE) classes, light to dark
KDE_RAMP = ("#edf8fb", "#bfd3e6", "#9ebcda", "#8c96c6", "#8856a7", "#810f7c")

assert set(STATUS) == set(STATUSES)
assert set(EMERGING) == set(EMERGING_CODES.values())


def emerging_colour(category) -> str:
    """Colour of an emerging category given as a code, an ArcGIS label or its integer code."""
    return EMERGING.get(emerging_code(category) or "", NEUTRAL)


def rgb(colour: str) -> str:
    """``"#b2182b"`` -> ``"178,24,43"`` (QGIS's colour notation)."""
    c = colour.lstrip("#")
    return ",".join(str(int(c[i:i + 2], 16)) for i in (0, 2, 4))


def qgis_categories(layer: str, columns) -> tuple[str, dict[str, str]] | None:
    """The attribute and the value -> colour table a QGIS categorised style of an exported
    ``layer`` uses, given the layer's ``columns``; ``None`` for a single-colour layer.

    Values are those written in the file: Gi* bins, proposal kinds, review statuses, and the
    emerging categories as ``layers.spacetime`` writes them (ArcGIS's labels).
    """
    columns = set(columns)
    if layer == "gistar" and "bin" in columns:
        return "bin", {str(b): c for b, c in GI_BIN.items()}
    if layer == "proposals" and "kind" in columns:
        return "kind", dict(PROPOSAL)
    if layer == "hotspots" and "status" in columns:
        return "status", dict(STATUS)
    if layer == "emerging" and "category" in columns:
        from layers.spacetime import EMERGING_CATEGORIES

        return "category", {name: EMERGING[EMERGING_CODES[k]] for k, name in EMERGING_CATEGORIES.items()}
    return None
