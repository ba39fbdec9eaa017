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

import pandas as pd
from flask import Blueprint, after_this_request, render_template, request, send_file

from geo_app import access
from geo_app.auth import audit, get_viewer
from geo_app.provenance import source_provenance
from geo_app.views.common import FILTER_PARAMS, filter_query, request_filters, sensitive_param
from layers.errors import ParameterError
from layers.io import EXPORT_FORMATS, write_layers

__all__ = ["EXPORT_LAYERS", "bp", "write_styles"]

bp = Blueprint("exports", __name__, url_prefix="/exports")

#: what can be exported: name -> (label, source kind for provenance, style colour RGB)
EXPORT_LAYERS: dict[str, tuple[str, str, str]] = {
    "incidents": ("Faits (points)", "incidents", "227,26,28"),
    "incidents_grid": ("Faits agrégés (carroyage, k-anonymat)", "incidents", "253,141,60"),
    "hotspots": ("Zones de points chauds", "incidents", "189,0,38"),
    "gistar": ("Gi* (cellules)", "incidents", "240,59,32"),
    "kde": ("Densité (KDE)", "incidents", "254,178,76"),
    "emerging": ("Points chauds émergents (cellules)", "incidents", "204,76,2"),
    "proposals": ("Propositions (caméras, éclairage)", "incidents", "44,162,95"),
    "zac": ("ZAC", "zac", "49,130,189"),
    "areas": ("Quartiers", "areas", "99,99,99"),
    "schools": ("Établissements scolaires", "schools", "117,107,177"),
    "shops": ("Commerces", "shops", "35,139,69"),
    "lights": ("Éclairage public", "lights", "255,237,111"),
    "cameras": ("Vidéoprotection", "cameras", "0,0,0"),
}


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


def _qml(kind: str, rgb: str) -> str:
    symbol = {"point": ("marker", "SimpleMarker"), "line": ("line", "SimpleLine"),
              "polygon": ("fill", "SimpleFill")}[kind]
    props = (f'<Option name="color" type="QString" value="{rgb},180"/>'
             '<Option name="outline_color" type="QString" value="35,35,35,255"/>'
             '<Option name="outline_width" type="QString" value="0.26"/>')
    if kind == "point":
        props += '<Option name="size" type="QString" value="2.4"/><Option name="name" type="QString" value="circle"/>'
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="Symbology">\n'
        ' <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">\n'
        "  <symbols>\n"
        f'   <symbol type="{symbol[0]}" name="0" alpha="0.8" clip_to_extent="1" force_rhr="0">\n'
        f'    <layer class="{symbol[1]}" enabled="1" pass="0" locked="0"><Option type="Map">{props}</Option></layer>\n'
        "   </symbol>\n"
        "  </symbols>\n"
        " </renderer-v2>\n"
        "</qgis>\n"
    )


def _sld(name: str, kind: str, rgb: str) -> str:
    r, g, b = (int(v) for v in rgb.split(","))
    hexc = f"#{r:02x}{g:02x}{b:02x}"
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


def write_styles(path: Path, colours: dict[str, str]) -> int:
    """Add a default QGIS style (QML and SLD) for each geometry layer of the GeoPackage at
    ``path`` to its ``layer_styles`` table, which QGIS reads when it opens a layer.
    Returns the number of styles written."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns").fetchall()
        con.execute(_LAYER_STYLES_SQL)
        n = 0
        for table, column, gtype in rows:
            g = str(gtype).upper()
            kind = "point" if "POINT" in g else "line" if "LINE" in g else "polygon"
            rgb = colours.get(table, "120,120,120")
            con.execute(
                "INSERT INTO layer_styles(f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) "
                "VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, 'Vigie', '')",
                (table, column, table, _qml(kind, rgb), _sld(table, kind, rgb), f"Vigie default style for {table}"),
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
        "access/exports.html", layers=[(n, EXPORT_LAYERS[n][0]) for n in names],
        formats=[(f.name, f.label) for f in EXPORT_FORMATS.values()], query=filter_query(exclude=()),
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
            write_styles(path, {n: EXPORT_LAYERS[n][2] for n in frames})
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
