"""Exports from the web: each layer and each analysis result, with the current filters, in every
format of ``layers.io.EXPORT_FORMATS`` (GeoPackage with a QGIS style per layer, GeoJSON, zipped
Shapefile, CSV, KML), with their provenance, cut to the role's rights (``geo_app.access``).

``GET /exports/`` lists what the user may export; ``GET /exports/download?layer=…&format=…``
(plus the page filters: ``from``, ``to``, ``category``, ``zac``, ``hours``, ``weekdays``,
``night``, ``bbox``) sends the file. Single-layer formats (GeoJSON, CSV) holding several layers,
and CSV with its provenance sidecar, are sent as a zip.
"""

from __future__ import annotations

import sqlite3
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
from flask import Blueprint, after_this_request, render_template, request, send_file

from geo_app import access
from geo_app.auth import audit, get_viewer
from geo_app.i18n import N_, gettext_for, layer_label
from geo_app.provenance import source_provenance
from geo_app.style import LAYER, NEUTRAL, qgis_categories, rgb
from geo_app.views.common import FILTER_PARAMS, filter_query, request_filters, sensitive_param
from layers.errors import ParameterError
from layers.io import EXPORT_FORMATS, write_layers

__all__ = ["EXPORT_LAYERS", "bp", "export_label", "write_styles"]

bp = Blueprint("exports", __name__, url_prefix="/exports")

#: what can be exported: name -> (label, French msgid of ``geo_app.i18n``; source kind for
#: provenance). Context layers are named by the layer registry (``layer_label``); colours come
#: from ``geo_app.style``.
EXPORT_LAYERS: dict[str, tuple[str | None, str]] = {
    "incidents": (N_("Faits (points)"), "incidents"),
    "incidents_grid": (N_("Faits agrégés (carroyage, k-anonymat)"), "incidents"),
    "hotspots": (N_("Zones de points chauds"), "incidents"),
    "gistar": (N_("Gi* (cellules)"), "incidents"),
    "kde": (N_("Densité (KDE)"), "incidents"),
    "emerging": (N_("Points chauds émergents (cellules)"), "incidents"),
    "proposals": (N_("Propositions (caméras, éclairage)"), "incidents"),
    "zac": (None, "zac"),
    "areas": (None, "areas"),
    "schools": (None, "schools"),
    "shops": (None, "shops"),
    "lights": (None, "lights"),
    "cameras": (None, "cameras"),
    "places": (N_("Lieux suivis"), "incidents"),
    "actions": (N_("Actions sur les lieux suivis"), "incidents"),
}

#: export formats whose label is a word to translate (the others are names: GeoJSON, KML…)
_FORMAT_LABELS = {"shp": N_("Shapefile (zippé)")}


def export_label(name: str, lang: str | None = None) -> str:
    """The name of an exportable layer in ``lang`` (the request's language by default)."""
    msgid, kind = EXPORT_LAYERS[name]
    return gettext_for(lang)(msgid) if msgid else layer_label(kind, lang)


def _suppress(viewer, filters) -> bool:
    """Are cells under k suppressed in this account's aggregates?"""
    return access.export_mode(viewer.account).aggregates_only or access.needs_suppression(
        viewer.account, viewer.workspace.default_filters(filters), taxonomy=viewer.taxonomy)


def _provenance(viewer, names, filters, night, facts) -> dict:
    """The shared provenance record (``geo_app.provenance.source_provenance``: batches,
    filters, simulated or real) plus who exported and which privacy rules applied."""
    user = viewer.account
    sensitive = access.scope(user, "sensitive_points")
    return source_provenance(
        viewer.workspace.store,
        {EXPORT_LAYERS[n][1] for n in names},
        filters=filters,
        command="web export " + ",".join(names),
        **({"night": True} if night else {}),
        exported_by=user.name,
        role=user.role,
        privacy={
            "k_anonymity": viewer.k,
            "sensitive_categories": ("included as points" if sensitive is access.Scope.ALL
                                     else "aggregated" if sensitive is not access.Scope.NONE
                                     else "excluded"),
            "cells_under_k": "removed" if _suppress(viewer, filters) else "kept",
            **facts,
        },
    )


