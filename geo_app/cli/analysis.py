"""``geo-app hotspots``: hotspot analyses of the stored incidents, written to a file.

Reads the incidents with the shared filters (``layers.filters.parse_filters``), projects them to
the deployment's analysis CRS, draws the grid over the study area (``Settings.study_area``) and
runs one method of ``layers.hotspots``; the automatic choices (cell size, bandwidth, distance)
are printed. Exit codes: 1 input rejected (no incidents, too few for a scale), 2 usage.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click
import geopandas as gpd
import numpy as np
import shapely

from geo_app.cli import pass_home
from geo_app.cli.options import (
    filter_options,
    hotspot_areas,
    incident_filters,
    out_path,
    read_incidents,
)
from geo_app.provenance import source_provenance
from layers.errors import ParameterError, VigieWarning

__all__ = ["COMMANDS", "OUTPUT_DRIVERS", "hotspots"]

#: output file extension -> OGR driver
OUTPUT_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}
METHODS = ("counts", "kde", "gistar", "lisa")


def _number(value, name):
    if value is None:
        return None
    if str(value).strip().lower() == "auto":
        return "auto"
    try:
        v = float(value)
    except ValueError:
        raise ParameterError(f"--{name} must be a number of metres, got '{value}'.", name) from None
    if v <= 0:
        raise ParameterError(f"--{name} must be a positive number of metres, got '{value}'.", name)
    return v


def _describe(meta: dict) -> list[str]:
    lines = []
    if "cell_size" in meta:
        how = "automatic (about 50 cells across the shorter side)" if meta.get("cell_size_auto") else "given"
        lines.append(f"cell size: {meta['cell_size']:g} m ({how}), {meta.get('shape')} cells, "
                     f"{meta.get('n_cells')} cells")
    if "n_incidents" in meta:
        lines.append(f"incidents: {meta['n_incidents']} in the grid, {meta.get('n_outside', 0)} outside the study area")
    if "bandwidth" in meta:
        how = "automatic (ArcGIS spatial Silverman rule)" if meta.get("bandwidth_auto") else "given"
        lines.append(f"bandwidth: {meta['bandwidth']:.0f} m ({how}), {meta.get('kernel')} kernel, {meta.get('unit')}")
    if "neighbourhood" in meta:
        nb = meta["neighbourhood"]
        if nb == "queen":
            lines.append("neighbourhood: queen contiguity (cells sharing an edge or corner)")
        else:
            how = "automatic" if meta.get("distance_auto") else "given"
            extra = ""
            if meta.get("scale"):
                sc = meta["scale"]
                if sc["method"] == "peak":
                    extra = ", first peak of the global Moran's I z over distance bands"
                else:
                    extra = f", no peak: mean distance to the {sc['k']}-th nearest incident"
            lines.append(f"distance band: {nb:.0f} m ({how}{extra})")
    if "correction" in meta:
        lines.append(f"multiple testing: {meta['correction']} (bins at 99/95/90 %); "
                     f"{meta.get('n_hot', 0)} hot and {meta.get('n_cold', 0)} cold cells at 95 %")
    if "permutations" in meta:
        lines.append(f"permutations: {meta['permutations']} (seed {meta.get('seed')}), alpha {meta.get('alpha')}")
    if "n_hotspots" in meta:
        lines.append(f"hotspot areas: {meta['n_hotspots']} (adjacent cells with bin >= {meta.get('min_bin')})")
    return lines


def _write(gdf: gpd.GeoDataFrame, out: Path, *, name: str, provenance: dict) -> None:
    """Write ``gdf`` (EPSG:4326) with its provenance through ``layers.io.write_layer``."""
    from layers.io import write_layer

    fmt = OUTPUT_DRIVERS[out.suffix.lower()].lower()
    write_layer(gdf, out, fmt, name=name, provenance=provenance)


def _scalars(meta: dict) -> dict:
    """The automatic choices of ``attrs['vigie']`` that fit a provenance record (no arrays)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in meta.items()
            if v is None or isinstance(v, (str, int, float, bool, np.generic))}


@click.command("hotspots")
@click.option("--method", type=click.Choice(METHODS), default="gistar", show_default=True,
              help="counts per cell, kernel density, Getis-Ord Gi* (FDR) or local Moran (LISA).")
