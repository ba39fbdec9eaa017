"""Geocoding against the deployment's stored address register (CLI, import pipeline, API).

- ``register_index(home)``: the ``addresses`` layer of the store (and the ``streets`` network
  when that kind exists and holds features) as a ``layers.geocode.AddressIndex``, built once per
  store version; ``InputError`` saying how to get a register when there is none.
- ``read_table(path)``: a CSV as text columns (separator and encoding sniffed like the import).
- ``find_column(table, name, param)``: a column by name, case- and accent-insensitively.
- ``geocode_table(home, path, column)``: every row of a CSV or every feature of a vector file
  geocoded (``geo-app geocode``).
- ``prepare_import(...)``: what ``geo_app.imports.import_file(..., geocode=COLUMN)`` reads
  instead of the file: the same rows with coordinates given to rows that have an address and no
  point, and the precision and score of each in ``geocode_precision`` / ``geocode_score``.
  CSV, GeoJSON, GeoPackage, shapefile (zip) and KML files (``vector_as_csv``: features without
  a geometry are the ones placed from their address).
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from layers.errors import InputError, ParameterError, RowProblem
from layers.geocode import AddressIndex, GeocodeParams, build_index, geocode
from layers.registry import LAYERS, get_spec

__all__ = [
    "HOW_TO_GET_A_REGISTER",
    "GeocodedImport",
    "find_column",
    "geocode_table",
    "prepare_import",
    "read_table",
    "register_index",
]

HOW_TO_GET_A_REGISTER = (
    "import the address register first: the BAN file of the département "
    "(https://adresse.data.gouv.fr/data/ban/adresses/latest/csv/adresses-NN.csv.gz, unzipped) with "
    "'geo-app import addresses adresses-NN.csv', or the commune's own register with --map "
    "(e.g. --map street=LIB_OFF --map number=NUM_VOI)")

#: the column added to the file read by the import, holding the geocoded lon/lat
_LON, _LAT = "vigie_geocoded_lon", "vigie_geocoded_lat"
#: the column holding a vector file's own geometries (WKT, lon/lat) once written as CSV
_WKT = "vigie_file_geometry"
_CSV = (".csv", ".txt", ".tsv")

_lock = threading.Lock()
_cache: dict = {}


def register_index(home, *, store=None) -> AddressIndex:
    """The stored register as an ``AddressIndex`` (cached per store and version)."""
    store = store if store is not None else home.store
    key = (str(getattr(store, "path", id(store))), str(store.version))
    with _lock:
        if _cache.get("key") == key:
            return _cache["index"]
    counts = store.counts()
    if not counts.get("addresses"):
        raise InputError(f"No address register in the store: {HOW_TO_GET_A_REGISTER}.")
    addresses = store.read("addresses")
    streets = store.read("streets") if "streets" in LAYERS and counts.get("streets") else None
    epsg = None
    try:
        epsg = home.settings.analysis_crs
    except Exception:  # noqa: BLE001 - bad settings: the register's own UTM zone will do
        epsg = None
    index = build_index(addresses, streets=streets, crs=epsg)
    with _lock:
        _cache.update(key=key, index=index)
    return index


def _norm(name) -> str:
    s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return " ".join(s.strip().lower().replace("_", " ").split())


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (``,`` ``;`` tab or ``|``; UTF-8 or Windows-1252) as text columns, empty cells ``""``."""
    p = Path(path)
    if p.suffix.lower() not in _CSV:
        raise ParameterError(
            f"geocode: {p.name} is not a CSV file; addresses are geocoded from CSV files "
            "(.csv, .txt, .tsv): save the sheet as CSV.", "geocode")
    raw = p.read_bytes()
    if not raw.strip():
        raise InputError(f"{p.name} is empty: nothing to geocode.")
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    header = text.splitlines()[0]
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    sep = max(counts, key=counts.get) if max(counts.values()) else ","
    try:
        table = pd.read_csv(p, sep=sep, encoding=enc, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, ValueError) as e:
        raise InputError(f"{p.name} is not a well-formed CSV ({sep!r} separated): {e}") from None
    table.columns = [str(c).strip().lstrip("\ufeff") for c in table.columns]
    if len(table) == 0:
        raise InputError(f"{p.name} has a header but no data rows: nothing to geocode.")
    return table


