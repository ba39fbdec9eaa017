"""``geo-app emerging | profile | knox | backtest``: the time side of the analysis.

Each command reads the incidents from the store with the shared filters, reprojects them to the
deployment's analysis CRS, calls one ``layers`` function and writes its result. Automatic
choices (period, cell size) are printed. Exit codes: 0 done, 1 input rejected, 2 bad option.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd

from geo_app.cli import pass_home
from geo_app.cli.options import filter_options, incident_filters, out_path, read_incidents
from layers.errors import ParameterError

__all__ = ["COMMANDS", "backtest_cmd", "emerging", "knox", "profile"]


def _read_incidents(home, start, end, categories, zac, hours, weekdays, bbox):
    """Incidents passing the filters, in the analysis CRS, with the settings used."""
    from layers.crs import to_analysis

    filters = incident_filters(home, start, end, categories, zac, hours, weekdays, bbox)
    gdf = read_incidents(home, filters)
    return to_analysis(gdf, home.settings.analysis_crs), home.settings, filters


def _study_area(home, crs):
    """The deployment's study area (``Home.study_area``) in ``crs``, or None."""
    area = home.study_area()
    return None if area is None else area.to_crs(crs)


def _write_table(df: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() == ".csv":
        df.to_csv(path, index=False)
    else:
        path.write_text(json.dumps(json.loads(df.to_json(orient="records")), indent=1), "utf-8")


# --------------------------------------------------------------------------- emerging


@click.command("emerging")
@click.option("--period", default=None, type=click.Choice(["day", "week", "month", "quarter", "year"]),
              help="Time step of the cube (default: chosen from the span).")
@click.option("--cell-size", type=float, default=None, metavar="M", help="Cell size in metres (default automatic).")
@click.option("--time-window", type=int, default=1, show_default=True,
              help="Neighbourhood time step (previous periods in the Gi* neighbourhood; 0 = space only).")
@filter_options
@click.option("--out", required=True, metavar="FILE", help="Output: .gpkg, .geojson or .csv (no geometry).")
@pass_home
def emerging(home, period, cell_size, time_window, start, end, categories, zac, hours, weekdays, bbox, out):
    """Emerging hot spots: ArcGIS's 17 categories per grid cell, with trends and per-period bins."""
    from layers.spacetime import emerging_hotspots

    path = out_path(out, (".gpkg", ".geojson", ".csv"))
    if cell_size is not None and not cell_size > 0:
        raise ParameterError("--cell-size must be a positive number of metres.", "cell-size")
    if time_window < 0:
        raise ParameterError("--time-window must be 0 or more periods.", "time-window")
    gdf, settings, filters = _read_incidents(home, start, end, categories, zac, hours, weekdays, bbox)
    area = _study_area(home, gdf.crs)
    result = emerging_hotspots(gdf, cell_size=cell_size, period=period, tz=settings.timezone,
                               study_area=area, time_window=time_window,
                               start=filters.start, end=filters.end)
    meta = result.attrs["vigie"]
    click.echo(f"period: {meta['period']}" + (f" (automatic: {meta['period_rule']})" if meta["period_auto"] else ""))
    click.echo(f"cell size: {meta.get('cell_size')} m" + (" (automatic)" if meta.get("cell_size_auto") else ""))
    click.echo(f"{len(meta['periods'])} periods {meta['periods'][0]} .. {meta['periods'][-1]}, "
               f"{len(result)} cells, time window {meta['time_window']}, FDR on")
    for note in meta["notes"]:
        click.echo(f"note: {note}")
    counts = result["category"].value_counts()
    for cat, n in counts.items():
        click.echo(f"  {cat:<24} {n}")
    if path.suffix.lower() == ".csv":
        result.drop(columns="geometry").to_csv(path, index=False)
    else:
        from geo_app.provenance import source_provenance
        from layers.io import write_layer

        prov = source_provenance(home.store, ["incidents"], filters=filters, batch_ids=set(gdf["batch_id"]),
                                 command=f"emerging --period {meta['period']}", cell_size_m=meta.get("cell_size"),
                                 time_window=meta.get("time_window"))
        write_layer(result, path, path.suffix.lower().lstrip("."), name="emerging", provenance=prov)
    click.echo(f"wrote {path}")


# --------------------------------------------------------------------------- profile


@click.command("profile")
@click.option("--max-window", default="7 days", show_default=True, metavar="DURATION",
              help="Time windows longer than this are left out of time-of-day profiles.")
@filter_options
@click.option("--out", required=True, metavar="FILE", help="Output: .csv or .json.")
@pass_home
def profile(home, max_window, start, end, categories, zac, hours, weekdays, bbox, out):
    """Hour x weekday profile (aoristic) and day / twilight / night shares."""
    from layers.temporal import darkness_shares, hour_weekday_profile

    path = out_path(out, (".csv", ".json"))
    try:
        mw = pd.Timedelta(max_window)
    except ValueError:
        raise ParameterError(f"--max-window must be a duration such as '7 days', got '{max_window}'.",
                             "max-window") from None
    gdf, settings, _ = _read_incidents(home, start, end, categories, zac, hours, weekdays, bbox)
    prof = hour_weekday_profile(gdf, tz=settings.timezone, max_window=mw)
    shares = darkness_shares(gdf, tz=settings.timezone, max_window=mw)
    dark = shares.sum(skipna=True)
    total = float(dark.sum())
    dark_share = {k: (float(dark[k]) / total if total else float("nan")) for k in ("day", "twilight", "night")}
    click.echo(f"{prof.attrs['n_incidents']} incidents profiled, {prof.attrs['excluded_long_windows']} "
               f"left out (time window over {max_window})")
    click.echo("darkness: " + ", ".join(f"{k} {v:.1%}" for k, v in dark_share.items()))
    if path.suffix.lower() == ".csv":
        long = prof.stack().rename("incidents").reset_index()
        long["kind"] = "hour_weekday"
        extra = pd.DataFrame({"kind": "darkness", "weekday": np.nan, "hour": np.nan,
                              "class": list(dark_share), "share": list(dark_share.values())})
        pd.concat([long, extra], ignore_index=True)[["kind", "weekday", "hour", "incidents", "class", "share"]] \
            .to_csv(path, index=False)
    else:
        doc = {
            "timezone": settings.timezone,
            "n_incidents": prof.attrs["n_incidents"],
            "excluded_long_windows": prof.attrs["excluded_long_windows"],
            "max_window": str(mw),
            "hour_weekday": prof.to_numpy().round(6).tolist(),
            "weekdays": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
            "darkness": dark_share,
        }
        path.write_text(json.dumps(doc, indent=1), "utf-8")
    click.echo(f"wrote {path}")


# --------------------------------------------------------------------------- knox


@click.command("knox")
@click.option("--space-bands", required=True, metavar="M,M,...", help="Distance band edges in metres, e.g. 0,100,200,400.")
@click.option("--time-bands", required=True, metavar="D,D,...", help="Time band edges in days, e.g. 0,7,14,28.")
@click.option("--iterations", type=int, default=99, show_default=True, help="Monte Carlo permutations.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the permutations.")
@click.option("--metric", type=click.Choice(["euclidean", "manhattan"]), default="euclidean", show_default=True)
@filter_options
@click.option("--out", required=True, metavar="FILE.csv", help="Output CSV, one row per band pair.")
@pass_home
def knox(home, space_bands, time_bands, iterations, seed, metric, start, end, categories, zac, hours,
         weekdays, bbox, out):
    """Knox test of near repeats over space and time bands."""
    from layers.nearrepeat import knox_test, parse_bands

    path = out_path(out, (".csv",))
    parse_bands(space_bands, param="space-bands")
    parse_bands(time_bands, param="time-bands")
    if not 1 <= iterations <= 9999:
        raise ParameterError(f"--iterations must be between 1 and 9999, got {iterations}.", "iterations")
    gdf, settings, _ = _read_incidents(home, start, end, categories, zac, hours, weekdays, bbox)
    res = knox_test(gdf, space_bands=space_bands, time_bands=time_bands, metric=metric,
                    iterations=iterations, seed=seed, tz=settings.timezone)
    click.echo(f"{res.attrs['n_incidents']} incidents, {res.attrs['n_pairs']} pairs within "
               f"{res['space_to'].max():g} m; {res.attrs['excluded_long_windows']} left out (no exact date)")
    click.echo("bands: (lo, hi], the first band includes lo; days = difference of local calendar dates")
    for r in res.itertuples():
        flag = " *" if r.p <= 0.05 and r.knox_ratio > 1 else ""
        click.echo(f"  {r.space_from:g}-{r.space_to:g} m, {r.time_from:g}-{r.time_to:g} d: "
                   f"observed {r.observed}, expected {r.expected:.1f}, ratio {r.knox_ratio:.2f}, p {r.p:.3f}{flag}")
    res.to_csv(path, index=False)
    click.echo(f"wrote {path}")


# --------------------------------------------------------------------------- backtest


@click.command("backtest")
@click.option("--coverage", "coverages", type=float, multiple=True,
              help="Share of the area flagged (repeatable; default 0.01, 0.05, 0.10).")
@click.option("--method", "methods", multiple=True,
              type=click.Choice(["previous", "kde", "gistar", "prospective"]),
              help="Methods to compare (repeatable; default all).")
@click.option("--period", default="month", show_default=True,
              type=click.Choice(["day", "week", "month", "quarter", "year"]))
@click.option("--cell-size", type=float, default=None, metavar="M", help="Cell size in metres (default automatic).")
@click.option("--min-history", type=int, default=3, show_default=True, help="Periods before the first forecast.")
@click.option("--streets", "with_streets", is_flag=True,
              help="Also backtest street segments at the same covered area (previous, gistar) and compare "
                   "their PAI and PEI with the grid's.")
@filter_options
@click.option("--out", required=True, metavar="FILE.csv", help="Output CSV: one row per period, method, coverage.")
@pass_home
def backtest_cmd(home, coverages, methods, period, cell_size, min_history, with_streets, start, end, categories,
                 zac, hours, weekdays, bbox, out):
    """Rolling-origin backtest of hotspot methods; prints the recommended method. With
    ``--streets``, street segments too (``layers.evaluate.backtest_segments``): the CSV gets a
    ``unit`` column (grid / segments) and a table compares the two per method and coverage."""
    from layers.evaluate import METHODS, SEGMENT_METHODS, backtest_summary, recommend_method

    path = out_path(out, (".csv",))
    coverages = coverages or (0.01, 0.05, 0.10)
    for c in coverages:
        if not 0 < c < 1:
            raise ParameterError(f"--coverage must be a share of the area between 0 and 1, got {c}.", "coverage")
    if cell_size is not None and not cell_size > 0:
        raise ParameterError("--cell-size must be a positive number of metres.", "cell-size")
    if min_history < 1:
        raise ParameterError("--min-history must be at least 1.", "min-history")
    if bbox:
        raise ParameterError("--bbox does not apply to backtest: PAI and PEI are shares of the whole study "
                             "area; narrow it with --zac or the study_area setting instead.", "bbox")
    filters = incident_filters(home, start, end, categories, zac, hours, weekdays, bbox)
    ws = home.workspace()  # the same backtest as GET /api/backtest
    options = {"coverages": coverages, "period": period, "min_history": min_history}
    res = ws.backtest_runs(filters, unit="grid", methods=methods or METHODS, cell_size=cell_size, **options)
    meta = res.attrs["vigie"]
    click.echo(f"cell size: {meta.get('cell_size')} m" + (" (automatic)" if meta.get("cell_size_auto") else ""))
    summary = backtest_summary(res)
    click.echo(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    method, reason = recommend_method(res)
    click.echo(f"recommended method: {method}")
    click.echo(f"why: {reason}")
    if with_streets:
        if not home.store.count("streets"):
            raise ParameterError("--streets needs the street network: import the layer kind 'streets' first.",
                                 "streets")
        seg_methods = [m for m in (methods or METHODS) if m in SEGMENT_METHODS] or list(SEGMENT_METHODS)
        seg = ws.backtest_runs(filters, unit="streets", methods=seg_methods, **options)
        res = _compare_with_streets(res, seg, seg_methods)
    res.to_csv(path, index=False)
    click.echo(f"wrote {path}")


def _compare_with_streets(res: pd.DataFrame, seg: pd.DataFrame, seg_methods) -> pd.DataFrame:
    """Prints mean PAI and PEI per method and coverage for the grid (``res``) and the street
    segments (``seg``); returns both result tables in one (column ``unit``)."""
    from layers.evaluate import backtest_summary

    meta = seg.attrs["vigie"]
    click.echo(f"street segments: footprint = length x {meta['width_m']:.0f} m; study area "
               f"{meta['study_area_m2'] / 1e6:.2f} km²; same coverages as the grid")
    grid = backtest_summary(res).assign(unit="grid")
    segs = backtest_summary(seg).assign(unit="segments")
    both = pd.concat([grid, segs], ignore_index=True)
    table = both[both["method"].isin(seg_methods)].pivot_table(index=["coverage", "method"], columns="unit",
                                                               values=["pai", "pei"])
    table.columns = [f"{v}_{u}" for v, u in table.columns]
    click.echo(table.reset_index().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return pd.concat([res.assign(unit="grid"), seg.assign(unit="segments")], ignore_index=True)


COMMANDS = [emerging, profile, knox, backtest_cmd]
