"""One provenance record (``geo_app.provenance.source_provenance``) for ``geo-app export`` and
the analysis commands: the files re-read say which imports, filters, simulated or real."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from geo_app.cli import main
from geo_app.imports import import_frame
from geo_app.provenance import source_provenance
from layers.filters import Filters


def _incidents(seed, n=150):
    rng = np.random.default_rng(seed)
    xy = rng.uniform([3.86, 43.60], [3.88, 43.62], (n, 2))
    when = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h")
    cats = np.where(np.arange(n) % 2 == 0, "theft", "burglary")
    return gpd.GeoDataFrame({"category": cats, "occurred_from": when},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326)


@pytest.fixture
def two_batches(home):
    real = import_frame(home, "incidents", _incidents(1), file_name="real.csv").batch
    sim = import_frame(home, "incidents", _incidents(2), file_name="simulated", simulated=True).batch
    return home, real, sim


def _gpkg_provenance(path):
    return dict(pyogrio.read_dataframe(path, layer="provenance")[["key", "value"]].to_numpy())


def test_source_provenance_by_hand(two_batches):
    home, real, sim = two_batches
    store = home.store
    both = source_provenance(store, ["incidents"], filters=Filters(), command="x", method="gistar")
    assert both["command"] == "x" and both["method"] == "gistar" and both["filters"] == {}
    assert [b["file_name"] for b in both["batches"]] == ["real.csv", "simulated"]
    assert both["data"] == "mixed (simulated and real)" and both["simulated"] is True
    only_real = source_provenance(store, ["incidents"], batch_ids=[real.id])
    assert only_real["data"] == "real" and only_real["simulated"] is False and "command" not in only_real
    assert source_provenance(store, ["incidents"], batch_ids=[sim.id])["data"] == "simulated"
    assert source_provenance(store, ["lights"])["data"] == "none"


def test_hotspots_file_carries_its_provenance(two_batches, tmp_path, capsys):
    home, real, sim = two_batches
    out = tmp_path / "gi.gpkg"
    code = main(["hotspots", "--method", "gistar", "--category", "theft", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert len(gpd.read_file(out, layer="gistar")) > 0
    prov = _gpkg_provenance(out)
    assert prov["command"] == "hotspots --method gistar"
    assert json.loads(prov["filters"])["categories"] == ["theft"]
    assert prov["data"] == "mixed (simulated and real)"
    assert {b["id"] for b in json.loads(prov["batches"])} == {real.id, sim.id}
    assert float(prov["cell_size"]) > 0  # the automatic choice is recorded


def test_emerging_geojson_carries_its_provenance(home, tmp_path, capsys):
    sim = import_frame(home, "incidents", _incidents(3, 400), file_name="simulated", simulated=True).batch
    out = tmp_path / "eh.geojson"
    code = main(["emerging", "--cell-size", "500", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    prov = doc["provenance"]
    assert prov["command"].startswith("emerging --period ") and prov["data"] == "simulated"
    assert [b["id"] for b in prov["batches"]] == [sim.id] and prov["cell_size_m"] == 500
    assert len(doc["features"]) > 0


def test_recommend_cctv_records_incident_light_and_camera_batches(home, tmp_path, capsys):
    from shapely.geometry import Point

    inc = gpd.GeoDataFrame({"category": ["theft"] * 6,
                            "occurred_from": pd.to_datetime(["2024-03-01T10:00Z"] * 6)},
                           geometry=[Point(3.88, 43.61)] * 6, crs=4326)
    b_inc = import_frame(home, "incidents", inc, file_name="sim", simulated=True).batch
    lights = gpd.GeoDataFrame({"type": ["LANTERNE"]}, geometry=[Point(3.8801, 43.61)], crs=4326)
    b_lights = import_frame(home, "lights", lights, file_name="lights.csv").batch
    cams = gpd.GeoDataFrame({"name": ["C1"]}, geometry=[Point(3.82, 43.60)], crs=4326)
    b_cams = import_frame(home, "cameras", cams, file_name="cams.csv").batch
    out = tmp_path / "cctv.gpkg"
    assert main(["recommend", "cctv", "--new", "1", "--out", str(out)]) == 0, capsys.readouterr().err
    prov = _gpkg_provenance(out)
    assert prov["command"] == "recommend cctv" and prov["data"] == "mixed (simulated and real)"
    assert {b["id"] for b in json.loads(prov["batches"])} == {b_inc.id, b_lights.id, b_cams.id}
    assert "coverage_after" in prov  # the command's own facts are kept