# ------------------------------------------------------------------------------------------
# QGIS styles in the GeoPackage


def _symbol(kind: str, name: str, colour: str) -> str:
    """One QGIS symbol of geometry ``kind`` filled with ``colour`` (``#rrggbb``)."""
    symbol = {"point": ("marker", "SimpleMarker"), "line": ("line", "SimpleLine"),
              "polygon": ("fill", "SimpleFill")}[kind]
    props = (f'<Option name="color" type="QString" value="{rgb(colour)},180"/>'
             '<Option name="outline_color" type="QString" value="35,35,35,255"/>'
             '<Option name="outline_width" type="QString" value="0.26"/>')
    if kind == "point":
        props += '<Option name="size" type="QString" value="2.4"/><Option name="name" type="QString" value="circle"/>'
    return (f'   <symbol type="{symbol[0]}" name="{escape(name)}" alpha="0.8" clip_to_extent="1" force_rhr="0">\n'
            f'    <layer class="{symbol[1]}" enabled="1" pass="0" locked="0"><Option type="Map">{props}</Option></layer>\n'
            "   </symbol>\n")


def _qml(kind: str, colour: str, categories: tuple[str, dict[str, str]] | None = None) -> str:
    """A QGIS style: one symbol of ``colour``, or with ``categories`` (attribute, value ->
    colour) a categorised renderer whose values keep the palette's colours."""
    if categories is None:
        renderer = (' <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">\n'
                    f"  <symbols>\n{_symbol(kind, '0', colour)}  </symbols>\n")
    else:
        attr, table = categories
        cats = "".join(f'   <category render="true" symbol="{i}" value="{escape(v)}" label="{escape(v)}"/>\n'
                       for i, v in enumerate(table))
        syms = "".join(_symbol(kind, str(i), c) for i, c in enumerate(table.values()))
        renderer = (f' <renderer-v2 type="categorizedSymbol" attr="{escape(attr)}" symbollevels="0" '
                    'enableorderby="0" forceraster="0">\n'
                    f"  <categories>\n{cats}  </categories>\n  <symbols>\n{syms}  </symbols>\n")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0" styleCategories="Symbology">\n'
            f"{renderer} </renderer-v2>\n</qgis>\n")


def _sld(name: str, kind: str, colour: str) -> str:
    hexc = colour
    sym = {
        "point": f"<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>"
                 f"<se:Fill><se:SvgParameter name=\"fill\">{hexc}</se:SvgParameter></se:Fill></se:Mark>"
                 "<se:Size>7</se:Size></se:Graphic></se:PointSymbolizer>",
        "line": f"<se:LineSymbolizer><se:Stroke><se:SvgParameter name=\"stroke\">{hexc}</se:SvgParameter>"
                "</se:Stroke></se:LineSymbolizer>",
        "polygon": f"<se:PolygonSymbolizer><se:Fill><se:SvgParameter name=\"fill\">{hexc}</se:SvgParameter>"
                   "<se:SvgParameter name=\"fill-opacity\">0.7</se:SvgParameter></se:Fill><se:Stroke>"
                   "<se:SvgParameter name=\"stroke\">#232323</se:SvgParameter></se:Stroke></se:PolygonSymbolizer>",
    }[kind]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<StyledLayerDescriptor version="1.1.0" '
        'xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se">'
        f"<NamedLayer><se:Name>{name}</se:Name><UserStyle><se:Name>{name}</se:Name>"
        f"<se:FeatureTypeStyle><se:Rule><se:Name>{name}</se:Name>{sym}</se:Rule></se:FeatureTypeStyle>"
        "</UserStyle></NamedLayer></StyledLayerDescriptor>\n"
    )


_LAYER_STYLES_SQL = """
CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
    f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
    styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
    update_time DATETIME DEFAULT CURRENT_TIMESTAMP)
"""


