"""The one import pipeline: file (or frame) -> validation report -> one batch in the store.

The CLI (``geo-app import``), the demo builder and the web import page all call these two
functions, so a file is read, validated, reported and stored the same way everywhere.

- ``import_file(home, kind, path, ...)`` reads the file with ``layers.io.read_layer`` (column
  mapping, CRS, label mapping, dates, row-level validation), then stores the valid rows as one
  ``Batch`` (sha256 of the file, counts, the report) unless ``dry_run``.
- ``import_frame(home, kind, gdf, *, file_name, ...)`` stores an already-built GeoDataFrame
  (the demo's simulated incidents) as one batch, after the checks that make sense on a frame.

By default a file with any error stores nothing and raises ``InputError`` carrying every
``RowProblem``; with ``skip_invalid`` the valid rows are stored and the report is kept with the
batch. The store is untouched on every error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.errors import InputError, RowProblem, VigieError
from layers.registry import get_spec
from layers.store import Batch

__all__ = ["ImportOutcome", "file_checksum", "import_file", "import_frame", "new_batch_id", "prepare_snapshots"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did (or, on a dry run, would do).

    Attributes
    ----------
    batch : Batch or None
        The stored batch; ``None`` on a dry run.
    report : list of dict
        Every problem as ``{"row", "field", "message", "severity"}`` (rows are 1-based data
        rows as a spreadsheet shows them).
    counts : dict
        ``read`` (rows in the file), ``valid`` (rows passing validation), ``stored`` (rows
        written; 0 on a dry run), ``rejected`` (rows refused).
    unmapped_labels : dict
        Source labels that matched no taxonomy category (stored as ``other``) -> row count.
    column_mapping : dict
        Layer field -> source column, as detected or given.
    source_crs : str or None
        The CRS the file was read in.
    dry_run : bool
    geocoded : dict
        With ``geocode=COLUMN``: rows placed from their address, per precision (``house``,
        ``interpolated``, ``street``, ``intersection``, ``not_found``).
    """

    batch: Batch | None
    report: list[dict]
    counts: dict[str, int]
    unmapped_labels: dict = field(default_factory=dict)
    column_mapping: dict = field(default_factory=dict)
    source_crs: str | None = None
    dry_run: bool = False
    geocoded: dict = field(default_factory=dict)

    @property
    def problems(self) -> list[RowProblem]:
        return [RowProblem(p["row"], p["field"], p["message"], p["severity"]) for p in self.report]


def file_checksum(path: str | Path) -> str:
    """sha256 of a file (of every file, in name order, for a folder), hex."""
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        with open(f, "rb") as fh:
            while chunk := fh.read(4 * 1024 * 1024):
                h.update(chunk)
    return h.hexdigest()


def frame_checksum(gdf: gpd.GeoDataFrame) -> str:
    """sha256 of a frame's attribute values and geometries (WKB)."""
    h = hashlib.sha256()
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(str)
    h.update(pd.util.hash_pandas_object(attrs, index=False).to_numpy().tobytes())
    h.update(b"".join(w or b"" for w in gdf.geometry.to_wkb()))
    return h.hexdigest()


