"""Read any supported file into a validated layer; write every export format.

Reading
-------
``read_layer(path, kind, *, settings, ...)`` reads one file into a ``ReadResult``: the valid rows
as a GeoDataFrame in EPSG:4326 with exactly the columns of the kind's ``LayerSpec`` (plus
``source_row``), and the row-level report (``RowProblem`` errors and warnings). It never decides
whether to store: the caller raises ``InputError(message, result.problems)`` when
``result.errors`` is not empty and ``--skip-invalid`` was not given. Problems with the whole file
(unreadable, empty, truncated, several layers and none chosen, a zip member escaping the archive,
missing required columns, a CRS trap, ambiguous dates) raise ``InputError`` at once, before any
row is checked, so nothing can have been written.

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

Dates (incident ``occurred_from`` / ``occurred_to``, camera ``installed``) are read from ISO 8601
(``2024-05-31``, ``2024-05-31T14:30``, with ``Z`` or an offset), ``dd/mm/yyyy`` and ``dd/mm/yy``
(``/``, ``-`` or ``.``, optional ``HH:MM[:SS]``), Excel serial day numbers, month-only
``YYYY-MM`` (police.uk) and bare years, or with an explicit ``date_format`` (strptime). Times
without an offset are local times of ``settings.timezone``. A value known to the day, month or
year gives a time window: ``occurred_from`` is its first instant and ``occurred_to`` the first
instant of the next day, month or year (local time, stored in UTC); an exact time leaves
``occurred_to`` empty. A column whose ``d/m`` values all have both parts <= 12 is ambiguous and
refused unless ``date_format`` is given; one whose second part exceeds 12 (US month/day) is
refused with the format to pass.

Validation (``layers.validate``)
--------------------------------
Rows are rejected (``error``) for: missing, empty or wrong-type geometry (the message counts the
types of a mixed file), an invalid polygon ``make_valid`` cannot turn into a polygon (one it can
repair is kept with a warning), projected-looking, swapped, out-of-range or (0, 0) coordinates,
points outside ``settings.territory`` (polygons: not intersecting it), an empty required field
(or every field of ``one_of``), an unreadable incident date, a start in the future or before
1900, an end before the start. An unreadable value of an optional field (a camera's
``installed`` "inconnue", a ``range_m`` "loin") is a warning and left empty. Exact duplicates
(every source column and the geometry identical) are dropped with a warning naming the first
copy; incident rows without an identifier are never deduplicated (police.uk gives distinct
anti-social-behaviour reports the same snapped point and month). Local times that happen twice
when clocks go back take the first (summer-time) instant; times that do not exist when clocks
go forward move forward.

Writing
-------
``EXPORT_FORMATS`` is the one registry of export formats; ``write_layers`` / ``write_layer``
write one or several layers with their provenance:

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

import codecs
import json
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from layers import validate as _v
from layers.errors import InputError, ParameterError, RowProblem
from layers.registry import Taxonomy, default_taxonomy, get_spec, load_label_mapping, load_taxonomy
from layers.settings import Settings

__all__ = [
    "EXPORT_FORMATS",
    "READ_FORMATS",
    "SHP_FIELD_NAMES",
    "ExportFormat",
    "ReadResult",
    "get_export_format",
    "read_layer",
    "write_layer",
    "write_layers",
]

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

_WGS84 = CRS.from_epsg(4326)

# CSV coordinate columns, by normalised name, in order of preference
_X_NAMES = ("longitude", "lon", "lng", "long", "x", "coord_x", "coordx", "xcoord", "x_coord",
            "x_wgs84", "lon_wgs84", "longitude_wgs84")
_Y_NAMES = ("latitude", "lat", "y", "coord_y", "coordy", "ycoord", "y_coord", "y_wgs84",
            "lat_wgs84", "latitude_wgs84")
_POINT_NAMES = ("geo_point_2d", "geo_point", "geopoint", "coordonnees", "coordinates", "coords",
                "lat_lon", "latlon", "wgs84")
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "geometrie", "wkt_geom")
_COORD_KEYS = ("x", "y", "point", "wkt")


# --------------------------------------------------------------------------------------------
# result


@dataclass
class ReadResult:
    """What ``read_layer`` found in a file.

    Attributes
    ----------
    kind : str
        The layer kind.
    data : GeoDataFrame
        Valid rows only, EPSG:4326, the kind's spec columns with their types (``datetime``
        columns ``datetime64[ns, UTC]``, ``date`` columns naive ``datetime64[ns]``) plus
        ``source_row`` (int, 1-based data row number of the source).
    problems : list of RowProblem
        Errors (rejected rows) and warnings (repaired, emptied or dropped rows), by row.
    n_read : int
        Rows (features) read from the file.
    unmapped_labels : dict
        Incident source labels that matched no category (stored as ``other``) -> row count.
    column_mapping : dict
        Spec field -> source column actually used (coordinates under ``x``/``y``/``point``/``wkt``).
    source_crs : str
        CRS of the source coordinates (``EPSG:2154``…), as declared, implied or passed.
    layer : str or None
        Layer read (GeoPackage, zip member, KML folder).
    labels : str or None
        Label mapping applied to incidents (``police_uk``, a path, ``dict``) if any.
    """

    kind: str
    data: gpd.GeoDataFrame
    problems: list[RowProblem]
    n_read: int
    unmapped_labels: dict[str, int] = field(default_factory=dict)
    column_mapping: dict[str, str] = field(default_factory=dict)
    source_crs: str = "EPSG:4326"
    layer: str | None = None
    labels: str | None = None

    @property
    def errors(self) -> list[RowProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[RowProblem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        """True when no row was rejected (warnings allowed)."""
        return not self.errors

    @property
    def n_valid(self) -> int:
        return len(self.data)

    @property
    def n_rejected(self) -> int:
        return len({p.row for p in self.errors})

    def report(self) -> list[dict]:
        """The problems as JSON-friendly dicts (what a ``Batch.report`` holds)."""
        return [
            {"row": p.row, "field": p.field, "message": p.message, "severity": p.severity}
            for p in self.problems
        ]

    def summary(self) -> str:
        """One line for a CLI or a log."""
        s = (
            f"{self.n_read} rows read, {self.n_valid} valid, {self.n_rejected} rejected, "
            f"{len(self.warnings)} warnings (source CRS {self.source_crs})"
        )
        if self.unmapped_labels:
            s += f"; unmapped labels stored as 'other': {self.unmapped_labels}"
        return s


# --------------------------------------------------------------------------------------------
# small helpers


def _norm(name) -> str:
    """Normalised column name: lower case, accents removed, runs of non-alphanumerics -> '_'."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _parse_crs(crs) -> CRS | None:
    if crs is None or crs == "":
        return None
    try:
        if isinstance(crs, CRS):
            return crs
        text = str(crs).strip()
        return CRS.from_epsg(int(text)) if text.isdigit() else CRS.from_user_input(text)
    except (CRSError, ValueError, TypeError):
        raise ParameterError(
            f"--crs '{crs}' is not a known coordinate system: give an EPSG code such as 2154 "
            "(Lambert-93) or 4326 (WGS84 lon/lat).",
            "crs",
        ) from None


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else crs.name


