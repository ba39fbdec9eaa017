"""``geo-app init | import | batches | rollback | export | config``: the deployment's data.

Exit codes (mapped by ``geo_app.cli.main``): 0 done, 1 input rejected (the store is unchanged),
2 usage (bad option or argument; the message names it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from geo_app.cli import pass_home
from geo_app.cli.options import filter_options, incident_filters, out_path
from geo_app.config import SETTING_ENV, write_config
from layers.errors import InputError, ParameterError
from layers.registry import LAYERS
from layers.settings import Settings
from layers.store import redact_url

__all__ = ["COMMANDS", "batches", "config", "export", "import_cmd", "init", "rollback"]

#: imports of at least this many rows show a progress bar on stderr
PROGRESS_MIN_ROWS = 20_000
#: how many problems the import report prints
REPORT_LINES = 20


def _export_formats() -> tuple[str, ...]:
    from layers.io import EXPORT_FORMATS

    return tuple(EXPORT_FORMATS)


def _check_export_out(out: Path, fmt: str) -> None:
    """``ParameterError`` (``--out``) for a suffix that is not the format's or a missing folder."""
    from layers.io import EXPORT_FORMATS, READ_FORMATS

    allowed = {EXPORT_FORMATS[fmt].extension} | {
        ext for ext, name in READ_FORMATS.items() if name.split("-")[0] == fmt and ext != ".kmz"}
    out_path(out, sorted(allowed), hint=f" for --format {fmt}")


def _parse_epsg(value: str | int | None, param: str) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().upper().removeprefix("EPSG:")
    try:
        return int(text)
    except ValueError:
        raise ParameterError(f"{param} must be an EPSG code such as 2154, got '{value}'.", param) from None


# ------------------------------------------------------------------------------------ init

_INIT_OPTIONS = {"analysis_crs": "crs", "crs": "crs", "timezone": "timezone", "territory": "territory",
                 "study_area": "study-area"}


def _settings(home):
    """``home.settings``, naming the environment variable when it holds the bad value."""
    import os

    try:
        return home.settings
    except ParameterError as e:
        env = SETTING_ENV.get(e.param or "")
        origin = f"{env}={os.environ[env]!r} in the environment" if env and os.environ.get(env) else str(home.config_path)
        raise ParameterError(f"setting '{e.param}' ({origin}): {e.message}", e.param) from None



@click.command("init")
@click.option("--crs", "crs", required=True, metavar="EPSG",
              help="Metric analysis CRS, an EPSG code (2154 Lambert-93, 3163 New Caledonia), or 'utm'.")
@click.option("--timezone", required=True, metavar="TZ", help="IANA time zone (Europe/Paris, Pacific/Noumea).")
@click.option("--territory", default=None, metavar="MINX,MINY,MAXX,MAXY",
              help="lon/lat extent; imported points outside it are rejected.")
@click.option("--study-area", default=None, metavar="SPEC",
              help="Where grids are clipped: areas:commune, areas or zac.")
@pass_home
def init(home, crs, timezone, territory, study_area):
    """Write the deployment's settings to config.toml in the home folder."""
    if str(crs).strip().lower() in ("utm", "auto"):
        epsg = None
    else:
        epsg = _parse_epsg(crs, "crs")
    try:
        settings = Settings(analysis_crs=epsg, timezone=timezone, territory=territory, study_area=study_area)
    except ParameterError as e:
        option = _INIT_OPTIONS.get(e.param, e.param)
        raise ParameterError(f"--{option}: {e.message}", e.param) from None
    existing = {}
    if home.config_path.exists():
        existing = dict(home.config)
    vigie = dict(existing.get("vigie", {}))
    vigie.update(
        analysis_crs=settings.analysis_crs if settings.analysis_crs is not None else "utm",
        timezone=settings.timezone,
        territory=list(settings.territory) if settings.territory else None,
        study_area=settings.study_area,
    )
    if settings.territory is None:
        vigie.pop("territory", None)
    if settings.study_area is None:
        vigie.pop("study_area", None)
    write_config(home.config_path, vigie, existing.get("web"))
    home.__dict__.pop("config", None)
    home.__dict__.pop("settings", None)
    crs_text = f"EPSG:{settings.analysis_crs}" if settings.analysis_crs else "the UTM zone of the data"
    click.echo(f"Wrote {home.config_path}")
    click.echo(f"  analysis CRS  {crs_text}")
    click.echo(f"  time zone     {settings.timezone}")
    click.echo(f"  territory     {','.join(map(str, settings.territory)) if settings.territory else 'any valid lon/lat'}")
    click.echo(f"  study area    {settings.study_area or 'union of the areas, else the incidents extent'}")
    overridden = [env for env in SETTING_ENV.values() if env in __import__("os").environ]
    if overridden:
        click.echo(f"Note: {', '.join(overridden)} set in the environment override the file.")