def find_column(table: pd.DataFrame, name: str, param: str) -> str:
    """The column of ``table`` called ``name`` (case and accents ignored), else ``ParameterError``."""
    if name in table.columns:
        return name
    for c in table.columns:
        if _norm(c) == _norm(name):
            return c
    raise ParameterError(f"{param}: there is no column '{name}'; the columns are: {', '.join(table.columns)}.",
                         param)


def geocode_table(home, path, column: str, *, params: GeocodeParams | None = None,
                  index: AddressIndex | None = None, layer: str | None = None) -> gpd.GeoDataFrame:
    """Every row of ``path`` geocoded from ``column``: the file's columns followed by
    ``geocode_precision``, ``geocode_score``, ``geocode_label``, ``geocode_note`` and the point
    (EPSG:4326; empty when not found).

    ``path`` is a CSV or any vector file the import reads (GeoJSON, GeoPackage, zipped
    shapefile, KML; ``layer`` picks a GeoPackage's layer): its features' attributes are read as
    text, in the file's order, and every feature is geocoded from its address, with or without
    a geometry of its own; an own geometry is kept as lon/lat WKT in ``file_geometry`` (empty
    for features without one). Other file types are a ``ParameterError`` naming the formats.
    """
    import tempfile

    from layers.io.readers import READ_FORMATS

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in _CSV:
        table = read_table(p)
    elif suffix in READ_FORMATS:
        with tempfile.TemporaryDirectory(prefix="vigie-geocode-") as tmp:
            csv, _crs = vector_as_csv(p, Path(tmp), layer=layer)
            table = read_table(csv)
        table = table.rename(columns={_WKT: "file_geometry"})
    else:
        raise ParameterError(
            f"{p.name}: addresses are geocoded from {', '.join(sorted(set(READ_FORMATS)))} files; "
            "save a sheet as CSV.", "file")
    col = find_column(table, column, "address-column")
    index = index or register_index(home)
    out = geocode(table[col], index, params=params)
    data = table.assign(geocode_precision=out["precision"].to_numpy(), geocode_score=out["score"].to_numpy(),
                        geocode_label=out["label"].to_numpy(), geocode_note=out["note"].to_numpy())
    return gpd.GeoDataFrame(data, geometry=out.geometry.to_numpy(), crs=4326)


@dataclass
class GeocodedImport:
    """The file the import reads instead of the user's, and how to report on it."""

    path: Path
    mapping: dict
    crs: int
    column: str
    rows: np.ndarray  # 1-based rows geocoded (address and no point)
    not_found: dict = field(default_factory=dict)  # row -> message
    coordinate_problems: dict = field(default_factory=dict)  # row -> RowProblem of the first read
    counts: dict = field(default_factory=dict)  # precision -> rows
    unplaceable: frozenset = frozenset()  # rows with neither a point nor an address
    source_mapping: dict = field(default_factory=dict)
    source_crs: str | None = None  # of the file's own points, if it has any

    def problems(self, problems: list[RowProblem]) -> list[RowProblem]:
        """The second read's problems, with the coordinate errors of rows we placed (or could not)
        told in the user's words: the address column for geocoded rows, the file's own coordinate
        columns otherwise."""
        out = []
        coord_field = f"{_LON}/{_LAT}"
        for p in problems:
            if p.field == coord_field:
                if p.row in self.not_found:
                    out.append(RowProblem(p.row, self.column, self.not_found[p.row]))
                elif p.row in self.coordinate_problems:
                    out.append(self.coordinate_problems[p.row])
                elif p.row in self.unplaceable:
                    out.append(RowProblem(p.row, self.column,
                                          "no coordinates and no address: the row cannot be placed on the map"))
                # else: a row with its own point, rejected by the first read for another reason
                # that the second read reports too
                continue
            out.append(p)
        return out


