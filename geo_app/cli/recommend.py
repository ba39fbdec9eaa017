"""``geo-app recommend cctv|lighting`` and ``geo-app context``: proposals written to a file.

Reads the stored layers, projects them to the deployment's analysis CRS and calls
``layers.recommend``; prints the solver, the coverage before and after and the gap to the
bound. Outputs: GeoPackage (several layers), GeoJSON (one layer) or CSV, chosen by the
extension of ``--out``. Exit codes: 1 input rejected (no incidents, bad exclusion file),
2 usage.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from geo_app.cli import pass_home
from geo_app.cli.options import (
    filter_options,
    hotspot_areas,
    incident_filters,
    out_path,
    read_incidents,
)
from layers.errors import InputError, ParameterError

__all__ = ["COMMANDS", "context", "recommend"]

_FORMATS = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".csv": "csv"}


def _format_of(out: str, *, several: bool) -> str:
    fmt = _FORMATS[out_path(out, _FORMATS).suffix.lower()]
    if several and fmt != "gpkg":
        raise ParameterError(
            "this command writes several layers: use a .gpkg file for --out.", "out"
        )
    return fmt


def _flat(gdf: pd.DataFrame) -> pd.DataFrame:
    """Lists (incident ids) as comma-separated text, so every format can hold them."""
    out = gdf.copy()
    for col in out.columns:
        if col == "geometry":
            continue
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, list)).any():
            out[col] = out[col].map(lambda v: ",".join(str(x) for x in v) if isinstance(v, list) else v)
    return out


def _sources(home, filters, *frames, command: str) -> dict:
    """Provenance of the stored rows read (``geo_app.provenance.source_provenance``): their
    batches, the filters, simulated or real."""
    from geo_app.provenance import source_provenance

    ids = set().union(*(set(f["batch_id"]) for f in frames if "batch_id" in f.columns))
    return source_provenance(home.store, None, filters=filters, batch_ids=ids, command=command)


def _write(layers: dict, out: str, fmt: str, provenance: dict) -> None:
    from layers.io import write_layers

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_layers({k: _flat(v) for k, v in layers.items()}, out, fmt, provenance=provenance)


def _read_incidents(home, *options):
    """Incidents passing the filter options (``geo_app.cli.options``), and the filters."""
    filters = incident_filters(home, *options)
    return read_incidents(home, filters), filters


def _read_exclusion(path: str, crs):
    p = Path(path)
    if not p.exists():
        raise InputError(f"--exclude: the file {path} does not exist.")
    try:
        gdf = gpd.read_file(p)
    except Exception as e:  # noqa: BLE001 - pyogrio raises several types for unreadable files
        raise InputError(f"--exclude: {path} is not a readable vector file ({e}).") from None
    if gdf.crs is None:
        raise InputError(
            f"--exclude: {path} declares no CRS; Vigie never guesses one. Save it with its CRS "
            "(GeoPackage or a shapefile with its .prj)."
        )
    gdf = gdf[gdf.geometry.notna()]
    bad = ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad.any() or len(gdf) == 0:
        raise InputError(f"--exclude: {path} must hold polygons (zones where no camera may go).")
    return gdf.to_crs(crs)


def _echo_cover(meta: dict, what: str) -> None:
    b, a = meta["coverage_before"], meta["coverage_after"]
    click.echo(f"solver: {meta['solver']} ({meta['method']}, {meta['status']}, "
               f"{meta['time_s']:.1f} s)")
    click.echo(f"{what} before: {b['incidents']} incidents, {100 * b['share']:.1f} % of the weighted demand")
    click.echo(f"{what} after:  {a['incidents']} incidents, {100 * a['share']:.1f} % of the weighted demand")
    gap = meta.get("gap")
    bound = meta.get("bound")
    if gap is not None and not math.isnan(gap):
        click.echo(f"gap to the upper bound ({bound:.2f}): {100 * gap:.3f} %")


@click.group("recommend")
def recommend():
    """Situational-prevention proposals: CCTV sites, dark hotspots and lamps."""


@recommend.command("cctv")
@click.option("--new", "k", type=click.IntRange(min=1), default=None, metavar="K", help="Number of new cameras.")
@click.option("--target", type=float, default=None, metavar="SHARE",
              help="Instead of --new: the fewest cameras covering this share (0-1) of the demand.")
@click.option("--radius", type=float, default=100.0, show_default=True, metavar="M",
              help="Range of a camera, metres.")
@click.option("--fov", type=float, default=None, metavar="DEG",
              help="Field of view of new cameras, degrees (default: all around).")
@click.option("--exclude", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Polygons where no new camera may go (GeoPackage, GeoJSON with CRS, shapefile).")
@click.option("--half-life", type=float, default=365.0, show_default=True, metavar="DAYS",
              help="Recency half-life of the incidents' weight, days (0: no weighting).")
@click.option("--include-sensitive", is_flag=True,
              help="Count sensitive categories too (police only).")
@click.option("--method", type=click.Choice(["auto", "exact", "greedy"]), default="auto",
              show_default=True)
@click.option("--time-limit", type=float, default=30.0, show_default=True, metavar="S")
@filter_options
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output .gpkg (sites + existing cameras), .geojson or .csv (sites).")
@pass_home
def cctv(home, k, target, radius, fov, exclude, half_life, include_sensitive, method, time_limit,
         start, end, categories, zac, hours, weekdays, bbox, out):
    """Choose new CCTV sites among the street-light supports (maximal covering)."""
    from layers.recommend import site_cameras

    if (k is None) == (target is None):
        raise ParameterError("give either --new K or --target SHARE.", "new")
    fmt = _format_of(out, several=False)
    crs = home.settings.analysis_crs
    inc, filters = _read_incidents(home, start, end, categories, zac, hours, weekdays, bbox)
    lights = home.store.read("lights")
    cameras = home.store.read("cameras")
    excl = _read_exclusion(exclude, inc.crs) if exclude else None
    click.echo(f"{len(inc)} incidents, {len(lights)} candidate supports, {len(cameras)} existing cameras")
    sites = site_cameras(
        inc, candidates=lights if len(lights) else None, existing=cameras, k=k,
        coverage_target=target, radius_m=radius, fov=fov, exclusion=excl,
        recency_half_life_days=half_life or None, tz=home.settings.timezone,
        include_sensitive=include_sensitive, taxonomy=home.taxonomy, crs=crs,
        time_limit_s=time_limit, method=method,
    )
    meta = sites.attrs["vigie"]
    if meta["candidate_source"] == "grid":
        click.echo(f"no street lights stored: candidates are cell centres every {meta['grid_spacing_m']:g} m")
    if meta["excluded_candidates"]:
        click.echo(f"{meta['excluded_candidates']} candidates inside the exclusion zones left out")
    _echo_cover(meta, "coverage")
    layers = {"cctv_sites": sites}
    if fmt == "gpkg" and len(cameras):
        layers["existing_cameras"] = cameras
    if fmt != "gpkg":
        layers = {"cctv_sites": sites}
    _write(layers, out, fmt, {**_sources(home, filters, inc, lights, cameras, command="recommend cctv"),
                              **_json_safe(meta)})
    click.echo(f"{len(sites)} sites written to {out}")


def _json_safe(meta: dict) -> dict:
    return json.loads(json.dumps(meta, default=str))


@recommend.command("lighting")
@click.option("--k", "k", type=int, default=10, show_default=True, help="Number of proposed lamps.")
@click.option("--reach", type=float, default=30.0, show_default=True, metavar="M",
              help="Reach of a lamp, metres.")
@click.option("--night-threshold", type=float, default=0.5, show_default=True)
@click.option("--min-incidents", type=int, default=10, show_default=True)
@click.option("--cell-size", type=float, default=100.0, show_default=True, metavar="M")
@click.option("--places", type=click.Choice(["cells", "hotspots"]), default="cells",
              show_default=True,
              help="Rank grid cells, or the hotspot areas partners review on the web (Gi* 95 %, FDR).")
@click.option("--include-sensitive", is_flag=True)
@filter_options
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output .gpkg (dark_hotspots + proposed_lamps).")
@pass_home
def lighting(home, k, reach, night_threshold, min_incidents, cell_size, places, include_sensitive,
             start, end, categories, zac, hours, weekdays, bbox, out):
    """Dark hotspots and proposed lamp positions."""
    from layers.recommend import dark_hotspots, propose_lamps

    fmt = _format_of(out, several=True)
    crs = home.settings.analysis_crs
    tz = home.settings.timezone
    inc, filters = _read_incidents(home, start, end, categories, zac, hours, weekdays, bbox)
    lights = home.store.read("lights")
    areas = hotspot_areas(home, filters).to_crs(crs) if places == "hotspots" else None
    dark = dark_hotspots(inc, lights, cells_or_areas=areas, tz=tz, night_threshold=night_threshold,
                         lamp_reach_m=reach, min_incidents=min_incidents, cell_size_m=cell_size,
                         include_sensitive=include_sensitive, taxonomy=home.taxonomy, crs=crs)
    m = dark.attrs["vigie"]
    where = (f"{len(areas)} hotspot areas" if areas is not None
             else f"cells of {m['cell_size_m']:g} m")
    click.echo(f"{m['n_incidents']} incidents ({m['n_night']} at night), {m['n_working_lamps']} "
               f"working and {m['n_faulty_lamps']} faulty lamps; {where}")
    click.echo(f"{len(dark)} dark hotspots (night share >= {night_threshold:g}, "
               f">= {min_incidents} night incidents, nearest lamp beyond {reach:g} m or lamps faulty)")
    lamps = propose_lamps(inc, lights, k=k, reach_m=reach, tz=tz,
                          include_sensitive=include_sensitive, taxonomy=home.taxonomy, crs=crs)
    _echo_cover(lamps.attrs["vigie"], "night incidents within a lamp's reach")
    _write({"dark_hotspots": dark, "proposed_lamps": lamps}, out, fmt,
           {**_sources(home, filters, inc, lights, command="recommend lighting"), "dark_hotspots": _json_safe(m),
            "proposed_lamps": _json_safe(lamps.attrs["vigie"])})
    click.echo(f"{len(dark)} dark hotspots and {len(lamps)} lamps written to {out}")


@click.command("context")
@click.option("--school-radius", type=click.FloatRange(min=0, min_open=True), default=150.0, show_default=True, metavar="M")
@click.option("--shop-radius", type=click.FloatRange(min=0, min_open=True), default=50.0, show_default=True, metavar="M")
@click.option("--months", type=int, default=3, show_default=True,
              help="Length of the periods compared per ZAC and area.")
@click.option("--rtm-distance", type=click.FloatRange(min=0, min_open=True), default=150.0, show_default=True, metavar="M")
@click.option("--rtm-model", type=click.Choice(["poisson", "negbin"]), default="negbin",
              show_default=True)
@click.option("--cell-size", type=float, default=200.0, show_default=True, metavar="M",
              help="Cell size of the risk terrain model.")
@click.option("--include-sensitive", is_flag=True)
@click.option("--from", "start", default=None, metavar="DATE")
@click.option("--to", "end", default=None, metavar="DATE")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output .gpkg: schools, shops, zac, areas, risk_terrain, risk_cells layers.")
@pass_home
def context(home, school_radius, shop_radius, months, rtm_distance, rtm_model, cell_size,
            include_sensitive, start, end, out):
    """Incidents around schools and shops, trends per ZAC and area, risk terrain."""
    from layers.grid import make_grid
    from layers.recommend import (
        context_schools,
        context_shops,
        risk_surface,
        risk_terrain,
        zone_summary,
    )
    from layers.recommend.context import shop_group

    fmt = _format_of(out, several=True)
    crs = home.settings.analysis_crs
    tz = home.settings.timezone
    inc, filters = _read_incidents(home, start, end, ())
    store = home.store
    common = {"include_sensitive": include_sensitive, "taxonomy": home.taxonomy, "crs": crs}
    layers, prov = {}, {}
    schools, shops = store.read("schools"), store.read("shops")
    zac, areas, lights = store.read("zac"), store.read("areas"), store.read("lights")
    if len(schools):
        layers["schools"] = context_schools(inc, schools, radius_m=school_radius, tz=tz, **common)
        click.echo(f"schools: {len(schools)}, incidents within {school_radius:g} m counted "
                   "(weekdays 8:00-17:00 as school hours; school holidays not known)")
    if len(shops):
        layers["shops"] = context_shops(inc, shops, radius_m=shop_radius, **common)
        for g in layers["shops"].attrs["vigie"]["by_group"]:
            click.echo(f"shops ({g['group']}): {g['shops']}, {g['per_shop']:.1f} incidents per shop "
                       f"within {shop_radius:g} m")
    for name, zones in (("zac", zac), ("areas", areas)):
        if len(zones):
            layers[name] = zone_summary(inc, zones, tz=tz, months=months, **common)
            p = layers[name].attrs["vigie"]["periods"]
            prov[f"{name}_periods"] = p
            ups = int((layers[name]["trend"] == "up").sum())
            click.echo(f"{name}: {len(zones)} zones, {ups} rising (recent {p['recent'][0][:10]} to "
                       f"{p['recent'][1][:10]} against the {months} months before)")
    features = {}
    if len(shops):
        groups = shop_group(shops)
        features["shops"] = shops[groups == "other"]
        if (groups != "other").any():
            features["bars_alcohol"] = shops[groups != "other"]
    if len(schools):
        features["schools"] = schools
    if len(lights):
        features["lights"] = lights
    if features:
        ainc = inc.to_crs(crs) if crs else inc.to_crs(inc.estimate_utm_crs())
        grid = make_grid(ainc, cell_size=cell_size)
        rr = risk_terrain(ainc, grid, features=features, distance_m=rtm_distance, model=rtm_model,
                          include_sensitive=include_sensitive, taxonomy=home.taxonomy)
        prov["risk_terrain"] = _json_safe(rr.attrs["vigie"])
        click.echo(f"risk terrain ({rtm_model}, cells of {cell_size:g} m, within {rtm_distance:g} m):")
        for _, r in rr.iterrows():
            click.echo(f"  {r['factor']}: RR {r['rr']:.2f} (95 % CI {r['ci_low']:.2f}-{r['ci_high']:.2f})")
        layers["risk_terrain"] = gpd.GeoDataFrame(rr, geometry=[None] * len(rr), crs=4326)
        layers["risk_cells"] = risk_surface(grid, rr, features=features)
    if not layers:
        raise InputError("no schools, shops, ZAC or areas are stored: import them first.")
    _write(layers, out, fmt, {**_sources(home, filters, inc, schools, shops, zac, areas, lights, command="context"),
                              **prov})
    click.echo(f"{', '.join(layers)} written to {out}")


COMMANDS = [recommend, context]
