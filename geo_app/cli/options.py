"""Options shared by the commands that read incidents: one set of filter options
(``--from --to --category --zac --hours --weekdays --bbox``) and one reader over
``layers.filters.parse_filters`` and the store.
"""

from __future__ import annotations

from pathlib import Path

import click

from layers.errors import InputError, ParameterError

__all__ = ["COMMANDS", "filter_options", "hotspot_areas", "incident_filters", "out_path", "read_incidents"]

#: helpers only (``geo_app.cli`` registers the ``COMMANDS`` of every module of the package)
COMMANDS: list = []

_FILTER_OPTIONS = (
    click.option("--from", "start", default=None, metavar="DATE", help="First local date (YYYY-MM-DD)."),
    click.option("--to", "end", default=None, metavar="DATE", help="Last local date, inclusive."),
    click.option("--category", "categories", multiple=True, metavar="CODE",
                 help="Category or group code of the taxonomy (repeatable)."),
    click.option("--zac", multiple=True, metavar="NAME", help="Only incidents inside this ZAC (repeatable)."),
    click.option("--hours", default=None, metavar="H", help="Local hours, e.g. 22-5 or 8,9,10."),
    click.option("--weekdays", default=None, metavar="D", help="Local weekdays 0 (Monday) .. 6, e.g. 4-6."),
    click.option("--bbox", default=None, metavar="MINX,MINY,MAXX,MAXY", help="lon/lat box."),
)


def filter_options(f):
    """The incident filters as click options (parameters ``start``, ``end``, ``categories``,
    ``zac``, ``hours``, ``weekdays``, ``bbox``)."""
    for opt in reversed(_FILTER_OPTIONS):
        f = opt(f)
    return f


def incident_filters(home, start=None, end=None, categories=(), zac=(), hours=None, weekdays=None, bbox=None):
    """``layers.filters.Filters`` of the filter options, in the deployment's time zone and taxonomy
    (a bad value is a ``ParameterError`` naming the option)."""
    from layers.filters import parse_filters

    return parse_filters(
        bbox=bbox, start=start, end=end, categories=list(categories) or None, zac=list(zac) or None,
        hours=hours, weekdays=weekdays, tz=home.settings.timezone, taxonomy=home.taxonomy,
    )


def read_incidents(home, filters):
    """The stored incidents passing ``filters`` (EPSG:4326); ``InputError`` when none does."""
    inc = home.store.read("incidents", filters, tz=home.settings.timezone)
    if len(inc) == 0:
        raise InputError("no incidents match the filters: widen the period or the categories, or import incidents.")
    return inc


def hotspot_areas(home, filters, *, cell_size=None):
    """The hotspot areas of ``filters`` as the web shows them (``Workspace.hotspot_areas`` with
    the same default categories: the ordinary ones unless ``--category`` is given), EPSG:4326,
    cut to ``--bbox`` (areas touching it) when one is given. ``InputError`` when there is none.
    """
    from shapely import box

    ws = home.workspace()
    f = ws.default_filters(filters)
    areas = ws.hotspot_areas(f, cell_size=cell_size)
    if filters.bbox is not None:
        areas = areas[areas.intersects(box(*filters.bbox))]
    cell = ws.analysis("gistar", f, **({} if cell_size is None else {"cell_size": float(cell_size)})).attrs.get("vigie", {}).get("cell_size")
    cats = "ordinary categories" if filters.categories is None else ", ".join(f.categories)
    click.echo(f"hotspot areas: {len(areas)} ({cats}; Gi* cells of {cell} m, hot at 95 % after FDR: "
               "the areas shown on the web)")
    if not len(areas):
        raise InputError("no hotspot area matches the filters: widen the period or the categories.")
    return areas


def out_path(out, allowed, *, hint: str = "") -> Path:
    """``--out`` as a Path, its suffix one of ``allowed`` (``".gpkg"``…, any case) and its folder
    existing: checked before anything is computed (``ParameterError`` naming ``--out``)."""
    path = Path(out)
    allowed = tuple(allowed)
    if path.suffix.lower() not in allowed:
        listed = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
        raise ParameterError(f"--out must end in {listed}{hint}, got '{path.name}'.", "out")
    if not path.resolve().parent.is_dir():
        raise ParameterError(f"--out: folder '{path.parent}' does not exist; create it first.", "out")
    return path