def _cell_text(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


def vector_as_csv(path: Path, folder: Path, *, layer=None, crs=None) -> tuple[Path, str | None]:
    """A GeoJSON, GeoPackage, shapefile or KML file written as a CSV in ``folder`` for the
    geocoding import: its attributes as text (dates in ISO 8601) and its own geometries in
    lon/lat WKT in the column ``vigie_file_geometry`` (empty for features without a
    geometry, which are then placed from their address). Rows keep the file's feature order,
    so row numbers are the features' (1-based). Returns the CSV's path and the file's CRS.
    ``InputError`` when the file cannot be read or has geometries without a CRS (``crs`` gives
    one)."""
    from layers.io.readers import _check_file, _read_raw

    p = Path(path)
    _check_file(p)
    raw = _read_raw(p, layer=layer, mapping=None, crs_given=crs is not None)
    table = raw.attrs.copy()
    for c in table.columns:
        table[c] = [_cell_text(v) for v in table[c].to_numpy(dtype=object)]
    geoms = np.asarray(raw.geoms, dtype=object) if raw.geoms is not None else np.full(len(table), None)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(np.where(shapely.is_missing(geoms), None, geoms)))
    source_crs = crs if crs is not None else raw.crs
    if present.any() and source_crs is None:
        raise InputError(f"{p.name} has geometries but no CRS: give it with --crs EPSG:NNNN.")
    wkt = np.full(len(table), "", dtype=object)
    if present.any():
        lonlat = gpd.GeoSeries(geoms[present], crs=source_crs).to_crs(4326)
        wkt[present] = shapely.to_wkt(lonlat.to_numpy(), rounding_precision=7)
    table[_WKT] = wkt
    out = Path(folder) / f"{p.stem}.csv"
    table.to_csv(out, index=False, encoding="utf-8")
    return out, (None if source_crs is None else str(CRS.from_user_input(source_crs)))


def _first_read(path: Path, kind: str, *, settings, taxonomy, crs, layer, mapping, labels, date_format,
                constants):
    """The file read as it is: ``(result, coordinate columns)``, or ``(None, ())`` when it has no
    coordinate columns at all (every row is then placed from its address)."""
    from layers.io import read_layer

    try:
        result = read_layer(path, kind, settings=settings, taxonomy=taxonomy, crs=crs, layer=layer,
                            mapping=mapping, labels=labels, date_format=date_format, constants=constants)
    except InputError as e:
        if not e.problems and "no coordinate columns" in e.message:
            return None, ()
        raise
    coords = tuple(c for k, c in result.column_mapping.items() if k in ("x", "y", "point", "wkt"))
    return result, coords