def _as_text(s: pd.Series) -> pd.Series:
    """A column as stripped text, missing values as ''."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy()
        integral = np.isfinite(v) & (np.floor(v) == v) & (np.abs(v) < 1e15)
        out = s.astype("str")
        if integral.any():
            out = out.where(~integral, pd.Series(v, index=s.index).where(integral, 0).astype("int64").astype("str"))
        return out.where(np.isfinite(v), "")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.astype("str").fillna("").replace("NaT", "")
    out = s.astype("str").fillna("")
    return out.str.strip()


def _to_float(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse numbers (decimal point or comma). Returns (values, mask of non-empty unparseable).

    Fast path: one Arrow cast of the whole column (then with ``,`` -> ``.``); only a column
    holding unparseable cells goes through the slower cell-by-cell coercion.
    """
    nonempty = (text != "").to_numpy(dtype=bool)
    arr = pa.array(text.where(text != "", None).astype("str"), type=pa.large_string())
    for candidate in (arr, pc.replace_substring(arr, ",", ".")):
        try:
            v = pc.cast(candidate, pa.float64()).to_numpy(zero_copy_only=False)
            return np.array(v, dtype=float), np.zeros(len(text), dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    v = np.array(pd.to_numeric(text.where(text != ""), errors="coerce"), dtype=float)
    retry = np.isnan(v) & nonempty
    if retry.any():
        alt = (text[retry].str.replace(" ", "", regex=False).str.replace("\u00a0", "", regex=False)
               .str.replace("\u202f", "", regex=False).str.replace(",", ".", regex=False))
        v[retry] = pd.to_numeric(alt, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(v) & nonempty
    return v, bad


_TRUE = {"true", "1", "yes", "oui", "vrai", "y", "o", "t"}
_FALSE = {"false", "0", "no", "non", "faux", "n", "f", ""}


# --------------------------------------------------------------------------------------------
# raw reading


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
        gdf = pyogrio.read_dataframe(source, layer=layer)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{display} could not be read as {fmt}: {exc}") from None
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
    gdf = _read_vector(str(p), p.name, layer=None, fmt="Shapefile")
    return _raw_from_gdf(gdf, declared=_sidecar(p, ".prj") is not None, layer=p.stem, fmt="shp")


def _unsafe_member(name: str) -> bool:
    n = name.replace("\\", "/")
    return n.startswith("/") or bool(re.match(r"^[A-Za-z]:", n)) or ".." in n.split("/")


def _read_zip(p: Path, *, layer, crs_given: bool) -> _Raw:
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
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
    mapping = mapping or {}
    norm = {}
    for c in df.columns:
        norm.setdefault(_norm(c), c)

    def resolve(key):
        col = mapping[key]
        if col in df.columns:
            return col
        if _norm(col) in norm:
            return norm[_norm(col)]
        raise ParameterError(
            f"--map {key}={col}: {p.name} has no column '{col}'; its columns are: "
            f"{', '.join(df.columns)}.",
            "mapping",
        )

    xcol = ycol = pcol = wcol = None
    if "x" in mapping or "y" in mapping:
        if not ("x" in mapping and "y" in mapping):
            raise ParameterError("--map needs both x=COLUMN and y=COLUMN for coordinates.", "mapping")
        xcol, ycol = resolve("x"), resolve("y")
    elif "point" in mapping:
        pcol = resolve("point")
    elif "wkt" in mapping:
        wcol = resolve("wkt")
    else:
        xcol = next((norm[n] for n in _X_NAMES if n in norm), None)
        ycol = next((norm[n] for n in _Y_NAMES if n in norm), None)
        if xcol is None or ycol is None:
            xcol = ycol = None
            pcol = next((norm[n] for n in _POINT_NAMES if n in norm), None)
            if pcol is None:
                wcol = next((norm[n] for n in _WKT_NAMES if n in norm), None)
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
        geoms = shapely.from_wkt(t.where(t != "", None).to_numpy(dtype=object), on_invalid="ignore")
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


# --------------------------------------------------------------------------------------------
# columns


def _map_columns(columns, spec, mapping: dict | None, used: set, display: str) -> dict[str, str]:
    cols = list(columns)
    norm: dict[str, str] = {}
    for c in cols:
        norm.setdefault(_norm(c), c)
    out: dict[str, str] = {}
    for fld, col in (mapping or {}).items():
        if fld in _COORD_KEYS:
            continue
        if fld not in spec.column_names:
            raise ParameterError(
                f"--map {fld}={col}: '{fld}' is not a field of layer kind '{spec.name}' "
                f"(fields: {', '.join(spec.column_names)}; coordinates: x, y, point, wkt).",
                "mapping",
            )
        src = col if col in cols else norm.get(_norm(col))
        if src is None:
            raise ParameterError(
                f"--map {fld}={col}: {display} has no column '{col}'; its columns are: "
                f"{', '.join(map(str, cols))}.",
                "mapping",
            )
        out[fld] = src
        used.add(src)
    for c in spec.columns:
        if c.name in out:
            continue
        # the short names of Vigie's own shapefile exports (occ_from…) read back too
        short = (SHP_FIELD_NAMES[c.name],) if c.name in SHP_FIELD_NAMES else ()
        for alias in (c.name, *c.aliases, *short):
            src = norm.get(_norm(alias))
            if src is not None and src not in used:
                out[c.name] = src
                used.add(src)
                break
    return out


def _check_constants(spec, constants: dict | None, mapping: dict | None, *, tz, date_format) -> dict[str, str]:
    """``{field: value as text}`` of ``--set FIELD=VALUE``, checked against the kind's fields."""
    out: dict[str, str] = {}
    for fld, value in (constants or {}).items():
        given = f"--set {fld}={value}"
        if fld not in spec.column_names:
            raise ParameterError(
                f"{given}: '{fld}' is not a field of layer kind '{spec.name}' "
                f"(fields: {', '.join(spec.column_names)}).",
                "set",
            )
        if fld in (mapping or {}):
            raise ParameterError(f"{given}: '{fld}' is also given by --map; give it once.", "set")
        text = "" if value is None else str(value).strip()
        col = spec.column(fld)
        if text == "":
            raise ParameterError(f"{given}: give a value (--set {fld}=VALUE).", "set")
        one = pd.Series([text], dtype="str")
        if col.type in ("float", "int"):
            v, bad = _to_float(one)
            ok = not bad[0] and (col.type == "float" or float(v[0]).is_integer())
        elif col.type == "bool":
            ok = text.lower() in _TRUE | _FALSE
        elif col.type in ("date", "datetime"):
            ok = not _parse_when(one, column=given, tz=tz, date_format=date_format, display=given,
                                 rows=np.ones(1, dtype=np.int64)).bad[0]
        else:
            ok = True
        if not ok:
            raise ParameterError(f"{given}: '{text}' is not a valid {col.type} for field '{fld}'.", "set")
        out[fld] = text
    return out


def _check_required_columns(spec, colmap: dict, columns, display: str) -> None:
    missing = []
    for name in spec.required:
        if name in colmap:
            continue
        if spec.name == "incidents" and name == "category" and "source_label" in colmap:
            continue  # categories come from the labels through the label mapping
        missing.append(name)
    if spec.one_of and not any(f in colmap for f in spec.one_of):
        missing.append(" or ".join(spec.one_of))
    if missing:
        parts = []
        for name in missing:
            fields = name.split(" or ")
            names = sorted({a for f in fields for a in spec.column(f).aliases})
            parts.append(f"'{name}' (looked for: {', '.join(names)})")
        raise InputError(
            f"{display}: no column for the required field{'s' if len(missing) > 1 else ''} "
            f"{'; '.join(parts)} of layer kind '{spec.name}'. The file's columns are: "
            f"{', '.join(map(str, columns))}. Name the column with --map FIELD=COLUMN."
        )


def _is_police_uk(columns) -> bool:
    n = {_norm(c) for c in columns}
    original_header = any(str(c).strip() == "Crime type" for c in columns)
    return "crime_type" in n and ("falls_within" in n or "reported_by" in n or original_header)


# --------------------------------------------------------------------------------------------
# dates

_RES_EXACT, _RES_DAY, _RES_MONTH, _RES_YEAR = 1, 2, 3, 4
_ISO_TZ = r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
_ISO_DT = r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
_ISO_D = r"^\d{4}-\d{1,2}-\d{1,2}$"
_ISO_M = r"^\d{4}-\d{1,2}$"
_YMD_SLASH = r"^\d{4}/\d{1,2}/\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2})?)?$"
_MY = r"^\d{1,2}/\d{4}$"
_DMY = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?)?$"
_SERIAL = r"^\d{5}(\.\d+)?$"
_YEAR = r"^\d{4}(\.0+)?$"
_DATE_HELP = (
    "expected e.g. 2024-05-31, 2024-05-31T14:30, 31/05/2024 14:30, 2024-05 or an Excel serial "
    "number; pass --date-format for other layouts"
)


@dataclass
class _When:
    start: pd.Series  # datetime64[ns, UTC]
    end: pd.Series  # window end (exclusive), datetime64[ns, UTC]; NaT for exact times
    local_start: np.ndarray  # naive local datetime64[ns] (for date columns)
    empty: np.ndarray
    bad: np.ndarray  # non-empty and unparseable
    text: pd.Series


def _format_resolution(fmt: str) -> int:
    if any(d in fmt for d in ("%H", "%I", "%M", "%S", "%X", "%c", "%s")):
        return _RES_EXACT
    if any(d in fmt for d in ("%d", "%j", "%x")):
        return _RES_DAY
    if any(d in fmt for d in ("%m", "%b", "%B")):
        return _RES_MONTH
    return _RES_YEAR


def _parse_when(raw: pd.Series, *, column: str, tz, date_format: str | None, display: str,
                rows: np.ndarray) -> _When:
    n = len(raw)
    start = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")  # naive local
    aware = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")  # naive UTC
    res = np.zeros(n, dtype=np.int8)
    raw = raw.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        text = _as_text(raw)
        empty = raw.isna().to_numpy()
        if getattr(raw.dt, "tz", None) is not None:
            aware[:] = raw.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
            res[~empty] = _RES_EXACT
        else:
            v = raw.to_numpy(dtype="datetime64[ns]")
            start[:] = v
            midnight = ~empty & (raw.dt.normalize().to_numpy(dtype="datetime64[ns]") == v)
            res[~empty] = np.where(midnight[~empty], _RES_DAY, _RES_EXACT)
        bad = np.zeros(n, dtype=bool)
    else:
        text = _as_text(raw)
        empty = (text == "").to_numpy()
        todo = ~empty

        def take(pattern):
            idx = np.flatnonzero(todo)
            if len(idx) == 0:
                return idx
            return idx[_matches(text.iloc[idx], pattern)]

        def put(idx, parsed, r):
            v = pd.Series(parsed).to_numpy(dtype="datetime64[ns]")
            ok = ~np.isnat(v)
            start[idx[ok]] = v[ok]
            res[idx[ok]] = r
            todo[idx] = False  # matched the layout: unparseable ones are reported below

        if date_format:
            idx = np.flatnonzero(todo)
            try:
                p = pd.to_datetime(text.iloc[idx], format=date_format, errors="coerce")
            except ValueError as exc:  # a bad directive ('%Q', a stray '%'), whatever the data
                raise ParameterError(
                    f"--date-format '{date_format}' is not a valid strptime format ({exc}); "
                    "e.g. '%d/%m/%Y %H:%M'.",
                    "date_format",
                ) from None
            if getattr(p.dt, "tz", None) is not None:
                v = p.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
                ok = ~np.isnat(v)
                aware[idx[ok]] = v[ok]
                res[idx[ok]] = _RES_EXACT
                todo[idx] = False
            else:
                put(idx, p, _format_resolution(date_format))
        else:
            idx = take(_ISO_TZ)
            if len(idx):
                p = pd.to_datetime(text.iloc[idx], format="ISO8601", utc=True, errors="coerce")
                v = p.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
                ok = ~np.isnat(v)
                aware[idx[ok]] = v[ok]
                res[idx[ok]] = _RES_EXACT
                todo[idx] = False
            idx = take(_ISO_DT)
            if len(idx):
                put(idx, pd.to_datetime(text.iloc[idx].str.replace(" ", "T", n=1), format="ISO8601",
                                        errors="coerce"), _RES_EXACT)
            idx = take(_ISO_D)
            if len(idx):
                put(idx, pd.to_datetime(text.iloc[idx], format="%Y-%m-%d", errors="coerce"), _RES_DAY)
            idx = take(_YMD_SLASH)
            if len(idx):
                t = text.iloc[idx]
                put(idx, pd.to_datetime(t.str.replace("/", "-", regex=False).str.replace(" ", "T", n=1),
                                        format="ISO8601", errors="coerce"), _RES_DAY)
                res[idx[t.str.contains(":", regex=False).to_numpy() & (res[idx] > 0)]] = _RES_EXACT
            idx = take(_ISO_M)
            if len(idx):
                put(idx, pd.to_datetime(text.iloc[idx], format="%Y-%m", errors="coerce"), _RES_MONTH)
            idx = take(_MY)
            if len(idx):
                put(idx, pd.to_datetime(text.iloc[idx], format="%m/%Y", errors="coerce"), _RES_MONTH)
            idx = take(_DMY)
            if len(idx):
                _put_dmy(idx, text, start, res, todo, column=column, display=display, rows=rows)
            idx = take(_SERIAL)
            if len(idx):
                v = text.iloc[idx].astype(float).to_numpy()
                inrange = (v >= 20000) & (v <= 80000)
                days = np.floor(v)
                secs = np.round((v - days) * 86400).astype("int64")
                dates = (np.datetime64("1899-12-30", "ns") + days.astype("int64").astype("timedelta64[D]")
                         + secs.astype("timedelta64[s]"))
                ok = idx[inrange]
                start[ok] = dates[inrange]
                res[ok] = np.where(v[inrange] == days[inrange], _RES_DAY, _RES_EXACT)
                todo[ok] = False
            idx = take(_YEAR)
            if len(idx):
                years = text.iloc[idx].astype(float).astype(int).to_numpy()
                inrange = (years >= 1800) & (years <= 2200)
                ok = idx[inrange]
                start[ok] = pd.to_datetime({"year": years[inrange], "month": 1, "day": 1}).to_numpy(
                    dtype="datetime64[ns]")
                res[ok] = _RES_YEAR
                todo[ok] = False
        bad = ~empty & (res == 0)
    # windows in local time -> UTC
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    for r, off in ((_RES_DAY, pd.DateOffset(days=1)), (_RES_MONTH, pd.DateOffset(months=1)),
                   (_RES_YEAR, pd.DateOffset(years=1))):
        m = (res == r) & ~np.isnat(start)
        if m.any():
            end[m] = (pd.Series(start[m]) + off).to_numpy(dtype="datetime64[ns]")
    start_utc = _localize(start, tz)
    end_utc = _localize(end, tz)
    has_aware = ~np.isnat(aware)
    if has_aware.any():
        a = pd.Series(aware).dt.tz_localize("UTC")
        start_utc = start_utc.where(~has_aware, a)
    return _When(start=start_utc, end=end_utc, local_start=start, empty=empty, bad=bad, text=text)


def _matches(text: pd.Series, pattern: str) -> np.ndarray:
    """Mask of ``text`` values matching ``pattern`` (RE2 through Arrow: pandas runs patterns
    ending in ``$`` through Python's ``re``, 20 times slower)."""
    arr = pa.array(text.astype("str"), type=pa.large_string())
    m = pc.match_substring_regex(arr, pattern)
    return np.asarray(m.to_numpy(zero_copy_only=False), dtype=bool)


def _localize(values: np.ndarray, tz) -> pd.Series:
    s = pd.Series(values, dtype="datetime64[ns]")
    if s.isna().all():
        return s.dt.tz_localize("UTC")
    return s.dt.tz_localize(
        tz, ambiguous=np.ones(len(s), dtype=bool), nonexistent="shift_forward"
    ).dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


_DMY_NAMED = (r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})"
              r"(?:[ T]+(?P<H>\d{1,2})[:hH](?P<M>\d{2})(?::(?P<S>\d{2}))?)?$")


