"""The demo deployment built by geo_app.demo.build_demo and `geo-app demo`."""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from layers.simulate import PLANTED

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "data"
# incidents: 50,000 drawn (seed 20231101), less the 342 the planted lighting repair prevented
EXPECTED = {"zac": 35, "areas": 7 + 31 + 1, "schools": 188, "shops": 953, "cameras": 141,
            "incidents": 50_000 - 342}


def test_counts_match_the_sources(demo_home):
    counts = demo_home.store.counts()
    for kind, n in EXPECTED.items():
        assert counts[kind] == n, kind


def test_all_lights_read_and_exact_duplicates_reported(demo_home):
    # the shapefile holds 29,969 points (its metadata says 26,919), 124 of which repeat another
    # point exactly (same place, same type): the importer drops exact duplicates with a warning
    source = gpd.read_file(f"zip://{DATA / 'VilleMTP_MTP_EclairagePublic.zip'}")
    assert len(source) == 29_969
    dup = int(source.assign(wkb=source.geometry.to_wkb())
              .duplicated(["wkb", "type_lante"]).sum())
    assert dup == 124
    (batch,) = demo_home.store.batches("lights")
    assert batch.n_read == 29_969
    assert demo_home.store.counts()["lights"] == batch.n_stored
    assert batch.n_stored in (29_969, 29_969 - dup)
    dropped = [r for r in batch.report if "exact duplicate" in r["message"]]
    assert len(dropped) == 29_969 - batch.n_stored


def test_settings_of_the_demo(demo_home):
    s = demo_home.settings
    assert s.analysis_crs == 2154
    assert s.timezone == "Europe/Paris"
    assert s.study_area == "areas:commune"
    minx, miny, maxx, maxy = s.territory
    assert minx < 3.807 and maxx > 3.938 and miny < 43.566 and maxy > 43.654


def test_areas_have_their_levels_and_the_commune(demo_home):
    areas = demo_home.store.read("areas")
    assert areas["level"].value_counts().to_dict() == {"sous-quartier": 31, "quartier": 7,
                                                       "commune": 1}
    commune = areas[areas["level"] == "commune"]
    assert commune["name"].tolist() == ["Montpellier"]
    quartiers = set(areas.loc[areas["level"] == "quartier", "name"])
    assert {"MOSSON", "HOPITAUX-FACULTES", "LES CEVENNES"} <= quartiers
    assert "HO" in set(areas.loc[areas["level"] == "quartier", "code"])
    # real size of the commune: 48.2 km² in the source's AREA column
    km2 = commune.to_crs(2154).area.iloc[0] / 1e6
    assert 47.5 < km2 < 49.0


def test_accented_names_come_through(demo_home):
    store = demo_home.store
    assert "ZAC Pagézy" in set(store.read("zac")["name"])
    schools = store.read("schools")
    assert "Ecole élémentaire Beethoven" in set(schools["name"])
    assert "Collèges" in set(schools["level"])
    assert "Épiceries" in set(store.read("shops")["kind"])


def test_real_layers_are_where_montpellier_is(demo_home):
    lights = demo_home.store.read("lights")
    minx, miny, maxx, maxy = lights.total_bounds
    assert 3.80 < minx and maxx < 3.94 and 43.57 < miny and maxy < 43.66
    assert lights["type"].value_counts().index[0] == "LANTERNE"
    cameras = demo_home.store.read("cameras")
    assert cameras["installed"].notna().all()
    years = cameras["installed"].dt.year
    assert years.min() == 2000 and years.max() == 2012


def test_incidents_are_labelled_simulated(demo_home):
    store = demo_home.store
    inc = store.read("incidents")
    assert inc["simulated"].all()
    assert (inc["source"] == "simulation").all()
    batches = store.batches("incidents")
    assert len(batches) == 1 and batches[0].simulated
    assert all(not b.simulated for b in store.batches() if b.kind != "incidents")
    assert str(inc["occurred_from"].dtype) == "datetime64[ns, UTC]"
    burglary = inc[inc["category"] == "burglary"]
    assert burglary["occurred_to"].notna().mean() > 0.75


def test_incidents_inside_the_study_area(demo_home):
    store = demo_home.store
    areas = store.read("areas")
    commune = areas.loc[areas["level"] == "commune"].union_all()
    inc = store.read("incidents", columns=["category"])
    assert inc.geometry.within(commune.buffer(1e-7)).all()


def test_planted_emerging_in_the_store(demo_home):
    inc = demo_home.store.read("incidents", columns=["category", "occurred_from"])
    p = PLANTED["emerging"]
    centre = gpd.GeoSeries.from_xy([p["lon"]], [p["lat"]], crs=4326).to_crs(2154).iloc[0]
    inside = inc.to_crs(2154).distance(centre).to_numpy() <= p["radius_m"]
    local = inc["occurred_from"].dt.tz_convert("Europe/Paris")
    offset = ((local.dt.year - 2023) * 12 + local.dt.month - 11).to_numpy()
    months = np.bincount(offset[inside], minlength=24)
    assert months[20:].sum() > 500 and months[:20].sum() < 0.05 * months[20:].sum()


def test_demo_accounts_when_the_accounts_feature_exists(demo_home):
    accounts = pytest.importorskip("geo_app.accounts")
    names = {u.name for u in accounts.list_users(demo_home)}
    assert {"coordinator", "police", "admin"} <= names


def test_cli_demo_rebuilds_from_scratch(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import geo_app.demo
    from geo_app.cli import cli
    from geo_app.config import Home

    monkeypatch.setattr(geo_app.demo, "build_demo",
                        functools.partial(geo_app.demo.build_demo, n=2000))
    home = tmp_path / "home"
    home.mkdir()
    (home / "stray.txt").write_text("left over")
    monkeypatch.setenv("GEO_APP_HOME", str(home))
    result = CliRunner().invoke(cli, ["demo", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "SIMULATED" in result.output
    assert "lights" in result.output and "29,969" in result.output
    assert not (home / "stray.txt").exists()
    counts = Home(home).store.counts()
    # 2,000 drawn, less the few the planted lighting repair prevented
    assert 1950 < counts["incidents"] < 2000 and counts["cameras"] == 141
    assert "lighting_repair, placebo" in result.output
    # a second build gives the same store, not twice the data
    result = CliRunner().invoke(cli, ["demo", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert Home(home).store.counts() == counts


def test_cli_demo_bad_seed_is_a_usage_error(tmp_path, monkeypatch):
    from geo_app.cli import main

    monkeypatch.setenv("GEO_APP_HOME", str(tmp_path / "home"))
    assert main(["demo", "--seed", "abc"]) == 2
    assert not (tmp_path / "home" / "store.gpkg").exists()
