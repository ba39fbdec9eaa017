"""``geo-app recommend cctv|lighting`` and ``geo-app context`` through ``geo_app.cli.main``."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from geo_app.cli import main
from geo_app.imports import import_frame


def run(capsys, *args):
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def small(home):
    """A tiny deployment: 12 thefts in two clusters, 3 lamps, 1 camera (lon/lat)."""
    pts = [Point(3.8800, 43.6100)] * 8 + [Point(3.9000, 43.6200)] * 4
    inc = gpd.GeoDataFrame(
        {"category": ["theft"] * 12,
         "occurred_from": pd.to_datetime(["2024-05-01T22:30Z"] * 12, utc=True),
         "external_id": [f"i{i}" for i in range(12)]},
        geometry=pts, crs=4326,
    )
    import_frame(home, "incidents", inc, file_name="inc.csv", user="test")
    lights = gpd.GeoDataFrame({"type": ["LANTERNE"] * 3},
                              geometry=[Point(3.8801, 43.6100), Point(3.9001, 43.6200),
                                        Point(3.8500, 43.6000)], crs=4326)
    import_frame(home, "lights", lights, file_name="lights.csv", user="test")
    cams = gpd.GeoDataFrame({"name": ["C1"]}, geometry=[Point(3.8200, 43.6000)], crs=4326)
    import_frame(home, "cameras", cams, file_name="cams.csv", user="test")
    return home


def test_cctv_writes_sites_and_prints_coverage(small, tmp_path, capsys):
    out = tmp_path / "cctv.gpkg"
    code, text, err = run(capsys, "recommend", "cctv", "--new", 1, "--out", out)
    assert code == 0, err
    assert "coverage before: 0 incidents" in text
    assert "coverage after:  8 incidents" in text
    assert "gap to the upper bound" in text
    sites = gpd.read_file(out, layer="cctv_sites")
    assert len(sites) == 1 and sites["covered_incidents"].iloc[0] == 8
    assert sites.geometry.iloc[0].distance(Point(3.8801, 43.61)) < 1e-6
    assert len(sites["incident_ids"].iloc[0].split(",")) == 8
    assert "existing_cameras" in pyogrio.list_layers(out)[:, 0]


def test_cctv_exclusion_file(small, tmp_path, capsys):
    zone = gpd.GeoDataFrame(geometry=[Point(3.8801, 43.61).buffer(0.0005)], crs=4326)
    path = tmp_path / "zone.gpkg"
    zone.to_file(path)
    out = tmp_path / "cctv.csv"
    code, text, err = run(capsys, "recommend", "cctv", "--new", 1, "--exclude", path, "--out", out)
    assert code == 0, err
    assert "1 candidates inside the exclusion zones left out" in text
    assert "coverage after:  4 incidents" in text


@pytest.mark.parametrize("args,code_expected,needle", [
    (["--new", 1, "--target", 0.5], 2, "either --new"),
    (["--out-missing"], 2, ""),
    (["--new", 1, "--radius", -3], 2, "radius_m"),
])
def test_cctv_usage_errors(small, tmp_path, capsys, args, code_expected, needle):
    argv = ["recommend", "cctv", *args]
    if "--out-missing" in args:
        argv = ["recommend", "cctv", "--new", 1, "--out", tmp_path / "x.txt"]
        needle = ".gpkg"
    else:
        argv += ["--out", tmp_path / "x.gpkg"]
    code, _, err = run(capsys, *argv)
    assert code == code_expected
    assert needle in err
    assert not (tmp_path / "x.gpkg").exists()


def test_cctv_bad_exclusion_files_exit_1(small, tmp_path, capsys):
    code, _, err = run(capsys, "recommend", "cctv", "--new", 1, "--exclude", tmp_path / "nope.gpkg",
                       "--out", tmp_path / "x.gpkg")
    assert code == 1 and "does not exist" in err
    pts = gpd.GeoDataFrame(geometry=[Point(3.88, 43.61)], crs=4326)
    pts.to_file(tmp_path / "pts.gpkg")
    code, _, err = run(capsys, "recommend", "cctv", "--new", 1, "--exclude", tmp_path / "pts.gpkg",
                       "--out", tmp_path / "x.gpkg")
    assert code == 1 and "polygons" in err


def test_no_incidents_exit_1(home, tmp_path, capsys):
    code, _, err = run(capsys, "recommend", "cctv", "--new", 2, "--out", tmp_path / "x.gpkg")
    assert code == 1 and "no incidents" in err
    code, _, err = run(capsys, "recommend", "lighting", "--out", tmp_path / "y.csv")
    assert code == 2 and ".gpkg" in err


@pytest.mark.slow
def test_lighting_and_context_on_the_demo_city(demo_home, tmp_path, capsys):
    out = tmp_path / "light.gpkg"
    code, text, err = run(capsys, "recommend", "lighting", "--k", 3, "--out", out)
    assert code == 0, err
    assert "dark hotspots" in text and "solver:" in text
    dark = gpd.read_file(out, layer="dark_hotspots")
    lamps = gpd.read_file(out, layer="proposed_lamps")
    assert len(lamps) == 3 and dark["dark"].all()
    assert {"night_share", "dist_nearest_lamp_m", "lamps_per_100m", "reason_fr"} <= set(dark.columns)
    out = tmp_path / "ctx.gpkg"
    code, text, err = run(capsys, "context", "--out", out)
    assert code == 0, err
    names = set(pyogrio.list_layers(out)[:, 0])
    assert {"schools", "shops", "zac", "areas", "risk_terrain", "risk_cells"} <= names
    cells = gpd.read_file(out, layer="risk_cells")
    assert (cells["relative_risk"] >= 1).any()
    rr = gpd.read_file(out, layer="risk_terrain")
    assert (rr["ci_low"] <= rr["rr"]).all() and (rr["rr"] <= rr["ci_high"]).all()
    assert "RR" in text


@pytest.mark.slow
def test_lighting_on_hotspot_areas(demo_home, tmp_path, capsys):
    out = tmp_path / "light.gpkg"
    code, text, err = run(capsys, "recommend", "lighting", "--places", "hotspots", "--k", 2,
                          "--out", out)
    assert code == 0, err
    assert "hotspot areas: " in text and "the areas shown on the web" in text
    assert re.search(r"faulty lamps; \d+ hotspot areas", text)
    layers = set(pyogrio.list_layers(out)[:, 0])
    assert {"dark_hotspots", "proposed_lamps"} <= layers
    assert len(gpd.read_file(out, layer="proposed_lamps")) == 2