def _ints(field) -> np.ndarray:
    field = pc.if_else(pc.equal(field, ""), "0", field)
    return pc.cast(field, pa.int64()).to_numpy(zero_copy_only=False)


def _put_dmy(idx, text, start, res, todo, *, column, display, rows) -> None:
    """Day/month/year values (two- or four-digit years, optional time), vectorised with Arrow."""
    parts = pc.extract_regex(pa.array(text.iloc[idx].astype("str"), type=pa.large_string()),
                             pattern=_DMY_NAMED)
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    a, b, yy = _ints(parts.field("a")), _ints(parts.field("b")), _ints(parts.field("y"))
    examples = ", ".join(f"row {rows[i]} '{text.iloc[i]}'" for i in idx[:3])
    if not (a > 12).any():
        if (b > 12).any():
            k = int(np.flatnonzero(b > 12)[0])
            raise InputError(
                f"{display}: column '{column}' holds dates such as '{text.iloc[idx[k]]}' "
                f"(row {rows[idx[k]]}) whose second number is above 12: they look like "
                "month/day (US order). Pass --date-format '%m/%d/%Y' (or '%m/%d/%y', with "
                "' %H:%M' if there is a time) to read them."
            )
        raise InputError(
            f"{display}: the dates of column '{column}' are ambiguous between day/month and "
            f"month/day: every value has both parts <= 12 ({examples}). Pass "
            "--date-format '%d/%m/%Y' (day first) or '%m/%d/%Y' (month first)."
        )
    two = pc.utf8_length(parts.field("y")).to_numpy(zero_copy_only=False) == 2
    year = np.where(two, np.where(yy < 69, 2000 + yy, 1900 + yy), yy)
    hour_txt = parts.field("H")
    has_time = pc.not_equal(hour_txt, "").to_numpy(zero_copy_only=False)
    hour, minute, second = _ints(hour_txt), _ints(parts.field("M")), _ints(parts.field("S"))
    month, day = b, a
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    ym = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    date = ym.astype("datetime64[D]") + (np.clip(day, 1, 31) - 1).astype("timedelta64[D]")
    ok &= date.astype("datetime64[M]") == ym  # 31/02 rolls into March: not a date
    when = (date.astype("datetime64[ns]") + hour.astype("timedelta64[h]")
            + minute.astype("timedelta64[m]") + second.astype("timedelta64[s]"))
    start[idx[ok]] = when[ok]
    res[idx[ok]] = np.where(has_time[ok], _RES_EXACT, _RES_DAY)
    todo[idx] = False