def new_batch_id(now: dt.datetime | None = None) -> str:
    """A short, sortable, typeable batch id: ``YYYYMMDD-HHMMSS-xxxxxx``."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _report(problems) -> list[dict]:
    return [
        {"row": None if p.row is None else int(p.row), "field": p.field, "message": p.message,
         "severity": p.severity}
        for p in problems
    ]


def _rejection(name: str, n_read: int, n_valid: int, errors: list[RowProblem]) -> InputError:
    rows = {p.row for p in errors if p.row is not None}
    where = f" in {len(rows)} row(s)" if rows else ""
    hint = (
        f"Fix the file, or import again with skip-invalid (--skip-invalid) to store the "
        f"{n_valid} valid row(s) and keep this report with the batch."
        if n_valid
        else "No row is valid: check the column mapping (--map FIELD=COLUMN), the CRS (--crs) "
        "and the date format (--date-format)."
    )
    return InputError(
        f"{name}: {len(errors)} problem(s){where} out of {n_read} row(s); nothing was stored. {hint}",
        errors,
    )


def _store_batch(home, kind, data, *, batch: Batch, progress) -> Batch:
    stored = home.store.import_batch(kind, data, batch, progress=progress)
    from geo_app.db import audit_home  # the audit log records every import

    audit_home(home, "import", user=batch.user, target=stored.id,
               detail={"kind": kind, "file": batch.file_name, "stored": stored.n_stored,
                       "simulated": bool(batch.simulated)})
    return stored


def import_file(
    home,
    kind: str,
    path: str | Path,
    *,
    crs=None,
    layer: str | None = None,
    mapping: dict[str, str] | None = None,
    labels: str | None = None,
    date_format: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    drop_duplicates: bool = False,
    user: str = "cli",
    simulated: bool = False,
    progress: Progress | None = None,
    file_name: str | None = None,
    constants: dict | None = None,
    geocode: str | None = None,
) -> ImportOutcome:
    """Read, validate and store one file as one batch.

    Parameters
    ----------
    home : geo_app.config.Home
        The deployment (settings, taxonomy, store).
    kind : str
        Layer kind (``incidents``, ``zac``…).
    path : str or Path
        The file (GeoJSON, GeoPackage, zipped Shapefile, CSV, KML).
    crs, layer, mapping, labels, date_format, constants
        Passed to ``layers.io.read_layer``: the source CRS when the file does not declare it,
        the layer of a multi-layer file, field -> column overrides, the label mapping table
        (name or CSV path), the date format, field -> value given to every row (``--set``).
    skip_invalid : bool
        Store the valid rows even if some rows have errors (the report stays with the batch).
    dry_run : bool
        Only read and validate; the store is not touched.
    drop_duplicates : bool
        Drop incident rows without an external id identical to an earlier row in every field
        (passed to ``read_layer``; by default they are kept and reported as possible duplicates).
    user : str
        Who imports (kept with the batch).
    simulated : bool
        The rows are generated (demo) data.
    progress : callable(n_done, n_total), optional
        Called while the rows are written.
    file_name : str, optional
        Name recorded with the batch and used in messages (default: the file's name; the web
        import page passes the uploaded file's original name).
    geocode : str, optional
        A column of addresses (CSV, GeoJSON, GeoPackage, shapefile or KML files; point kinds):
        rows (features) with an address and no point are
        placed on the stored address register (``geo_app.geocoding.prepare_import``); the
        precision and score of each go to ``geocode_precision`` / ``geocode_score``; a row whose
        address is not found is an error on that column.

    Returns
    -------
    ImportOutcome

    Raises
    ------
    InputError
        The file cannot be read, or has errors and ``skip_invalid`` is false (the error carries
        every ``RowProblem``); the store is unchanged.
    """
    from layers.io import read_layer

    get_spec(kind)
    path = Path(path)
    if not path.exists():
        raise InputError(f"The file {path} does not exist.")
    settings = home.settings
    with tempfile.TemporaryDirectory(prefix="vigie-geocode-") as tmp:
        geo = None
        read_path, read_crs, read_mapping = path, crs, mapping
        if geocode:
            from geo_app.geocoding import prepare_import

            geo = prepare_import(home, kind, path, geocode, Path(tmp), crs=crs, layer=layer, mapping=mapping,
                                 labels=labels, date_format=date_format, constants=constants)
            read_path, read_crs, read_mapping = geo.path, geo.crs, geo.mapping
        result = read_layer(
            read_path, kind, settings=settings, taxonomy=home.taxonomy, crs=read_crs,
            layer=None if geo else layer,  # geocoding reads its own CSV
            mapping=read_mapping, labels=labels, date_format=date_format, constants=constants,
            drop_duplicates=drop_duplicates,
        )
    problems = geo.problems(result.problems) if geo else list(result.problems)
    errors = [p for p in problems if p.severity == "error"]
    data = result.data
    n_read, n_valid = int(result.n_read), len(data)
    name = file_name or path.name
    if errors and not skip_invalid and not dry_run:
        raise _rejection(name, n_read, n_valid, errors)
    if n_valid == 0 and not dry_run:
        raise _rejection(name, n_read, 0, errors or [RowProblem(None, None, "the file holds no rows.")])
    report = _report(problems)
    counts = {"read": n_read, "valid": n_valid, "stored": 0, "rejected": n_read - n_valid}
    column_mapping = dict(result.column_mapping or {})
    source_crs = None if result.source_crs is None else str(result.source_crs)
    if geo:
        column_mapping = {k: v for k, v in column_mapping.items() if k not in ("x", "y")}
        column_mapping.update({k: v for k, v in geo.source_mapping.items() if k in ("x", "y", "point", "wkt")})
        column_mapping["geocode"] = geo.column
        source_crs = geo.source_crs
    common = {
        "report": report,
        "unmapped_labels": dict(result.unmapped_labels or {}),
        "column_mapping": column_mapping,
        "source_crs": source_crs,
        "geocoded": dict(geo.counts) if geo else {},
    }
    if dry_run:
        return ImportOutcome(batch=None, counts=counts, dry_run=True, **common)
    options = {
        "crs": crs, "layer": layer, "mapping": mapping or {}, "constants": constants or {}, "labels": labels,
        "date_format": date_format, "skip_invalid": skip_invalid, "drop_duplicates": drop_duplicates,
        "column_mapping": common["column_mapping"], "source_crs": common["source_crs"],
        "unmapped_labels": common["unmapped_labels"],
        "geocode": geo.column if geo else None, "geocoded": common["geocoded"],
    }
    data = data.drop(columns=[c for c in ("source_row",) if c in data.columns])
    if kind == "incidents" and simulated:
        data = data.assign(simulated=True)
    batch = Batch(
        id=new_batch_id(), kind=kind, file_name=name, checksum=file_checksum(path), user=user,
        created=_now_iso(), n_read=n_read, n_stored=n_valid, n_rejected=n_read - n_valid,
        simulated=simulated, options=options, report=report,
    )
    stored = _store_batch(home, kind, data, batch=batch, progress=progress)
    counts["stored"] = stored.n_stored
    return ImportOutcome(batch=stored, counts=counts, **common)


def prepare_snapshots(home) -> bool:
    """Compute and save the store's current per-incident arrays (``Workspace.prepare``), so
    that a server started afterwards maps them instead of reading every incident. Best
    effort: the import is already stored, so a failure is logged, not raised; True when done."""
    from geo_app.workspace import Workspace

    try:
        Workspace(home).prepare()
        return True
    except (VigieError, MemoryError, OSError) as e:
        log.warning("the store's arrays were not saved (a server will compute them): %s", e)
        return False


def _check_frame_rows(kind: str, gdf: gpd.GeoDataFrame, taxonomy) -> list[RowProblem]:
    """Checks an already-built frame needs: required values present, known categories."""
    spec = get_spec(kind)
    problems = []
    if gdf.crs is None:
        raise InputError("The frame has no CRS: Vigie never guesses one; set it first.")
    for name in spec.required:
        if name not in gdf.columns:
            raise InputError(f"The frame lacks the required column '{name}' of '{kind}'.")
        for i in np.flatnonzero(gdf[name].isna().to_numpy()):
            problems.append(RowProblem(int(i) + 1, name, f"'{name}' is empty."))
    if spec.one_of:
        present = np.zeros(len(gdf), dtype=bool)
        for name in spec.one_of:
            if name in gdf.columns:
                col = gdf[name]
                present |= (col.notna() & (col.astype(str).str.strip() != "")).to_numpy()
        for i in np.flatnonzero(~present):
            problems.append(RowProblem(int(i) + 1, spec.one_of[0],
                                       f"one of {', '.join(spec.one_of)} must be filled."))
    geom = gdf.geometry
    bad_geom = (geom.isna() | geom.is_empty).to_numpy()
    for i in np.flatnonzero(bad_geom):
        problems.append(RowProblem(int(i) + 1, "geometry", "the geometry is missing or empty."))
    if kind == "incidents" and "category" in gdf.columns:
        unknown = ~gdf["category"].isin(list(taxonomy.codes)).to_numpy() & gdf["category"].notna().to_numpy()
        for i in np.flatnonzero(unknown):
            problems.append(RowProblem(int(i) + 1, "category",
                                       f"'{gdf['category'].iloc[i]}' is not a category of the taxonomy."))
    return sorted(problems, key=lambda p: (p.row or 0))


def import_frame(
    home,
    kind: str,
    gdf: gpd.GeoDataFrame,
    *,
    file_name: str,
    checksum: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    user: str = "cli",
    simulated: bool = False,
    options: dict | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Store an already-built GeoDataFrame of ``kind`` as one batch.

    ``gdf`` holds the kind's columns in any CRS (it is reprojected to EPSG:4326). Rows with an
    empty required field, an empty geometry or (incidents) a category outside the taxonomy are
    errors: the frame is refused, or with ``skip_invalid`` those rows are left out. ``file_name``
    names the batch (e.g. ``simulated-incidents``); ``checksum`` defaults to a sha256 of the
    frame's values. Returns an ``ImportOutcome``; raises ``InputError`` with the problems.
    """
    get_spec(kind)
    problems = _check_frame_rows(kind, gdf, home.taxonomy)
    bad_rows = {p.row for p in problems if p.severity == "error"}
    n_read = len(gdf)
    keep = np.ones(n_read, dtype=bool)
    if bad_rows:
        keep[[r - 1 for r in bad_rows]] = False
    n_valid = int(keep.sum())
    if problems and not skip_invalid and not dry_run:
        raise _rejection(file_name, n_read, n_valid, problems)
    if n_valid == 0 and not dry_run:
        raise _rejection(file_name, n_read, 0, problems or [RowProblem(None, None, "the frame holds no rows.")])
    report = _report(problems)
    counts = {"read": n_read, "valid": n_valid, "stored": 0, "rejected": n_read - n_valid}
    if dry_run:
        return ImportOutcome(batch=None, report=report, counts=counts, dry_run=True,
                             source_crs=gdf.crs.to_string())
    data = gdf.loc[keep]
    if kind == "incidents" and simulated:
        data = data.assign(simulated=True)
    batch = Batch(
        id=new_batch_id(), kind=kind, file_name=file_name, checksum=checksum or frame_checksum(gdf),
        user=user, created=_now_iso(), n_read=n_read, n_stored=n_valid, n_rejected=n_read - n_valid,
        simulated=simulated, options=dict(options or {}), report=report,
    )
    stored = _store_batch(home, kind, data, batch=batch, progress=progress)
    counts["stored"] = stored.n_stored
    return ImportOutcome(batch=stored, report=report, counts=counts, source_crs=gdf.crs.to_string())