@click.command("config")
@pass_home
def config(home):
    """Print the effective settings (config.toml overridden by GEO_APP_* variables)."""
    import os

    s = _settings(home)
    values = {
        "analysis_crs": s.analysis_crs if s.analysis_crs is not None else "utm",
        "timezone": s.timezone,
        "territory": ",".join(map(str, s.territory)) if s.territory else "",
        "study_area": s.study_area or "",
        "taxonomy": s.taxonomy or "(default)",
        "k_anonymity": s.k_anonymity,
        "pool_size": home.pool_size,
        "max_uncompressed_mb": f"{s.max_uncompressed_mb:g}",
        "max_features": s.max_features,
        "max_vertices": s.max_vertices,
        "evaluation_min_days": s.evaluation_min_days,
        "evaluation_alpha": s.evaluation_alpha,
    }
    file_values = home.config.get("vigie", {})
    click.echo(f"home   {home.path}")
    click.echo(f"store  {redact_url(home.store_url)}")
    for name, value in values.items():
        env = SETTING_ENV[name]
        origin = f"env {env}" if os.environ.get(env) else "config.toml" if name in file_values else "default"
        click.echo(f"{name:<19} {value!s:<40} ({origin})")


# ------------------------------------------------------------------------------------ import


def _parse_pairs(items, option: str, example: str) -> dict[str, str]:
    """``FIELD=VALUE`` items of a repeated option (``--map``, ``--set``) as a dict."""
    pairs = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip() or not value.strip():
            name = "COLUMN" if option == "map" else "VALUE"
            raise ParameterError(f"--{option} takes FIELD={name} (e.g. {example}), got '{item}'.", option)
        pairs[field.strip()] = value.strip()
    return pairs


class _Bar:
    """A tqdm bar on stderr, opened on the first call of a long write."""

    def __init__(self, label: str):
        self.label, self.bar = label, None

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit="rows", file=sys.stderr, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _echo_report(outcome, kind: str) -> None:
    c = outcome.counts
    if outcome.column_mapping:
        pairs = ", ".join(f"{f}<-{col}" for f, col in outcome.column_mapping.items())
        click.echo(f"Columns: {pairs}")
    if outcome.source_crs:
        click.echo(f"Source CRS: {outcome.source_crs}")
    click.echo(f"Read {c['read']} row(s): {c['valid']} valid, {c['rejected']} rejected.")
    warnings = [p for p in outcome.problems if p.severity != "error"]
    errors = [p for p in outcome.problems if p.severity == "error"]
    for title, items in (("Rejected rows", errors), ("Warnings", warnings)):
        if items:
            click.echo(f"{title} ({len(items)}):")
            for p in items[:REPORT_LINES]:
                click.echo(f"  - {p}")
            if len(items) > REPORT_LINES:
                click.echo(f"  … and {len(items) - REPORT_LINES} more (kept with the batch)")
    if outcome.geocoded:
        parts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in outcome.geocoded.items())
        click.echo(f"Geocoded {sum(outcome.geocoded.values())} address(es): {parts}.")
    if outcome.unmapped_labels:
        labels = ", ".join(f"'{k}' ({v})" for k, v in list(outcome.unmapped_labels.items())[:REPORT_LINES])
        click.echo(f"Unmapped labels, stored as 'other': {labels}")
    if outcome.dry_run:
        click.echo(f"Dry run: {c['valid']} {kind} would be stored; nothing was written.")
    else:
        click.echo(f"Stored {c['stored']} {kind} as batch {outcome.batch.id} "
                   f"(roll back with: geo-app rollback {outcome.batch.id}).")