def write_styles(path: Path) -> int:
    """Add a default QGIS style (QML and SLD) for each geometry layer of the GeoPackage at
    ``path`` to its ``layer_styles`` table, which QGIS reads when it opens a layer: the
    palette's colour of the layer (``geo_app.style.LAYER``), or a categorised style by code
    (Gi* bin, proposal kind, emerging category, review status) with the palette's colours, the
    same as on the map and in the report. Returns the number of styles written."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns").fetchall()
        con.execute(_LAYER_STYLES_SQL)
        n = 0
        for table, column, gtype in rows:
            g = str(gtype).upper()
            kind = "point" if "POINT" in g else "line" if "LINE" in g else "polygon"
            colour = LAYER.get(table, NEUTRAL)
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            qml = _qml(kind, colour, qgis_categories(table, columns))
            con.execute(
                "INSERT INTO layer_styles(f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) "
                "VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, 'Vigie', '')",
                (table, column, table, qml, _sld(table, kind, colour), f"Vigie default style for {table}"),
            )
            n += 1
        con.commit()
    finally:
        con.close()
    return n


# ------------------------------------------------------------------------------------------
# Views


@bp.get("/")
def index():
    """What the user may export, with links carrying the current filters."""
    viewer = get_viewer()
    user = viewer.account
    names = viewer.exportable()
    return render_template(
        "access/exports.html", layers=[(n, export_label(n)) for n in names],
        formats=[(f.name, gettext_for()(_FORMAT_LABELS[f.name]) if f.name in _FORMAT_LABELS else f.label)
                 for f in EXPORT_FORMATS.values()], query=filter_query(exclude=()),
        mode=access.export_mode(user).value, k=viewer.k,
        filter_pairs=[(k, v) for k, v in request.args.items(multi=True) if k in FILTER_PARAMS and v],
    )


def _names() -> list[str]:
    raw = [v for item in request.args.getlist("layer") for v in item.split(",") if v.strip()]
    names = list(dict.fromkeys(v.strip() for v in raw))
    if not names:
        raise ParameterError("choose at least one layer (layer=incidents_grid, hotspots…).", "layer")
    return names


@bp.get("/download")
def download():
    """The chosen layers in the chosen format, with the current filters."""
    viewer = get_viewer()
    user = viewer.account
    fmt_name = (request.args.get("format") or "gpkg").lower()
    if fmt_name not in EXPORT_FORMATS:
        raise ParameterError(f"unknown export format '{fmt_name}': use one of {', '.join(EXPORT_FORMATS)}.",
                             "format")
    fmt = EXPORT_FORMATS[fmt_name]
    names = _names()
    filters, night = request_filters()
    frames, facts = viewer.export_layers(names, filters, night=night, include_sensitive=sensitive_param())
    prov = _provenance(viewer, names, filters, night, facts)
    tmp = Path(tempfile.mkdtemp(prefix="vigie-export-"))
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%d-%H%M")
    base = f"vigie-{'-'.join(names) if len(names) <= 3 else 'layers'}-{stamp}"
    if fmt.multi_layer:
        path = write_layers(frames, tmp / f"{base}{fmt.extension}", fmt.name, provenance=prov)
        if fmt.name == "gpkg":
            write_styles(path)
        send, mimetype = path, fmt.media_type
    elif len(frames) == 1 and fmt.name == "geojson":
        send = write_layers(frames, tmp / f"{base}{fmt.extension}", fmt.name, provenance=prov)
        mimetype = fmt.media_type
    else:
        files = []
        for name, gdf in frames.items():
            p = write_layers({name: gdf}, tmp / f"{name}{fmt.extension}", fmt.name, provenance=prov)
            files.append(p)
            side = p.with_name(p.stem + ".provenance.json")
            if side.exists():
                files.append(side)
        send = tmp / f"{base}-{fmt.name}.zip"
        with zipfile.ZipFile(send, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f.name)
        mimetype = "application/zip"
    audit("export", target=",".join(names), detail={
        "format": fmt.name, "filters": prov["filters"], "features": {n: len(g) for n, g in frames.items()},
    }, account=user)

    @after_this_request
    def _cleanup(response):
        import shutil

        response.call_on_close(lambda: shutil.rmtree(tmp, ignore_errors=True))
        return response

    return send_file(send, mimetype=mimetype, as_attachment=True, download_name=send.name)
