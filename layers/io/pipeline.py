"""The read pipeline: read -> map columns -> locate -> convert -> validate, into a ``ReadResult``.

Rows are rejected (``error``) for: missing, empty or wrong-type geometry (the message counts the
types of a mixed file), an invalid polygon ``make_valid`` cannot turn into a polygon (one it can
repair is kept with a warning), projected-looking, swapped, out-of-range or (0, 0) coordinates,
points outside ``settings.territory`` (polygons: not intersecting it), an empty required field
(or every field of ``one_of``), an unreadable incident date, a start in the future or before
1900, an end before the start. An unreadable value of an optional field (a camera's
``installed`` "inconnue", a ``range_m`` "loin") is a warning and left empty. Exact duplicates
(every source column and the geometry identical) are dropped with a warning naming the first
copy; incident rows without an identifier are kept, each identical copy reported as a possible
duplicate (police.uk gives distinct anti-social-behaviour reports the same snapped point and
month), and dropped only with ``drop_duplicates``. The checks themselves live in
``layers.validate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from layers import validate as _v
from layers.errors import InputError, RowProblem
from layers.io._common import _FALSE, _TRUE, _WGS84, _as_text, _crs_name, _parse_crs, _to_float
from layers.io.columns import _check_constants, _check_required_columns, _map_columns
from layers.io.dates import _date_message, _parse_when, _When
from layers.io.labels import _categories
from layers.io.locate import _locate, _source_crs
from layers.io.readers import _check_file, _Raw, _read_raw
from layers.registry import Taxonomy, default_taxonomy, get_spec, load_taxonomy
from layers.settings import Settings


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
    drop_duplicates: bool = False,
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
        local times, the taxonomy, and the read limits (``max_uncompressed_mb``,
        ``max_features``, ``max_vertices``: a file over one is refused, or a polygon's row, with
        the setting and the limit named, before the work).
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
    drop_duplicates : bool
        Incidents: drop rows without an external id that are identical to an earlier row in
        every field (the first copy is kept; a warning counts them). By default they are kept
        and each copy is reported as a possible duplicate naming both rows.

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
    with _v.limits_in_force(_v.ReadLimits.from_settings(settings)):
        return _read_layer(path, kind, settings=settings, taxonomy=taxonomy, crs=crs, layer=layer,
                           mapping=mapping, labels=labels, date_format=date_format, now=now,
                           constants=constants, drop_duplicates=drop_duplicates)


def _read_layer(path, kind, *, settings, taxonomy, crs, layer, mapping, labels, date_format, now,
                constants, drop_duplicates) -> ReadResult:
    """``read_layer`` with the settings' read limits in force."""
    spec = get_spec(kind)
    constants = _check_constants(spec, constants, mapping, tz=settings.timezone, date_format=date_format)
    p = Path(path)
    _check_file(p)
    override = _parse_crs(crs)
    raw = _read_raw(p, layer=layer, mapping=mapping, crs_given=override is not None)
    n = len(raw.attrs)
    if n == 0:
        raise InputError(f"{p.name} holds no features: nothing to import.")
    if n > settings.max_features:  # formats declaring no count (CSV, GeoJSON): refused once read
        raise InputError(f"{p.name} is refused: it holds {n:,} features, more than the {settings.max_features:,} "
                         "allowed (feature count, setting max_features); split the file.")
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
    # and month, and two crimes of one category at one address and minute are two crimes:
    # identical incident rows are dropped only when they carry the same external id; without
    # one they are reported as possible duplicates and dropped only with ``drop_duplicates``.
    if raw.geoms is None:
        key, place = raw.attrs, pd.DataFrame({"x": raw.x, "y": raw.y})
    else:
        wkb = shapely.to_wkb(np.where(shapely.is_missing(raw.geoms), None, raw.geoms))
        key = raw.attrs.assign(__geom__=wkb)
        place = pd.DataFrame({"g": wkb})
    candidates = None
    if kind == "incidents":  # only rows sharing an external id can be the same incident twice
        candidates = (present["external_id"] if "external_id" in colmap
                      else np.zeros(len(raw.attrs), dtype=bool))
    _v.flag_exact_duplicates(log, key, candidates=candidates, place=place)
    if kind == "incidents":  # identical rows without an id: kept and reported, or dropped on request
        _v.report_identical_rows(log, key, rows=~candidates, place=place, drop=drop_duplicates)

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