@click.command("import")
@click.argument("kind", type=click.Choice(list(LAYERS)), metavar="KIND")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", default=None, metavar="EPSG", help="CRS of the file when it does not declare it (e.g. 2154).")
@click.option("--layer", default=None, metavar="NAME", help="Layer to read in a GeoPackage or a zip holding several.")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help="Map a layer field onto a source column (repeat).")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE",
              help="Give a field the same value on every row, e.g. level=quartier (repeat).")
@click.option("--labels", default=None, metavar="NAME|FILE",
              help="Label mapping onto the taxonomy: a shipped table (police_uk) or a CSV source_label,category.")
@click.option("--date-format", default=None, metavar="FMT",
              help="strftime format of the dates when they are ambiguous (e.g. %m/%d/%Y).")
@click.option("--skip-invalid", is_flag=True, help="Store the valid rows and keep the report with the batch.")
@click.option("--dry-run", is_flag=True, help="Only read and report; write nothing.")
@click.option("--drop-duplicates", is_flag=True,
              help="Drop incident rows without an external id identical to an earlier row (first kept).")
@click.option("--user", default="cli", show_default=True, help="Who imports (kept with the batch).")
@click.option("--geocode", "geocode_column", default=None, metavar="COLUMN",
              help="Place rows that have an address in COLUMN and no point on the address register (CSV).")
@pass_home
def import_cmd(home, kind, file, crs, layer, maps, sets, labels, date_format, skip_invalid, dry_run,
               drop_duplicates, user, geocode_column):
    """Import FILE as a batch of layer KIND (nothing is stored if any row has an error).

    KIND is one of incidents, zac, areas, schools, shops, lights, cameras, addresses. FILE is
    GeoJSON, GeoPackage, a zipped Shapefile, CSV or KML. With --geocode COLUMN (CSV), rows with an
    address and no point are placed on the stored address register, their precision and score
    kept; an address not found rejects its row. Incident rows without an external id identical to
    an earlier row are kept and reported as possible duplicates; --drop-duplicates drops them
    (the first copy kept). Exit 0 stored, 1 rejected (the report names the
    rows), 2 bad option.
    """
    from geo_app.imports import import_file

    epsg = _parse_epsg(crs, "crs")
    mapping = _parse_pairs(maps, "map", "occurred_from=DATE_FAITS")
    constants = _parse_pairs(sets, "set", "level=quartier")
    _settings(home)  # bad settings are a usage error before reading anything
    click.echo(f"Reading {file} …", err=True)
    bar = _Bar(f"Storing {kind}")
    try:
        outcome = import_file(
            home, kind, file, crs=epsg, layer=layer, mapping=mapping or None, labels=labels,
            date_format=date_format, skip_invalid=skip_invalid, dry_run=dry_run, user=user,
            drop_duplicates=drop_duplicates, progress=bar, constants=constants or None, geocode=geocode_column,
        )
    finally:
        bar.close()
    _echo_report(outcome, kind)
    if not dry_run and outcome.counts["stored"]:
        from geo_app.imports import prepare_snapshots

        click.echo("Saving the arrays a server maps at start …", err=True)
        prepare_snapshots(home)
    n_errors = sum(p.severity == "error" for p in outcome.problems)
    if dry_run and not skip_invalid and n_errors:
        raise InputError(
            f"dry run: {Path(file).name} has {n_errors} problem(s) (listed above), so an import "
            "would store nothing; use --skip-invalid to store the valid rows."
        )


# ------------------------------------------------------------------------------------ batches


@click.command("batches")
@click.option("--kind", default=None, type=click.Choice(list(LAYERS)), help="Only the batches of this kind.")
@pass_home
def batches(home, kind):
    """List the import batches, oldest first."""
    rows = home.store.batches(kind)
    if not rows:
        click.echo("No batches." if kind is None else f"No batches of {kind}.")
        return
    header = ("id", "kind", "created (UTC)", "user", "read", "stored", "rejected", "sim", "file")
    table = [
        (b.id, b.kind, b.created[:19].replace("T", " "), b.user, str(b.n_read), str(b.n_stored),
         str(b.n_rejected), "yes" if b.simulated else "", b.file_name)
        for b in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(header)]
    right = {4, 5, 6}

    def fmt(r):
        return "  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))).rstrip()

    click.echo(fmt(header))
    for r in table:
        click.echo(fmt(r))


