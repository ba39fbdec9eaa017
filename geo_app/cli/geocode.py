"""``geo-app geocode FILE --address-column COL --out F.csv|F.gpkg``: a batch of addresses placed on
the stored register; FILE is a CSV or a vector file the import reads (GeoJSON, GeoPackage, zipped
shapefile, KML).

Exit codes (mapped by ``geo_app.cli.main``): 0 written, 1 input rejected (empty file, no address
register in the store), 2 usage (unknown column, bad ``--out``, bad threshold).
"""

from __future__ import annotations

from pathlib import Path

import click

from geo_app.cli import pass_home
from geo_app.cli.options import out_path
from layers.errors import ParameterError

__all__ = ["COMMANDS", "geocode_cmd"]


@click.command("geocode")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--address-column", required=True, metavar="COL", help="The column holding the addresses.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file: .csv or .gpkg.")
@click.option("--layer", default=None, help="Layer of a GeoPackage holding several.")
@click.option("--threshold", type=float, default=None, metavar="SCORE",
              help="Lowest street score (0-100) accepted at all (default 80).")
@click.option("--house-threshold", type=float, default=None, metavar="SCORE",
              help="Lowest street score at which a number is placed at a house (default 90).")
@pass_home
def geocode_cmd(home, file, address_column, out, layer, threshold, house_threshold):
    """Geocode every row of FILE from its --address-column against the stored address register.

    FILE is a CSV or a GeoJSON, GeoPackage, zipped shapefile or KML file: every feature is
    geocoded from its address, its own geometry (if any) kept as lon/lat WKT in file_geometry.
    The output keeps the file's columns and adds geocode_precision (house, interpolated, street,
    intersection, not_found), geocode_score (0-100), geocode_label, geocode_note and the point:
    lon/lat columns in a CSV, a point layer "geocoded" in a GeoPackage (EPSG:4326).
    """
    from geo_app.geocoding import geocode_table
    from layers.geocode import GeocodeParams

    out = out_path(out, [".csv", ".gpkg"])
    defaults = GeocodeParams()
    try:
        params = GeocodeParams(threshold=defaults.threshold if threshold is None else threshold,
                               house_threshold=defaults.house_threshold if house_threshold is None
                               else house_threshold)
    except ParameterError as e:
        raise ParameterError(f"--{e.param.replace('_', '-')}: {e.message}", e.param) from None
    gdf = geocode_table(home, file, address_column, params=params, layer=layer)
    if out.suffix.lower() == ".gpkg":
        gdf.to_file(out, layer="geocoded", driver="GPKG")
    else:
        from layers.io.writers import neutralise_formulas

        table = gdf.drop(columns=gdf.geometry.name)
        for c in table.columns:
            if table[c].dtype == object:
                table[c] = neutralise_formulas(table[c])
        found = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
        table["lon"] = gdf.geometry.x.where(found).round(7)
        table["lat"] = gdf.geometry.y.where(found).round(7)
        table.to_csv(out, index=False, encoding="utf-8")
    counts = gdf["geocode_precision"].value_counts()
    parts = ", ".join(f"{k.replace('_', ' ')} {counts.get(k, 0)}" for k in
                      ("house", "interpolated", "street", "intersection", "not_found"))
    click.echo(f"Geocoded {len(gdf)} row(s) of {Path(file).name}: {parts}. Wrote {out}.")


COMMANDS = [geocode_cmd]
