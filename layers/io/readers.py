"""One reader per file format, each giving the raw attribute columns and geometries of a file.

========================  ==============================================================
format (extension)        notes
========================  ==============================================================
GeoJSON (.geojson .json)  a ``crs`` member is honoured; without it WGS84 is implied and
                          projected-looking coordinates are an error naming ``--crs``
GeoPackage (.gpkg)        ``layer=`` picks a layer; several layers and none given -> error
Shapefile (.zip, .shp)    zip: one ``.shp`` (or ``layer=``), ``.prj`` required unless
                          ``crs=``; members with ``..`` or absolute paths are refused
CSV (.csv .txt .tsv)      ``,`` ``;`` tab or ``|`` sniffed; UTF-8 (BOM or not), else
                          Windows-1252/Latin-1; decimal comma; lon/lat or x/y columns by
                          name, a ``geo_point_2d``-like column, or a WKT column
KML (.kml .kmz)           always WGS84; ``layer=`` picks a folder when there are several
========================  ==============================================================

A reader checks the whole file (exists, not empty, one layer chosen, sidecars present) and
raises ``InputError`` for what makes it unusable; rows are checked later by the pipeline.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from layers.errors import InputError
from layers.validate import read_limits
from layers.io._common import _to_float
from layers.io.columns import _coordinate_columns

#: file extensions read by ``read_layer`` -> format name
READ_FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shp-zip",
    ".shp": "shp",
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".kml": "kml",
    ".kmz": "kml",
}


@dataclass
class _Raw:
    attrs: pd.DataFrame  # source attribute columns (for CSV: every column)
    geoms: np.ndarray | None = None  # shapely objects (vector formats, WKT CSV)
    x: np.ndarray | None = None  # CSV point coordinates
    y: np.ndarray | None = None
    coord_bad: np.ndarray | None = None  # CSV: non-empty but unparseable coordinates
    coord_fields: tuple[str, str] = ("geometry", "geometry")
    coord_mapping: dict = field(default_factory=dict)
    crs: CRS | None = None
    declared: bool = False  # the file itself names its CRS
    layer: str | None = None
    fmt: str = ""


def _read_raw(p: Path, *, layer, mapping, crs_given: bool) -> _Raw:
    fmt = READ_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{p.name}: unsupported file type '{p.suffix}'. Supported: "
            f"{', '.join(sorted(READ_FORMATS))}."
        )
    if fmt == "csv":
        return _read_csv(p, mapping=mapping)
    if fmt == "geojson":
        return _read_geojson(p, layer=layer)
    if fmt == "gpkg":
        return _read_gpkg(p, layer=layer)
    if fmt == "shp-zip":
        return _read_zip(p, layer=layer, crs_given=crs_given)
    if fmt == "shp":
        return _read_shp(p, layer=layer, crs_given=crs_given)
    return _read_kml(p, layer=layer)


def _check_file(p: Path) -> None:
    if not p.exists():
        raise InputError(f"{p} does not exist.")
    if p.is_dir():
        raise InputError(f"{p} is a folder, not a file.")
    if p.stat().st_size == 0:
        raise InputError(f"{p.name} is empty (0 bytes): nothing to import.")


def _layers_with_geometry(path: str) -> list[str]:
    try:
        info = pyogrio.list_layers(path)
    except Exception as exc:  # noqa: BLE001 - GDAL's own message is the useful part
        raise InputError(f"{Path(path).name} could not be read: {exc}") from None
    return [str(name) for name, gtype in info if gtype is not None]


def _pick_layer(layers: list[str], layer: str | None, display: str) -> str:
    if not layers:
        raise InputError(f"{display} holds no layer with geometries.")
    if layer is None:
        if len(layers) == 1:
            return layers[0]
        raise InputError(
            f"{display} holds {len(layers)} layers ({', '.join(layers)}): choose one with "
            "--layer NAME."
        )
    if layer not in layers:
        raise InputError(f"{display} has no layer '{layer}'; its layers are: {', '.join(layers)}.")
    return layer


def _read_vector(source: str, display: str, *, layer: str | None, fmt: str) -> gpd.GeoDataFrame:
    try:
        if fmt != "GeoJSON":  # counted from the file's header or index, without reading features
            declared = pyogrio.read_info(source, layer=layer).get("features", -1)
            limit = read_limits().max_features
            if declared is not None and declared > limit:
                raise InputError(f"{display} is refused: it declares {declared:,} features, more than the "
                                 f"{limit:,} allowed (feature count, setting max_features); split the file.")
        gdf = pyogrio.read_dataframe(source, layer=layer)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        # the message names the file as the user gave it, never the server's path
        msg = str(exc).replace(source, display).replace(str(Path(source).parent), "")
        raise InputError(f"{display} could not be read as {fmt}: {msg}") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{display} has no geometry column: nothing to place on a map.")
    return gdf


def _raw_from_gdf(gdf: gpd.GeoDataFrame, *, declared: bool, layer, fmt) -> _Raw:
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    return _Raw(attrs=attrs, geoms=geoms, crs=gdf.crs, declared=declared and gdf.crs is not None,
                layer=layer, fmt=fmt)


def _geojson_declares_crs(p: Path) -> bool:
    """Whether a GeoJSON file has a top-level ``crs`` member (looked for outside features)."""
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(1 << 20)
        tail = b""
        if size > (1 << 20):
            f.seek(max(size - (1 << 16), 0))
            tail = f.read()
    cut = head.find(b'"features"')
    before = head if cut < 0 else head[:cut]
    pattern = re.compile(rb'"crs"\s*:')
    if pattern.search(before):
        return True
    if cut >= 0 and size <= (1 << 20):
        # small file: the crs member may follow the features array
        depth_end = head.rfind(b"]")
        return bool(pattern.search(head[depth_end:])) if depth_end > 0 else False
    return bool(pattern.search(tail[tail.rfind(b"]"):])) if tail else False


def _read_geojson(p: Path, *, layer) -> _Raw:
    gdf = _read_vector(str(p), p.name, layer=None, fmt="GeoJSON")
    return _raw_from_gdf(gdf, declared=_geojson_declares_crs(p), layer=None, fmt="geojson")


def _read_gpkg(p: Path, *, layer) -> _Raw:
    name = _pick_layer(_layers_with_geometry(str(p)), layer, p.name)
    gdf = _read_vector(str(p), p.name, layer=name, fmt="GeoPackage")
    return _raw_from_gdf(gdf, declared=True, layer=name, fmt="gpkg")


def _read_kml(p: Path, *, layer) -> _Raw:
    layers = _layers_with_geometry(str(p))
    if layer is None and len(layers) > 1:
        # folders without features do not count
        non_empty = []
        for name in layers:
            try:
                if pyogrio.read_info(str(p), layer=name)["features"] != 0:
                    non_empty.append(name)
            except Exception:  # noqa: BLE001
                non_empty.append(name)
        layers = non_empty or layers
    name = _pick_layer(layers, layer, p.name)
    gdf = _read_vector(str(p), p.name, layer=name, fmt="KML")
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return _raw_from_gdf(gdf, declared=True, layer=name, fmt="kml")


def _sidecar(p: Path, ext: str) -> Path | None:
    for cand in p.parent.iterdir():
        if cand.stem == p.stem and cand.suffix.lower() == ext:
            return cand
    return None


def _read_shp(p: Path, *, layer, crs_given: bool) -> _Raw:
    for ext in (".shx", ".dbf"):
        if _sidecar(p, ext) is None:
            raise InputError(f"{p.name}: the shapefile's {ext} file is missing beside it.")
    if _sidecar(p, ".prj") is None and not crs_given:
        raise InputError(
            f"{p.name} has no .prj file, so its coordinate system is unknown: pass it with "
            "--crs EPSG (e.g. --crs 2154 for Lambert-93)."
        )
    with open(_sidecar(p, ".dbf"), "rb") as f:
        _check_declared_records(p.name, f.read(32))
    gdf = _read_vector(str(p), p.name, layer=None, fmt="Shapefile")
    return _raw_from_gdf(gdf, declared=_sidecar(p, ".prj") is not None, layer=p.stem, fmt="shp")


def _unsafe_member(name: str) -> bool:
    n = name.replace("\\", "/")
    return n.startswith("/") or bool(re.match(r"^[A-Za-z]:", n)) or ".." in n.split("/")


def _check_zip_size(p: Path, infos) -> None:
    """Refuse an archive by the uncompressed size its directory declares, before inflating it."""
    total = sum(max(0, i.file_size) for i in infos)
    limit = read_limits().max_uncompressed_bytes
    if total > limit:
        raise InputError(f"{p.name} is refused: it would inflate to {total / 2**20:,.1f} MB, more than the "
                         f"{limit / 2**20:,.1f} MB allowed (uncompressed size, setting max_uncompressed_mb); "
                         "split the file.")


def _check_declared_records(display: str, header: bytes) -> None:
    """Refuse a shapefile by the record count its .dbf header declares (bytes 4-7)."""
    if len(header) < 8:
        raise InputError(f"{display}: the shapefile's .dbf file is truncated (no header).")
    n = int.from_bytes(header[4:8], "little")
    limit = read_limits().max_features
    if n > limit:
        raise InputError(f"{display} is refused: its .dbf declares {n:,} records, more than the "
                         f"{limit:,} allowed (feature count, setting max_features); split the file.")


def _read_zip(p: Path, *, layer, crs_given: bool) -> _Raw:
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise InputError(f"{p.name} is not a valid zip archive (damaged or truncated).") from None
    unsafe = [n for n in names if _unsafe_member(n)]
    if unsafe:
        raise InputError(
            f"{p.name} is refused: its member '{unsafe[0]}' has a path outside the archive "
            "(absolute or with '..')."
        )
    members = [n for n in names if not n.endswith("/") and "__MACOSX" not in n
               and not Path(n).name.startswith("._")]
    _check_zip_size(p, infos)
    shps = [n for n in members if n.lower().endswith(".shp")]
    if not shps:
        raise InputError(
            f"{p.name} holds no shapefile (.shp); it contains: {', '.join(members[:20]) or 'nothing'}."
        )
    if layer is None:
        if len(shps) > 1:
            raise InputError(
                f"{p.name} holds {len(shps)} shapefiles ({', '.join(Path(s).stem for s in shps)}): "
                "choose one with --layer NAME."
            )
        shp = shps[0]
    else:
        match = [s for s in shps if Path(s).stem == layer or s == layer]
        if not match:
            raise InputError(
                f"{p.name} has no shapefile '{layer}'; it holds: "
                f"{', '.join(Path(s).stem for s in shps)}."
            )
        shp = match[0]
    stem = shp[: -len(".shp")]
    lower = {n.lower() for n in members}
    for ext in (".shx", ".dbf"):
        if (stem + ext).lower() not in lower:
            raise InputError(f"{p.name}: the shapefile {Path(shp).name} has no {ext} file in the zip.")
    has_prj = (stem + ".prj").lower() in lower
    if not has_prj and not crs_given:
        raise InputError(
            f"{p.name}: the shapefile {Path(shp).name} has no .prj file, so its coordinate system "
            "is unknown: pass it with --crs EPSG (e.g. --crs 2154 for Lambert-93)."
        )
    dbf = next(n for n in members if n.lower() == (stem + ".dbf").lower())
    with zipfile.ZipFile(p) as zf, zf.open(dbf) as f:
        _check_declared_records(p.name, f.read(32))
    source = f"/vsizip/{p.resolve()}/{shp}"
    gdf = _read_vector(source, p.name, layer=None, fmt="zipped Shapefile")
    return _raw_from_gdf(gdf, declared=has_prj, layer=Path(shp).stem, fmt="shp-zip")


def _detect_encoding(p: Path) -> str:
    with open(p, "rb") as f:
        start = f.read(4)
        f.seek(0)
        if start.startswith(codecs.BOM_UTF8):
            return "utf-8"  # pandas/pyarrow drop the BOM
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"  # Excel's "Unicode text" export
        if b"\x00" in f.read(4096):
            raise InputError(
                f"{p.name} is not a text file (it holds binary bytes): save it again as CSV (UTF-8)."
            )
        f.seek(0)
        dec = codecs.getincrementaldecoder("utf-8")()
        try:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                dec.decode(chunk)
            dec.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        f.seek(0)
        dec = codecs.getincrementaldecoder("cp1252")()
        try:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                dec.decode(chunk)
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


def _sniff_sep(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _read_csv(p: Path, *, mapping: dict | None) -> _Raw:
    enc = _detect_encoding(p)
    with open(p, encoding=enc, newline="") as f:
        header = f.readline().lstrip("\ufeff")
        if not header.strip():
            raise InputError(f"{p.name} has no header line: nothing to import.")
    sep = _sniff_sep(header)
    try:
        df = pd.read_csv(p, sep=sep, encoding=enc, dtype=str, keep_default_na=False, engine="pyarrow")
    except Exception:  # noqa: BLE001 - retry with the C engine for its clearer messages
        try:
            df = pd.read_csv(p, sep=sep, encoding=enc, dtype=str, keep_default_na=False,
                             na_filter=False, engine="c")
        except pd.errors.EmptyDataError:
            raise InputError(f"{p.name} is empty: nothing to import.") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"{p.name} is not a well-formed CSV ({sep!r} separated): {exc}") from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    if len(df) == 0:
        raise InputError(f"{p.name} has a header but no data rows: nothing to import.")
    xcol, ycol, pcol, wcol = _coordinate_columns(df, mapping or {}, p.name)
    raw = _Raw(attrs=df, fmt="csv")
    if xcol is not None:
        xt, yt = df[xcol].str.strip(), df[ycol].str.strip()
        raw.x, xbad = _to_float(xt)
        raw.y, ybad = _to_float(yt)
        raw.coord_bad = xbad | ybad
        raw.coord_fields = (xcol, ycol)
        raw.coord_mapping = {"x": xcol, "y": ycol}
    elif pcol is not None:
        t = df[pcol].str.strip()
        lon = t.str.extract(r"""['"]lon['"]\s*:\s*(-?[\d.]+(?:[eE]-?\d+)?)""", expand=False)
        lat = t.str.extract(r"""['"]lat['"]\s*:\s*(-?[\d.]+(?:[eE]-?\d+)?)""", expand=False)
        pair = t.str.extract(r"^\s*\[?\s*(-?[\d.]+)\s*[,;]\s*(-?[\d.]+)\s*\]?\s*$")
        # "lat, lon" pairs (Opendatasoft's geo_point_2d) when there is no lon/lat key
        lat = lat.fillna(pair[0]).fillna("")
        lon = lon.fillna(pair[1]).fillna("")
        raw.x, xbad = _to_float(lon)
        raw.y, ybad = _to_float(lat)
        raw.coord_bad = xbad | ybad | ((t != "") & (lon == "")).to_numpy()
        raw.coord_fields = (pcol, pcol)
        raw.coord_mapping = {"point": pcol}
    elif wcol is not None:
        t = df[wcol].str.strip()
        # empty cells are missing geometries (pandas' where() would turn them into NaN floats)
        text = t.to_numpy(dtype=object)
        geoms = shapely.from_wkt(np.where(text != "", text, None), on_invalid="ignore")
        raw.geoms = np.asarray(geoms, dtype=object)
        raw.coord_bad = ((t != "").to_numpy()) & shapely.is_missing(raw.geoms)
        raw.coord_fields = (wcol, wcol)
        raw.coord_mapping = {"wkt": wcol}
    else:
        raise InputError(
            f"{p.name}: no coordinate columns found (looked for longitude/lon/lng/x and "
            f"latitude/lat/y, a geo_point_2d column or a WKT column). Its columns are: "
            f"{', '.join(df.columns)}. Name them with --map x=COLUMN --map y=COLUMN."
        )
    return raw