# --------------------------------------------------------------------------------------------
# read_layer


def read_layer(
    path,
    kind: str,
    *,
    settings: Settings,
    taxonomy: Taxonomy | None = None,
    crs=None,
    layer: str | None = None,
    mapping: dict[str, str] | None = None,
    labels=None,
    date_format: str | None = None,
    now: pd.Timestamp | None = None,
    constants: dict | None = None,
) -> ReadResult:
    """Read and validate one file as a layer of ``kind``.

    Parameters
    ----------
    path : str or Path
        GeoJSON, GeoPackage, zipped or plain Shapefile, CSV or KML (see the module docstring).
    kind : str
        A kind of ``layers.registry.LAYERS`` (incidents, zac, areas, schools, shops, lights,
        cameras).
    settings : Settings
        Gives the territory (lon/lat bbox; points outside it are rejected), the time zone of
        local times and the taxonomy.
    taxonomy : Taxonomy, optional
        Incident categories (default: ``settings.taxonomy`` or the shipped one).
    crs : int or str, optional
        CRS of the coordinates (EPSG code), overriding what the file declares or implies. Needed
        for CRS-less projected files (``--crs 2154``) and shapefiles without ``.prj``.
    layer : str, optional
        Layer of a GeoPackage / KML, or shapefile name inside a zip.
    mapping : dict, optional
        ``{field: source column}`` overriding automatic detection (case- and
        accent-insensitive); coordinates with ``x``/``y``, ``point`` (a "lat, lon" or
        ``{'lon':…, 'lat':…}`` column) or ``wkt``.
    labels : str, Path or dict, optional
        Incident label mapping: a shipped table (``"police_uk"``), a CSV
        (``source_label,category``) or a dict. police.uk files are detected and use
        ``police_uk`` by default. Labels are matched case-insensitively; a label that is itself a
        category code maps to it; others become ``other`` and are counted in
        ``unmapped_labels``.
    date_format : str, optional
        strptime format for every date column (e.g. ``'%m/%d/%Y'`` for US files).
    now : Timestamp, optional
        "Now" for the future-date check (tests); default the current time.
    constants : dict, optional
        ``{field: value}`` given to every row (``geo-app import --set level=quartier``),
        replacing any column of the file for that field; read and checked like a column of the
        file, and a required field given here counts as present.

    Returns
    -------
    ReadResult
        ``data`` holds the valid rows (EPSG:4326, spec columns + ``source_row``);
        ``problems`` the errors and warnings by row.

    Raises
    ------
    InputError
        The whole file is unusable (see the module docstring); nothing is returned.
    ParameterError
        A bad option (unknown CRS, ``mapping`` naming a missing column or field, ``constants``
        naming an unknown field or a value of the wrong type).
    """
    spec = get_spec(kind)
    constants = _check_constants(spec, constants, mapping, tz=settings.timezone, date_format=date_format)
    p = Path(path)
    _check_file(p)
    override = _parse_crs(crs)
    raw = _read_raw(p, layer=layer, mapping=mapping, crs_given=override is not None)
    n = len(raw.attrs)
    if n == 0:
        raise InputError(f"{p.name} holds no features: nothing to import.")
    rows = np.arange(1, n + 1, dtype=np.int64)
    log = _v.ProblemLog(rows)

    # whole-file checks first: columns, CRS, CRS traps (nothing row-level has run yet)
    colmap = _map_columns(raw.attrs.columns, spec, mapping, set(raw.coord_mapping.values()), p.name)
    for fld, value in constants.items():  # a column of the constant, read like the file's own
        raw.attrs = raw.attrs.assign(**{f"--set {fld}": value})
        colmap[fld] = f"--set {fld}"
    _check_required_columns(spec, colmap, raw.attrs.columns, p.name)
    src = _source_crs(raw, override, log, p.name)
    lon, lat, geoms = _locate(raw, spec, src, override=override, settings=settings, log=log,
                              display=p.name)

    # attributes, labels, dates
    taxonomy = taxonomy or (load_taxonomy(settings.taxonomy) if settings.taxonomy else default_taxonomy())
    columns, present = _attributes(raw, spec, colmap, tz=settings.timezone, date_format=date_format,
                                   log=log, rows=rows, display=p.name)
    unmapped, labels_used = {}, None
    if kind == "incidents":
        unmapped, labels_used = _categories(raw, colmap, labels, taxonomy, columns, present)
    _time_window(raw, spec, colmap, columns, present, tz=settings.timezone, date_format=date_format,
                 now=now, log=log, rows=rows, display=p.name)
    _v.check_required(log, present, spec)

    # exact duplicates (source attributes + geometry). Anonymised extracts (police.uk
    # anti-social behaviour) give distinct incidents without an identifier the same snapped point
    # and month: identical incident rows without an id are kept.
    if raw.geoms is None:
        key, place = raw.attrs, pd.DataFrame({"x": raw.x, "y": raw.y})
    else:
        wkb = shapely.to_wkb(np.where(shapely.is_missing(raw.geoms), None, raw.geoms))
        key = raw.attrs.assign(__geom__=wkb)
        place = pd.DataFrame({"g": wkb})
    candidates = present["external_id"] if kind == "incidents" and "external_id" in colmap else None
    _v.flag_exact_duplicates(log, key, candidates=candidates, place=place)

    data = _assemble(spec, columns, rows, log.keep, lon, lat, geoms)
    return ReadResult(
        kind=kind,
        data=data,
        problems=log.sorted_problems(),
        n_read=n,
        unmapped_labels=unmapped,
        column_mapping={**colmap, **raw.coord_mapping},
        source_crs=_crs_name(src),
        layer=raw.layer,
        labels=labels_used,
    )


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