@click.command("rollback")
@click.argument("batch_id", metavar="BATCH")
@pass_home
def rollback(home, batch_id):
    """Remove batch BATCH and every feature it brought, atomically."""
    b = home.store.rollback(batch_id)
    from geo_app.db import audit_home  # the audit log records rollbacks

    audit_home(home, "rollback", user="cli", target=b.id, detail={"kind": b.kind, "file": b.file_name})
    click.echo(f"Rolled back batch {b.id}: removed {b.n_stored} {b.kind} from {b.file_name} "
               f"(imported {b.created[:19].replace('T', ' ')} UTC by {b.user}).")
    from geo_app.imports import prepare_snapshots

    prepare_snapshots(home)  # the new version's arrays, so that a server does not compute them


# ------------------------------------------------------------------------------------ export


@click.command("export")
@click.argument("kind", type=click.Choice(list(LAYERS)), metavar="KIND")
@click.option("--format", "fmt", required=True, type=click.Choice(_export_formats()), help="Output format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output file (shp is written as a .zip).")
@click.option("--crs", default=None, metavar="EPSG", help="CRS of the output (default EPSG:4326).")
@filter_options
@pass_home
def export(home, kind, fmt, out, crs, start, end, categories, zac, hours, weekdays, bbox):
    """Export the stored features of KIND (filtered) to a file, with provenance.

    The provenance (batches, filters, date, simulated or real) goes where each format allows:
    GeoJSON member, GeoPackage table, provenance.txt in the shapefile zip, CSV sidecar
    NAME.provenance.json, KML description. Filters other than --bbox apply to incidents only.
    """
    _check_export_out(Path(out), fmt)
    settings = _settings(home)
    epsg = _parse_epsg(crs, "crs")
    filters = incident_filters(home, start, end, categories, zac, hours, weekdays, bbox)
    store = home.store
    gdf = store.read(kind, filters, tz=settings.timezone)
    from geo_app.provenance import source_provenance
    from layers.io import write_layer

    provenance = source_provenance(store, [kind], filters=filters, batch_ids=set(gdf["batch_id"]),
                                   command=f"export {kind}", kind=kind, features=len(gdf))
    simulated = provenance["simulated"]
    out = Path(out)
    if fmt == "shp" and out.suffix.lower() != ".zip":
        out = out.with_suffix(".zip")  # a shapefile is several files: Vigie writes them zipped
    path = write_layer(gdf, out, fmt, name=kind, crs=epsg, provenance=provenance)
    from geo_app.db import audit_home  # the audit log records exports

    audit_home(home, "export", user="cli", target=kind,
               detail={"format": fmt, "file": str(path or out), "features": len(gdf), "filters": filters.describe()})
    note = " (includes SIMULATED incidents)" if simulated else ""
    click.echo(f"Exported {len(gdf)} {kind} to {path or out} ({fmt}{', EPSG:' + str(epsg) if epsg else ''}){note}.")


# ------------------------------------------------------------------------------------ prepare


@click.command("prepare")
@click.option("--proposals/--no-proposals", default=True, show_default=True,
              help="Also build the covering models of the proposals layer (minutes at ten million incidents).")
@pass_home
def prepare(home, proposals):
    """Save the arrays a server maps at start (incident columns, attribute table, darkness,
    analysis cells, street segments; the proposal models) under the deployment's cache/ folder.

    `geo-app import` saves them after every import; run this after an upgrade of Vigie (saved
    arrays of another release are not used) or a restore of the store, before `geo-app serve`.
    """
    import time

    from geo_app.workspace import Workspace

    _settings(home)
    t = time.perf_counter()
    ws = Workspace(home)
    ws.prepare()
    if proposals and len(ws.columns()):
        ws.proposal_models()
    root = ws.snapshots().root if ws.snapshots() is not None else None
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) if root and root.exists() else 0
    click.echo(f"Saved the arrays of {len(ws.columns()):,} incidents in {root} ({size / 2**20:,.0f} MB) "
               f"in {time.perf_counter() - t:.1f} s.")


COMMANDS = [init, config, import_cmd, batches, rollback, export, prepare]
