"""``geo-app hotspots``: every method on a small deployment, the files re-read, bad input."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_app.cli import main
from layers.store.base import Batch

X0, Y0 = 770_000.0, 6_278_000.0  # Montpellier, Lambert-93



def batch(kind, bid, n):
    return Batch(id=bid, kind=kind, file_name=f"{bid}.csv", checksum="0" * 64, user="test",
                 created="2026-01-01T00:00:00Z", n_read=n, n_stored=n, n_rejected=0)


@pytest.fixture
def city(home):
    from geo_app.config import write_config

    write_config(home.config_path, {"analysis_crs": 2154, "timezone": "Europe/Paris", "study_area": "areas:commune"})
    rng = np.random.default_rng(21)
    hot = rng.normal([X0 + 1500, Y0 + 1000], 60, (300, 2))
    bg = rng.uniform([X0, Y0], [X0 + 3000, Y0 + 2000], (700, 2))
    xy = np.r_[hot, bg]
    n = len(xy)
    cats = np.where(np.arange(n) % 3 == 0, "burglary", "theft")
    when = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h")
    inc = gpd.GeoDataFrame({"category": cats, "occurred_from": when},
                           geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=2154)
    home.store.import_batch("incidents", inc, batch("incidents", "inc1", n))
    areas = gpd.GeoDataFrame({"name": ["Commune", "Centre"], "code": ["34172", "C"], "level": ["commune", "quartier"]},
                             geometry=[shapely.box(X0, Y0, X0 + 3000, Y0 + 2000),
                                       shapely.box(X0 + 1000, Y0 + 500, X0 + 2000, Y0 + 1500)], crs=2154)
    home.store.import_batch("areas", areas, batch("areas", "areas1", 2))
    zac = gpd.GeoDataFrame({"name": ["ZAC Gare"]}, geometry=[shapely.box(X0 + 1300, Y0 + 800, X0 + 1700, Y0 + 1200)],
                           crs=2154)
    home.store.import_batch("zac", zac, batch("zac", "zac1", 1))
    return home, inc


def run(args, capsys):
    code = main(["hotspots", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_gistar_to_geopackage(city, tmp_path, capsys, read_result):
    _, inc = city
    out = tmp_path / "gi.gpkg"
    code, text, err = run(["--method", "gistar", "--cell-size", "100", "--out", str(out)], capsys)
    assert code == 0, err
    assert "cell size: 100 m (given)" in text and "Benjamini-Hochberg" in text and "queen" in text
    back = read_result(out)
    assert {"cell_id", "n", "z", "p", "p_adj", "bin"} <= set(back.columns)
    assert back.crs.to_epsg() == 4326 and len(back) == 600
    assert back["n"].sum() == len(inc)
    centre = back.loc[back.geometry.contains(gpd.GeoSeries([shapely.Point(X0 + 1510, Y0 + 1010)], crs=2154).to_crs(4326).iloc[0])]
    assert centre["bin"].item() == 3


def test_kde_to_geojson_prints_the_bandwidth(city, tmp_path, capsys, read_result):
    out = tmp_path / "kde.geojson"
    code, text, err = run(["--method", "kde", "--out", str(out)], capsys)
    assert code == 0, err
    assert "cell size: 50 m (automatic" in text and "bandwidth:" in text and "Silverman" in text
    back = read_result(out)
    assert {"cell_id", "n", "kde"} <= set(back.columns) and back["kde"].max() > 0
    code, text, _ = run(["--method", "kde", "--bandwidth", "300", "--kernel", "gaussian", "--from", "2024-01-01",
                         "--to", "2024-12-31", "--out", str(out)], capsys)
    assert code == 0 and "300 m (given)" in text and "per year" in text


def test_counts_lisa_hex_and_filters(city, tmp_path, capsys, read_result):
    _, inc = city
    out = tmp_path / "c.gpkg"
    code, text, err = run(["--method", "counts", "--grid", "hex", "--cell-size", "200", "--category", "burglary",
                           "--from", "2024-03-01", "--to", "2024-06-30", "--out", str(out)], capsys)
    assert code == 0, err
    back = read_result(out)
    local = inc["occurred_from"].dt.tz_convert("Europe/Paris")
    expected = ((inc["category"] == "burglary") & (local >= pd.Timestamp("2024-03-01", tz="Europe/Paris"))
                & (local < pd.Timestamp("2024-07-01", tz="Europe/Paris"))).sum()
    assert back["n"].sum() == expected > 0
    assert "hex cells" in text
    code, text, err = run(["--method", "lisa", "--cell-size", "200", "--permutations", "99", "--zac", "ZAC Gare",
                           "--out", str(out)], capsys)
    assert code == 0, err
    back = read_result(out)
    assert {"cell_id", "n", "quadrant", "p", "I", "cluster"} <= set(back.columns)
    assert set(back["quadrant"]) <= {"HH", "LH", "LL", "HL"}
    assert "permutations: 99" in text


def test_areas_writes_hotspot_polygons(city, tmp_path, capsys, read_result):
    out = tmp_path / "areas.geojson"
    code, text, err = run(["--areas", "--cell-size", "100", "--out", str(out)], capsys)
    assert code == 0, err
    back = read_result(out)
    assert len(back) >= 1 and back["hotspot_id"].str.startswith("HS-").all()
    top = back.iloc[0]
    assert top["zac"] == "ZAC Gare" and "Centre" in top["areas"] and "Commune" in top["areas"]
    cats = top["categories"]  # GDAL may parse the JSON text of a GeoJSON property itself
    assert (json.loads(cats) if isinstance(cats, str) else cats)["theft"] > 0.5
    assert "hotspot areas:" in text
    assert 0 <= top["night_share"] <= 1  # darkness from layers.temporal (sun position, local time)
    # same data, same ids
    out2 = tmp_path / "areas2.geojson"
    assert run(["--areas", "--cell-size", "100", "--out", str(out2)], capsys)[0] == 0
    assert read_result(out2)["hotspot_id"].tolist() == back["hotspot_id"].tolist()


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["--out", "x.txt"], 2, ".gpkg, .geojson or .json"),
        (["--cell-size", "-5", "--out", "x.gpkg"], 2, "cell-size"),
        (["--cell-size", "big", "--out", "x.gpkg"], 2, "cell-size"),
        (["--distance", "far", "--out", "x.gpkg"], 2, "distance"),
        (["--category", "unicorns", "--out", "x.gpkg"], 2, "unicorns"),
        (["--zac", "Nowhere", "--out", "x.gpkg"], 2, "Nowhere"),
        (["--from", "2030-01-01", "--out", "x.gpkg"], 1, "no incidents"),
        (["--from", "yesterday", "--out", "x.gpkg"], 2, "from"),
        (["--method", "magic", "--out", "x.gpkg"], 2, "magic"),
        (["--distance", "auto", "--from", "2024-12-24", "--out", "x.gpkg"], 1, "at least 30 incidents"),
    ],
)
def test_bad_input(city, tmp_path, capsys, monkeypatch, args, code, text):
    monkeypatch.chdir(tmp_path)
    got, out, err = run(args, capsys)
    assert got == code
    assert text in out + err
    assert not (tmp_path / "x.gpkg").exists()


@pytest.mark.slow
def test_demo_city_all_methods(demo_home, tmp_path, capsys, read_result):
    for method, cols in (("counts", {"n"}), ("kde", {"kde"}), ("gistar", {"z", "p", "bin"}), ("lisa", {"quadrant", "p"})):
        out = tmp_path / f"{method}.gpkg"
        code, _text, err = run(["--method", method, "--permutations", "99", "--out", str(out)], capsys)
        assert code == 0, err
        back = read_result(out)
        assert {"cell_id", "n"} | cols <= set(back.columns)
        assert back["n"].sum() > 0
    out = tmp_path / "areas.geojson"
    code, _, err = run(["--areas", "--out", str(out)], capsys)
    assert code == 0, err
    areas = read_result(out)
    assert len(areas) >= 1 and areas["hotspot_id"].is_unique
    # the demo's simulated incidents are densest in the historic centre (Écusson / Comédie)
    comedie = gpd.GeoSeries([shapely.Point(3.8800, 43.6085)], crs=4326).to_crs(2154).iloc[0]
    assert areas.to_crs(2154).geometry.distance(comedie).min() < 1000