def _source_crs(raw: _Raw, override: CRS | None, log, display: str) -> CRS:
    """The CRS of the coordinates: ``--crs``, else the declared one, else WGS84 (implied)."""
    if override is not None:
        if raw.declared and raw.crs is not None and not raw.crs.equals(override):
            log.file_warning(
                f"{display} declares {_crs_name(raw.crs)}; --crs {_crs_name(override)} was used instead."
            )
        return override
    if raw.declared and raw.crs is not None:
        return raw.crs
    if raw.fmt == "gpkg":
        raise InputError(f"{display}: layer '{raw.layer}' has no coordinate system: pass it with --crs EPSG.")
    return _WGS84  # GeoJSON's default (RFC 7946); CSV lon/lat


def _locate(raw: _Raw, spec, src: CRS, *, override, settings: Settings, log, display: str):
    """Check the geometries or coordinates and bring them to lon/lat.

    Returns ``(lon, lat, geoms)``: lon/lat arrays for point kinds (``geoms`` None), or the
    reprojected geometries for polygon kinds (``lon``/``lat`` None). Rejected rows are NaN/None.
    """
    if raw.geoms is not None:
        if raw.coord_bad is not None:
            col = raw.coord_fields[0]
            log.error(raw.coord_bad, col, lambda i: f"'{raw.attrs[col].iloc[i]}' is not valid WKT")
        geoms = _v.check_geometries(log, raw.geoms, spec)
        if spec.is_point:
            x = np.asarray(shapely.get_x(geoms), dtype=float)
            y = np.asarray(shapely.get_y(geoms), dtype=float)
            x[log.bad], y[log.bad] = np.nan, np.nan
            x0, y0 = x, y
        else:
            b = shapely.bounds(geoms)
            b[log.bad] = np.nan
            x0, y0 = b[:, 0], b[:, 1]
        field_name = "geometry"
    else:
        if not spec.is_point:
            raise InputError(
                f"{display}: layer kind '{spec.name}' needs polygons, but the file has point "
                "coordinates; give a WKT column (--map wkt=COLUMN) or another format."
            )
        geoms = None
        x, y = raw.x.copy(), raw.y.copy()
        fx, fy = raw.coord_fields
        field_name = fx if fx == fy else f"{fx}/{fy}"
        xt = raw.attrs[fx].astype("str").str.strip()
        yt = raw.attrs[fy].astype("str").str.strip()
        log.error(raw.coord_bad, field_name,
                  lambda i: f"coordinates '{xt.iloc[i]}', '{yt.iloc[i]}' are not numbers"
                  if fx != fy else f"'{xt.iloc[i]}' holds no readable coordinates")
        missing = ~raw.coord_bad & (np.isnan(x) | np.isnan(y))
        log.error(missing, field_name, "missing coordinates (empty cell): the row cannot be placed on the map")
        x[log.bad], y[log.bad] = np.nan, np.nan
        x0, y0 = x, y

    # whole-file traps, then row checks on the source coordinates
    if override is None and src.is_geographic:
        declared = _crs_name(raw.crs) if raw.declared and raw.crs is not None else "no CRS"
        _v.check_crs_trap(x0, y0, source=display, declared=declared)
    elif override is None:
        _v.check_degrees_in_projected(x0, y0, source=display, declared=_crs_name(src))
    if src.is_geographic:
        _v.check_lonlat(log, x0, y0, fields=(field_name, field_name),
                        territory=settings.territory if spec.is_point else None)
    else:
        log.error((x0 == 0) & (y0 == 0), field_name, "coordinates (0, 0): missing or zero coordinates")

    # reproject the rows still valid, then the territory
    good = ~log.bad
    cannot = f"cannot be transformed from {_crs_name(src)} to lon/lat"
    if spec.is_point:
        lon, lat = x.copy(), y.copy()
        if not src.equals(_WGS84) and good.any():
            tr = Transformer.from_crs(src, _WGS84, always_xy=True)
            lon[good], lat[good] = tr.transform(x[good], y[good])
        lon[~good], lat[~good] = np.nan, np.nan
        log.error(good & ~(np.isfinite(lon) & np.isfinite(lat)), field_name, f"coordinates {cannot}")
        _v.check_territory(log, lon, lat, lon, lat, territory=settings.territory, field=field_name)
        return lon, lat, None
    out = np.array(geoms, dtype=object)
    if good.any():
        gs = gpd.GeoSeries(out[good], crs=src)
        if not src.equals(_WGS84):
            gs = gs.to_crs(_WGS84)
        out[good] = np.asarray(gs.array, dtype=object)
    b = shapely.bounds(out)
    b[~good] = np.nan
    log.error(good & ~np.isfinite(b).all(axis=1), "geometry", f"geometry {cannot}")
    _v.check_territory(log, b[:, 0], b[:, 1], b[:, 2], b[:, 3], territory=settings.territory)
    return None, None, out