@click.option("--grid", "shape", type=click.Choice(["square", "hex"]), default="square", show_default=True)
@click.option("--cell-size", default=None, metavar="M", help="Cell size in metres (default: automatic).")
@click.option("--bandwidth", default=None, metavar="M", help="KDE bandwidth in metres (default: Silverman).")
@click.option("--kernel", type=click.Choice(["quartic", "gaussian"]), default="quartic", show_default=True)
@click.option("--distance", default=None, metavar="M|auto",
              help="Gi*/LISA distance band in metres, or 'auto' (default: queen contiguity).")
@filter_options
@click.option("--permutations", default=999, show_default=True, type=click.IntRange(1, 99999), help="LISA permutations.")
@click.option("--seed", default=0, show_default=True, type=int, help="LISA random seed.")
@click.option("--areas", "areas_flag", is_flag=True,
              help="Write the hotspot areas (merged significant Gi* hot cells) instead of the cells.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output .gpkg or .geojson.")
@pass_home
def hotspots(home, method, shape, cell_size, bandwidth, kernel, distance, start, end, categories, zac,
             hours, weekdays, bbox, permutations, seed, areas_flag, out):
    """Hotspot analysis of the stored incidents, written as grid cells (or hotspot areas)."""
    from layers import hotspots as hs
    from layers.crs import to_analysis
    from layers.grid import make_grid

    out = out_path(out, OUTPUT_DRIVERS)
    cs = _number(cell_size, "cell-size")
    if cs == "auto":
        cs = None
    bw = _number(bandwidth, "bandwidth")
    if bw == "auto":
        bw = None
    dist = _number(distance, "distance")
    settings = home.settings
    filters = incident_filters(home, start, end, categories, zac, hours, weekdays, bbox)
    store = home.store
    if areas_flag:
        for name, given in (("distance", dist), ("grid", shape != "square" or None)):
            if given is not None:
                raise ParameterError(f"--{name} does not apply to --areas: hotspot areas are the ones the web "
                                     "shows (Gi* on square cells, queen neighbours).", name)
        areas = hotspot_areas(home, filters, cell_size=cs)
        prov = source_provenance(store, ["incidents"], filters=filters, command="hotspots --areas",
                                 **_scalars(areas.attrs.get("vigie", {})))
        _write(areas.drop(columns=[c for c in ("status",) if c in areas.columns]), out, name="hotspot_areas",
               provenance=prov)
        click.echo(f"wrote {len(areas)} hotspot areas to {out}")
        return
    incidents = read_incidents(home, filters)
    crs = settings.analysis_crs
    area = home.study_area()
    if area is not None:
        # grid in the analysis CRS; the incidents stay in EPSG:4326 (their coordinates are
        # transformed by layers.hotspots, faster than reprojecting every point geometry)
        area = to_analysis(area, crs)
        inc = incidents
    else:
        inc = to_analysis(incidents, crs)
    click.echo(f"{len(inc)} incidents read" + (f" ({json.dumps(filters.describe(), ensure_ascii=False)})"
                                                 if not filters.is_empty else ""))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VigieWarning)
        if method == "gistar":
            result = hs.gistar(inc, cell_size=cs, shape=shape, distance=dist, study_area=area)
        elif method == "counts":
            grid_area = area if area is not None else gpd.GeoSeries(
                [shapely.box(*inc.total_bounds).buffer(1.0)], crs=inc.crs)
            result = hs.count_incidents(inc, make_grid(grid_area, cell_size=cs, shape=shape))
        elif method == "kde":
            period = (filters.start, filters.end) if filters.start is not None and filters.end is not None else None
            result = hs.kde(inc, cell_size=cs, shape=shape, bandwidth=bw, kernel=kernel, study_area=area,
                            period=period)
        else:
            result = hs.lisa(inc, cell_size=cs, shape=shape, distance=dist, study_area=area,
                             permutations=permutations, seed=seed)
    for w in caught:
        click.echo(f"Warning: {w.message}", err=True)
    meta = result.attrs.get("vigie", {})
    for line in _describe(meta):
        click.echo(line)
    cols = [c for c in result.columns if c not in ("col", "row")]
    prov = source_provenance(store, ["incidents"], filters=filters, batch_ids=set(incidents["batch_id"]),
                             command=f"hotspots --method {method}", **_scalars(meta))
    _write(result[cols], out, name=method, provenance=prov)
    click.echo(f"wrote {len(result)} cells to {out}")


COMMANDS = [hotspots]
