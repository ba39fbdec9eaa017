"""Export formats and the writers: one registry, ``EXPORT_FORMATS``; a new format is one entry.

``write_layers`` / ``write_layer`` write one or several layers with their provenance:

=======  ========  ===========  ================================================================
format   file      layers       provenance, geometry, types
=======  ========  ===========  ================================================================
gpkg     .gpkg     several      table ``provenance`` (key, value) + each layer's description;
                                polygons written as MultiPolygon; datetimes native (UTC)
geojson  .geojson  one          top-level member ``"provenance"`` of the FeatureCollection;
                                datetimes ISO 8601 ``…Z``
shp      .zip      several      ``provenance.txt`` in the zip (with the field-name table);
                                every sidecar + ``.prj`` + ``.cpg`` (UTF-8); DBF names of 10
                                characters (``SHP_FIELD_NAMES``: occ_from, occ_to, src_label,
                                ext_id, descr…); datetimes as ISO 8601 text; booleans as 0/1
csv      .csv      one          sidecar ``NAME.provenance.json``; points as ``x``, ``y``
                                columns (lon/lat in EPSG:4326), other geometries as ``wkt``
                                (``geom_`` prefix if the layer already has such a column); text
                                cells starting with = + - @ tab or CR prefixed with ``'``; CRLF
kml      .kml      several      the Document's description; one folder per layer; always
                                EPSG:4326; a ``name`` column becomes the placemark name
=======  ========  ===========  ================================================================

GeoJSON and CSV hold one layer: asking them for several raises ``ParameterError`` (export the
layers one at a time, or use gpkg, shp or kml) rather than silently writing a zip.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers.errors import InputError, ParameterError
from layers.io._common import _WGS84, _crs_name, _parse_crs
from layers.io.columns import SHP_FIELD_NAMES


@dataclass(frozen=True)
class ExportFormat:
    """An export format.

    Attributes
    ----------
    name : str
        Format name used by ``--format`` and the API.
    extension : str
        File extension of the written file (``.zip`` for shapefiles).
    media_type : str
        HTTP media type of the file.
    multi_layer : bool
        Whether one file holds several layers.
    writer : callable
        ``writer(layers: dict[str, GeoDataFrame], path, provenance: dict) -> Path``.
    provenance : str
        Where the provenance goes, for the documentation.
    """

    name: str
    extension: str
    media_type: str
    multi_layer: bool
    writer: Callable
    provenance: str = ""
    label: str = ""


def _iso_utc(s: pd.Series) -> pd.Series:
    """tz-aware or naive datetimes -> ISO 8601 text (UTC with Z for aware ones)."""
    if getattr(s.dt, "tz", None) is not None:
        out = s.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        out = s.dt.strftime("%Y-%m-%d")
    return out.where(s.notna(), None)


def _datetimes_as_text(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for c in out.columns:
        if c != out.geometry.name and pd.api.types.is_datetime64_any_dtype(out[c].dtype):
            out[c] = _iso_utc(out[c]).astype("str")
    return out


def _provenance(provenance: dict | None, *, fmt: str, crs: CRS, layers: dict) -> dict:
    prov = dict(provenance or {})
    prov.setdefault("generator", "Vigie")
    prov.setdefault("exported_at", pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))
    prov["format"] = fmt
    prov["crs"] = _crs_name(crs)
    prov["layers"] = {name: len(g) for name, g in layers.items()}
    return prov


def _provenance_text(prov: dict) -> str:
    lines = ["Vigie export — provenance", ""]
    for k, v in prov.items():
        lines.append(f"{k}: {json.dumps(v, ensure_ascii=False, default=str)}")
    return "\n".join(lines) + "\n"


def _write_geojson(layers: dict, path: Path, provenance: dict) -> Path:
    (name, gdf), = layers.items()
    native = json.dumps({"provenance": provenance}, ensure_ascii=False, default=str)
    pyogrio.write_dataframe(
        gdf, path, driver="GeoJSON", layer=name,
        layer_options={"NATIVE_DATA": native, "NATIVE_MEDIA_TYPE": "application/vnd.geo+json",
                       "WRITE_NAME": "YES"},
    )
    return path


def _write_gpkg(layers: dict, path: Path, provenance: dict) -> Path:
    text = json.dumps(provenance, ensure_ascii=False, default=str)
    for name, gdf in layers.items():
        pyogrio.write_dataframe(
            gdf, path, driver="GPKG", layer=name, promote_to_multi=not _is_point_frame(gdf),
            layer_options={"DESCRIPTION": f"Vigie export; provenance: {text}"[:2000]},
            metadata={"provenance": text}, append=False,
        )
    table = pd.DataFrame({"key": list(provenance), "value": [
        v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str) for v in provenance.values()]})
    pyogrio.write_dataframe(table, path, driver="GPKG", layer="provenance")
    return path


def _is_point_frame(gdf) -> bool:
    types = set(gdf.geom_type.dropna().unique())
    return types <= {"Point"}


def _write_shp(layers: dict, path: Path, provenance: dict) -> Path:
    with tempfile.TemporaryDirectory(prefix="vigie-shp-") as tmp:
        tmpd = Path(tmp)
        renamed = {}
        for name, gdf in layers.items():
            g = _datetimes_as_text(gdf)
            rename = _shp_names([c for c in g.columns if c != g.geometry.name])
            renamed[name] = {k: v for k, v in rename.items() if k != v}
            g = g.rename(columns=rename)
            for c in g.columns:
                if g[c].dtype == bool:
                    g[c] = g[c].astype("int32")
            pyogrio.write_dataframe(g, tmpd / f"{name}.shp", driver="ESRI Shapefile",
                                    promote_to_multi=not _is_point_frame(gdf),
                                    layer_options={"ENCODING": "UTF-8"})
        prov = dict(provenance)
        prov["shapefile_field_names"] = renamed
        (tmpd / "provenance.txt").write_text(_provenance_text(prov), encoding="utf-8")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(tmpd.iterdir()):
                zf.write(f, f.name)
    return path


def _shp_names(columns) -> dict[str, str]:
    """DBF field names (<= 10 characters, unique, case-insensitively) for ``columns``."""
    out, taken = {}, set()
    for c in columns:
        base = SHP_FIELD_NAMES.get(c, str(c)[:10])
        cand, k = base, 1
        while cand.lower() in taken:
            suffix = f"_{k}"
            cand = base[: 10 - len(suffix)] + suffix
            k += 1
        taken.add(cand.lower())
        out[c] = cand
    return out


_FORMULA = re.compile(r"^[=+\-@\t\r]")


def neutralise_formulas(s: pd.Series) -> pd.Series:
    """Prefix text cells starting with ``=``, ``+``, ``-``, ``@``, tab or CR with ``'`` (OWASP
    CSV-injection advice) so spreadsheets do not run them as formulas."""
    text = s.astype("str")
    risky = text.str.match(_FORMULA.pattern).fillna(False).astype(bool)
    return text.where(~risky, "'" + text)


def _write_csv(layers: dict, path: Path, provenance: dict) -> Path:
    ((_, gdf),) = layers.items()
    g = _datetimes_as_text(gdf)
    geom = g.geometry
    df = pd.DataFrame(g.drop(columns=g.geometry.name))
    for c in df.columns:
        if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype):
            df[c] = neutralise_formulas(df[c]).where(df[c].notna(), None)
    prefix = "geom_" if {"x", "y", "wkt"} & set(df.columns) else ""
    if _is_point_frame(gdf):
        df.insert(0, f"{prefix}y", geom.y.to_numpy())
        df.insert(0, f"{prefix}x", geom.x.to_numpy())
    else:
        df.insert(0, f"{prefix}wkt", shapely.to_wkt(geom.array, rounding_precision=-1))
    # CRLF line ends (RFC 4180): cells holding a CR or LF are then quoted
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n")
    side = path.with_name(path.stem + ".provenance.json")
    side.write_text(json.dumps(provenance, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path


def _write_kml(layers: dict, path: Path, provenance: dict) -> Path:
    desc = _provenance_text(provenance)
    for i, (name, gdf) in enumerate(layers.items()):
        g = _datetimes_as_text(gdf)
        pyogrio.write_dataframe(
            g, path, driver="LIBKML", layer=name, append=i > 0,
            dataset_options={"NAME": "Vigie export", "DESCRIPTION": desc} if i == 0 else None,
        )
    return path


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("geojson", ".geojson", "application/geo+json", False, _write_geojson,
                     "top-level foreign member \"provenance\" of the FeatureCollection", "GeoJSON"),
        ExportFormat("gpkg", ".gpkg", "application/geopackage+sqlite3", True, _write_gpkg,
                     "attribute table \"provenance\" (key, value) + each layer's description and "
                     "GDAL metadata", "GeoPackage"),
        ExportFormat("shp", ".zip", "application/zip", True, _write_shp,
                     "provenance.txt inside the zip (with the shortened field names)",
                     "Shapefile (zipped)"),
        ExportFormat("csv", ".csv", "text/csv", False, _write_csv,
                     "sidecar NAME.provenance.json beside the CSV", "CSV"),
        ExportFormat("kml", ".kml", "application/vnd.google-earth.kml+xml", True, _write_kml,
                     "the KML Document's description", "KML"),
    )
}


def get_export_format(name: str) -> ExportFormat:
    """The ``ExportFormat`` called ``name`` or ``ParameterError`` listing the formats."""
    try:
        return EXPORT_FORMATS[str(name).lower()]
    except KeyError:
        raise ParameterError(
            f"unknown export format '{name}': use one of {', '.join(EXPORT_FORMATS)}.", "format"
        ) from None


_LAYER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,62}$")


def write_layers(layers: dict[str, gpd.GeoDataFrame], path, fmt: str, *, crs=None,
                 provenance: dict | None = None) -> Path:
    """Write one or several layers to ``path`` in export format ``fmt``.

    Parameters
    ----------
    layers : dict
        Layer name -> GeoDataFrame (any CRS; reprojected to ``crs`` or EPSG:4326). Inputs are
        not modified.
    path : str or Path
        File to write (replaced if it exists).
    fmt : str
        A key of ``EXPORT_FORMATS``: ``geojson``, ``gpkg``, ``shp`` (a zip holding one
        shapefile per layer, every sidecar, ``.prj`` and ``provenance.txt``), ``csv`` (points as
        ``x``/``y`` columns, other geometries as a ``wkt`` column; text cells neutralised
        against formula injection), ``kml`` (one folder per layer).
    crs : int or str, optional
        Output CRS (EPSG code); default EPSG:4326. KML is always EPSG:4326.
    provenance : dict
        What the data is (source batches, filters, simulated or real…); ``generator``,
        ``exported_at``, ``format``, ``crs`` and ``layers`` (feature counts) are added. Carried
        where a user sees it (``ExportFormat.provenance``).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ParameterError
        Unknown format, bad CRS, several layers for a single-layer format (GeoJSON, CSV: export
        them one at a time, or use gpkg, shp or kml), a bad layer name.
    """
    spec = get_export_format(fmt)
    if not layers:
        raise ParameterError("nothing to export: no layer given.", "kind")
    if len(layers) > 1 and not spec.multi_layer:
        raise ParameterError(
            f"format {spec.name} holds one layer, but {len(layers)} were given "
            f"({', '.join(layers)}): export them one at a time, or use "
            f"{', '.join(k for k, f in EXPORT_FORMATS.items() if f.multi_layer)}.",
            "format",
        )
    for name in layers:
        if not _LAYER_NAME.match(str(name)) or name == "provenance":
            raise ParameterError(f"bad layer name '{name}': use letters, digits, '_' or '-'.", "layer")
    target = _parse_crs(crs) or _WGS84
    if spec.name == "kml" and not target.equals(_WGS84):
        raise ParameterError("KML is always WGS84 longitude/latitude: drop --crs for kml.", "crs")
    out = {}
    for name, gdf in layers.items():
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise ParameterError(f"layer '{name}' is not a GeoDataFrame.", "layers")
        if gdf.crs is None:
            raise InputError(f"layer '{name}' has no CRS: Vigie never guesses one.")
        out[name] = gdf.to_crs(target) if not gdf.crs.equals(target) else gdf.copy()
    prov = _provenance(provenance, fmt=spec.name, crs=target, layers=out)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    # written beside the target then moved over it: a failed export leaves any old file intact
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}{p.suffix}")
    try:
        spec.writer(out, tmp, prov)
        os.replace(tmp, p)
        side_tmp = tmp.with_name(tmp.stem + ".provenance.json")
        if side_tmp.exists():
            os.replace(side_tmp, p.with_name(p.stem + ".provenance.json"))
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


def write_layer(gdf: gpd.GeoDataFrame, path, fmt: str, *, name: str, crs=None,
                provenance: dict | None = None) -> Path:
    """Write one layer (see ``write_layers``)."""
    return write_layers({name: gdf}, path, fmt, crs=crs, provenance=provenance)