def _date_message(w: _When, date_format: str | None, suffix: str = ""):
    if date_format:
        return lambda i: f"'{w.text.iloc[i]}' does not match --date-format '{date_format}'"
    return lambda i: f"'{w.text.iloc[i]}' is not a date ({_DATE_HELP}){suffix}"


def _attributes(raw: _Raw, spec, colmap, *, tz, date_format, log, rows, display):
    """Every non-datetime spec column converted to its type.

    Returns ``(columns, present)``: field -> values (None when the file has no such column), and
    field -> mask of rows whose source cell is not empty. Unreadable values of optional fields
    are warnings and left empty (an unknown camera installation date does not reject the
    camera); of required fields, errors.
    """
    n = len(raw.attrs)
    columns: dict[str, object] = {}
    present: dict[str, np.ndarray] = {}
    for col in spec.columns:
        if col.type == "datetime":
            continue  # _time_window reads start and end together
        src_col = colmap.get(col.name)
        if src_col is None:
            columns[col.name] = None
            present[col.name] = np.zeros(n, dtype=bool)
            continue
        def report(mask, field, message, required=col.required):
            if required:
                log.error(mask, field, message, only_good=False)  # reported even on rejected rows
            else:
                log.warning(mask, field, message)

        s = raw.attrs[src_col]
        if col.type == "date":
            w = _parse_when(s, column=src_col, tz=tz, date_format=date_format, display=display, rows=rows)
            report(w.bad, col.name, _date_message(w, date_format, "" if col.required else "; left empty"))
            vals = w.local_start.copy()
            vals[w.bad] = np.datetime64("NaT")
            columns[col.name] = pd.Series(vals, dtype="datetime64[ns]").dt.normalize()
            present[col.name] = ~w.empty
            continue
        text = _as_text(s)
        present[col.name] = (text != "").to_numpy()
        if col.type in ("float", "int"):
            v, bad = _to_float(text)
            if col.type == "int":
                bad |= np.isfinite(v) & (np.floor(v) != v)
            report(bad, col.name, lambda i, t=text: f"'{t.iloc[i]}' is not a number; left empty")
            v[bad] = np.nan
            columns[col.name] = v if col.type == "float" else np.where(np.isnan(v), 0, v).astype("int64")
        elif col.type == "bool":
            low = text.str.lower()
            t = low.isin(list(_TRUE)).to_numpy()
            f = low.isin(list(_FALSE)).to_numpy()
            report(~t & ~f, col.name, lambda i, tx=text: f"'{tx.iloc[i]}' is not true/false; read as false")
            columns[col.name] = t
        else:
            columns[col.name] = text.where(text != "", None).astype("str")
    return columns, present