def prepare_import(home, kind: str, path: Path, column: str, folder: Path, *, crs=None, layer=None,
                   mapping=None, labels=None, date_format=None, constants=None,
                   params: GeocodeParams | None = None) -> GeocodedImport:
    """Write, in ``folder``, the file the import reads when ``--geocode COLUMN`` is given.

    Rows with a point keep it (reprojected to lon/lat); rows with an empty point and an address
    are geocoded; ``geocode_precision`` and ``geocode_score`` record how each row was placed
    (``file`` for rows that came with their own point). A GeoJSON, GeoPackage, shapefile or KML
    file is first written as a CSV (``vector_as_csv``). Raises ``ParameterError`` (``geocode``)
    for a kind without points, a file type Vigie does not read or an unknown column, and
    ``InputError`` for an empty file or a store without an address register; nothing is stored.
    """
    from layers.io.readers import READ_FORMATS

    spec = get_spec(kind)
    if not spec.is_point:
        raise ParameterError(f"geocode: layer kind '{kind}' is made of polygons; only point kinds are geocoded.",
                             "geocode")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READ_FORMATS:
        raise ParameterError(f"geocode: {path.name} is not a file Vigie reads; addresses are geocoded in "
                             f"{', '.join(sorted(READ_FORMATS))} files (save a sheet as CSV).", "geocode")
    file_crs = None
    if suffix not in _CSV:
        # features keep their own geometry; those without one are placed from their address
        path, file_crs = vector_as_csv(path, Path(folder), layer=layer, crs=crs)
        mapping = {**(mapping or {}), "wkt": _WKT}
        crs, layer = 4326, None
    table = read_table(path)
    col = find_column(table, column, "geocode")
    mapping = dict(mapping or {})
    index = register_index(home)
    settings = home.settings
    first, coords = _first_read(path, kind, settings=settings, taxonomy=home.taxonomy, crs=crs, layer=layer,
                                mapping=mapping, labels=labels, date_format=date_format, constants=constants)
    n = len(table)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    precision = np.full(n, None, dtype=object)
    score = np.full(n, np.nan)
    coordinate_problems = {}
    has_point = np.zeros(n, dtype=bool)
    if first is not None:
        rows = first.data["source_row"].to_numpy() - 1
        has_point[rows] = True
        lon[rows] = first.data.geometry.x.to_numpy()
        lat[rows] = first.data.geometry.y.to_numpy()
    empty_point = np.ones(n, dtype=bool)
    for c in coords:
        empty_point &= (table[c].str.strip() == "").to_numpy()
    if first is not None:
        coord_fields = {"/".join(coords), *coords, "geometry"}
        for p in first.problems:
            # an empty point is not a coordinate error here: the address may place the row
            if (p.row is not None and p.field in coord_fields and p.severity == "error"
                    and not empty_point[p.row - 1]):
                if p.field == _WKT:  # the vector file's own geometry
                    p = RowProblem(p.row, "geometry", p.message.replace(_WKT, "geometry"), p.severity)
                coordinate_problems.setdefault(p.row, p)
    address = table[col].str.strip()
    todo = ~has_point & empty_point & (address != "").to_numpy()
    not_found = {}
    counts: dict[str, int] = {}
    if todo.any():
        out = geocode(address[todo].tolist(), index, params=params)
        found = (out["precision"] != "not_found").to_numpy()
        idx = np.flatnonzero(todo)
        ok = idx[found]
        lon[ok] = out.geometry.x.to_numpy()[found]
        lat[ok] = out.geometry.y.to_numpy()[found]
        precision[idx] = out["precision"].to_numpy()
        score[idx] = out["score"].to_numpy()
        for i, text, note in zip(idx[~found], address[todo][~found], out["note"].to_numpy()[~found]):
            not_found[int(i) + 1] = f"address '{text}' not found in the register ({note})"
        counts = {k: int(v) for k, v in out["precision"].value_counts().items()}
    no_place = ~has_point & empty_point & ~todo
    data = table.drop(columns=list(coords)).assign(**{
        _LON: np.where(np.isfinite(lon), np.char.mod("%.7f", np.nan_to_num(lon)), ""),
        _LAT: np.where(np.isfinite(lat), np.char.mod("%.7f", np.nan_to_num(lat)), ""),
    })
    if "geocode_precision" in spec.column_names:
        data["geocode_precision"] = [p if p not in (None, "not_found") else "" for p in precision]
        data["geocode_score"] = np.where(np.isfinite(score) & (precision != "not_found"),
                                         np.char.mod("%.1f", np.nan_to_num(score)), "")
    out_path = Path(folder) / f"{Path(path).stem}.geocoded.csv"
    data.to_csv(out_path, index=False, encoding="utf-8")
    # the user's mapping without its coordinates; the address column stays the incidents' address
    new_mapping = {k: v for k, v in mapping.items() if k not in ("x", "y", "point", "wkt")}
    new_mapping.update(x=_LON, y=_LAT)
    if "address" in spec.column_names and "address" not in new_mapping:
        new_mapping["address"] = col
    for name in ("geocode_precision", "geocode_score"):
        if name in spec.column_names:
            new_mapping[name] = name
    return GeocodedImport(path=out_path, mapping=new_mapping, crs=4326, column=col, rows=np.flatnonzero(todo) + 1,
                          not_found=not_found, coordinate_problems=coordinate_problems, counts=counts,
                          unplaceable=frozenset((np.flatnonzero(no_place) + 1).tolist()),
                          source_mapping=dict(first.column_mapping) if first is not None else {},
                          source_crs=file_crs or (None if first is None else str(first.source_crs)))