def _categories(raw: _Raw, colmap, labels, taxonomy: Taxonomy, columns, present):
    """Incident categories from a column of codes, or from source labels through a mapping.

    Returns ``(unmapped_labels, labels_used)`` and fills ``columns``/``present`` in place.
    """
    n = len(raw.attrs)
    cat_col, lab_col = colmap.get("category"), colmap.get("source_label")
    if labels is None and _is_police_uk(raw.attrs.columns):
        labels = "police_uk"
    lookup = _label_lookup(labels, taxonomy)
    labels_used = None if labels is None else ("custom" if isinstance(labels, dict) else str(labels))
    codes = set(taxonomy.codes)
    unmapped: dict[str, int] = {}
    if cat_col is not None:
        cat_text = _as_text(raw.attrs[cat_col])
        if set(cat_text.unique()) - {""} <= codes and not lookup:
            category = cat_text
        else:
            # the "category" column holds labels (SFPD's "ROBBERY"): map them
            category, unmapped = _apply_labels(cat_text, lookup, codes)
            if lab_col is None:
                columns["source_label"] = cat_text.where(cat_text != "", None).astype("str")
                present["source_label"] = (cat_text != "").to_numpy()
    else:
        category, unmapped = _apply_labels(_as_text(raw.attrs[lab_col]), lookup, codes)
    columns["category"] = category.where(category != "", None).astype("str")
    present["category"] = (category != "").to_numpy()
    if columns.get("simulated") is None:
        columns["simulated"] = np.zeros(n, dtype=bool)
    return unmapped, labels_used


def _time_window(raw: _Raw, spec, colmap, columns, present, *, tz, date_format, now, log, rows,
                 display) -> None:
    """The ``datetime`` columns (incidents: ``occurred_from``, ``occurred_to``) as a window.

    ``occurred_to`` is the explicit end when the file has one (an exact time, or the end of the
    day/month it names), else the end of ``occurred_from``'s own window (NaT for exact times).
    """
    names = [c.name for c in spec.columns if c.type == "datetime"]
    if not names:
        return
    n = len(raw.attrs)
    whens: dict[str, _When] = {}
    for name in names:
        src_col = colmap.get(name)
        present[name] = np.zeros(n, dtype=bool)
        if src_col is None:
            continue
        w = _parse_when(raw.attrs[src_col], column=src_col, tz=tz, date_format=date_format,
                        display=display, rows=rows)
        log.error(w.bad, name, _date_message(w, date_format), only_good=False)
        whens[name] = w
        present[name] = ~w.empty
    start_name, end_name = names[0], (names[1] if len(names) > 1 else None)
    nat = pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")).dt.tz_localize("UTC")
    ws = whens.get(start_name)
    start = ws.start if ws is not None else nat
    end = ws.end if ws is not None else nat
    if end_name in whens:
        we = whens[end_name]
        explicit = we.end.where(we.end.notna(), we.start)
        end = explicit.where(~pd.Series(we.empty), end)
    columns[start_name] = start.astype("datetime64[ns, UTC]")
    if end_name:
        columns[end_name] = end.astype("datetime64[ns, UTC]")
    _v.check_dates(log, start, end if end_name else None, now=now,
                   start_field=start_name, end_field=end_name or start_name)


def _assemble(spec, columns, rows, keep, lon, lat, geoms) -> gpd.GeoDataFrame:
    """The valid rows as a GeoDataFrame with the spec's columns and types + ``source_row``."""
    n = len(rows)
    frame = pd.DataFrame({
        col.name: pd.Series(_empty_column(col.type, n) if columns.get(col.name) is None
                            else columns[col.name]).reset_index(drop=True)
        for col in spec.columns
    })
    frame = _cast(frame, spec)
    frame["source_row"] = rows
    frame = frame.loc[keep].reset_index(drop=True)
    if spec.is_point:
        geometry = gpd.points_from_xy(lon[keep], lat[keep], crs=_WGS84)
    else:
        geometry = gpd.GeoSeries(geoms[keep], crs=_WGS84).array
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=_WGS84)


def _empty_column(typ: str, n: int):
    if typ == "datetime":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")).dt.tz_localize("UTC")
    if typ == "date":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    if typ == "float":
        return np.full(n, np.nan)
    if typ == "bool":
        return np.zeros(n, dtype=bool)
    if typ == "int":
        return np.zeros(n, dtype="int64")
    return pd.Series(pd.array(pa.nulls(n, pa.large_string()), dtype="str"))


def _cast(frame: pd.DataFrame, spec) -> pd.DataFrame:
    for col in spec.columns:
        s = frame[col.name]
        if col.type == "str":
            frame[col.name] = s.astype("str")
        elif col.type == "float":
            frame[col.name] = s.astype("float64")
        elif col.type == "bool":
            frame[col.name] = s.astype(bool)
        elif col.type == "int":
            frame[col.name] = s.astype("int64")
        elif col.type == "datetime":
            frame[col.name] = s.astype("datetime64[ns, UTC]")
        elif col.type == "date":
            frame[col.name] = s.astype("datetime64[ns]")
    return frame


def _label_lookup(labels, taxonomy: Taxonomy) -> dict[str, str]:
    if labels is None:
        return {}
    if isinstance(labels, dict):
        bad = {k: v for k, v in labels.items() if v not in taxonomy}
        if bad:
            k, v = next(iter(bad.items()))
            raise ParameterError(
                f"label mapping: '{k}' -> '{v}', but '{v}' is not a category of the taxonomy "
                f"({', '.join(taxonomy.codes)}).",
                "labels",
            )
        table = labels
    else:
        table = load_label_mapping(labels, taxonomy)
    return {str(k).strip().casefold(): v for k, v in table.items()}


def _apply_labels(text: pd.Series, lookup: dict, codes: set) -> tuple[pd.Series, dict[str, int]]:
    uniq = [u for u in text.unique() if u != ""]
    to_code = {}
    unmapped_set = set()
    for u in uniq:
        code = lookup.get(u.casefold())
        if code is None and u in codes:
            code = u
        if code is None and u.casefold() in codes:
            code = u.casefold()
        if code is None:
            code = "other"
            unmapped_set.add(u)
        to_code[u] = code
    to_code[""] = ""
    category = text.map(to_code).astype("str")
    counts = {}
    if unmapped_set:
        vc = text[text.isin(list(unmapped_set))].value_counts()
        counts = {str(k): int(v) for k, v in vc.items()}
    return category, counts


# --------------------------------------------------------------------------------------------
# writing

#: short DBF names (<= 10 characters) of spec columns in shapefile exports
SHP_FIELD_NAMES = {
    "occurred_from": "occ_from",
    "occurred_to": "occ_to",
    "source_label": "src_label",
    "external_id": "ext_id",
    "description": "descr",
    "late_alcohol": "late_alc",
    "simulated": "simulated",
    "installed": "installed",
}


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
