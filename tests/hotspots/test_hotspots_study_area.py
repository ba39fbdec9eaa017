"""``layers.grid.study_area`` (the one resolver of ``Settings.study_area``) by hand on tiny
frames, the early check in ``Settings``, and ``Home.study_area`` through the CLI commands."""

import geopandas as gpd
import pytest
import shapely

from geo_app.cli import main
from layers.errors import InputError, ParameterError
from layers.grid import study_area
from layers.settings import Settings, parse_study_area
from layers.store.base import Batch


@pytest.fixture
def areas():
    return gpd.GeoDataFrame(
        {"name": ["Montpellier", "Centre", "Nord"], "code": ["34172", "C", "N"],
         "level": ["commune", "quartier", "quartier"]},
        geometry=[shapely.box(0, 0, 10, 10), shapely.box(2, 2, 4, 4), shapely.box(5, 5, 9, 9)], crs=2154)


@pytest.fixture
def zac():
    return gpd.GeoDataFrame({"name": ["ZAC Gare"]}, geometry=[shapely.box(1, 1, 3, 3)], crs=2154)


@pytest.mark.parametrize("spec, names", [
    ("areas:commune", ["Montpellier"]),
    ("areas:quartier", ["Centre", "Nord"]),
    ("areas", ["Montpellier", "Centre", "Nord"]),
    (None, ["Montpellier", "Centre", "Nord"]),
    ("", ["Montpellier", "Centre", "Nord"]),
    ("zac", ["ZAC Gare"]),
])
def test_selects_the_named_rows(areas, zac, spec, names):
    before = areas.copy()
    got = study_area(spec, areas=areas, zac=zac)
    assert list(got["name"]) == names
    assert got.crs == areas.crs
    assert areas.equals(before)  # input untouched


def test_no_spec_and_no_areas_is_none(zac):
    assert study_area(None) is None
    assert study_area(None, areas=gpd.GeoDataFrame(geometry=[], crs=4326), zac=zac) is None


@pytest.mark.parametrize("spec, layer", [
    ("areas:sous-quartier", "areas"),  # no area of that level
    ("areas", None),  # the layer was never imported
    ("zac", None),
])
def test_explicit_spec_selecting_nothing_is_an_input_error(areas, spec, layer):
    with pytest.raises(InputError, match="import the .* layer.*or change study_area"):
        study_area(spec, areas=areas if layer else None)


def test_level_on_a_layer_without_a_level_column(zac):
    with pytest.raises(InputError, match="with a level 'commune'"):
        study_area("areas:commune", areas=zac)


@pytest.mark.parametrize("spec", ["zones", "zac:x", "areas:", "commune", "area:commune"])
def test_bad_spec_is_a_parameter_error(areas, spec):
    with pytest.raises(ParameterError) as e:
        study_area(spec, areas=areas)
    assert e.value.param == "study_area"
    with pytest.raises(ParameterError) as e:
        Settings(study_area=spec)
    assert e.value.param == "study_area" and spec in str(e.value)


def test_parse_study_area():
    assert parse_study_area(None) == ("areas", None)
    assert parse_study_area("areas:commune") == ("areas", "commune")
    assert parse_study_area("zac") == ("zac", None)
    assert Settings(study_area="areas:commune").study_area == "areas:commune"


# -- Home.study_area through the commands ------------------------------------------------------


def _batch(kind, n):
    return Batch(id=f"{kind}1", kind=kind, file_name=f"{kind}.csv", checksum="0" * 64, user="test",
                 created="2026-01-01T00:00:00Z", n_read=n, n_stored=n, n_rejected=0)


@pytest.fixture
def small_home(home):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    xy = rng.uniform([770_000, 6_278_000], [771_000, 6_279_000], (200, 2))
    when = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 24, 200), unit="h")
    inc = gpd.GeoDataFrame({"category": ["theft"] * 200, "occurred_from": when},
                           geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=2154)
    home.store.import_batch("incidents", inc, _batch("incidents", 200))
    quartier = gpd.GeoDataFrame({"name": ["Centre"], "code": ["C"], "level": ["quartier"]},
                                geometry=[shapely.box(770_010, 6_278_010, 770_490, 6_278_490)], crs=2154)
    home.store.import_batch("areas", quartier, _batch("areas", 1))
    return home


@pytest.mark.parametrize("args", [
    ["hotspots", "--method", "counts", "--cell-size", "100"],
    ["emerging", "--cell-size", "100"],
])
def test_commands_clip_to_the_study_area(small_home, tmp_path, monkeypatch, capsys, args):
    monkeypatch.setenv("GEO_APP_STUDY_AREA", "areas:quartier")
    out = tmp_path / "out.gpkg"
    assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    back = gpd.read_file(out, layer=args[0] if args[0] == "emerging" else "counts").to_crs(2154)
    # a 480 m square quartier inside 5 x 5 cells of 100 m (the incidents cover 1 km²)
    assert len(back) == 25
    assert back.total_bounds.tolist() == pytest.approx([770_000, 6_278_000, 770_500, 6_278_500], abs=0.01)


@pytest.mark.parametrize("args", [
    ["hotspots", "--method", "counts"],
    ["emerging"],
])
def test_commands_refuse_an_empty_study_area(small_home, tmp_path, monkeypatch, capsys, args):
    monkeypatch.setenv("GEO_APP_STUDY_AREA", "areas:commune")
    assert main([*args, "--out", str(tmp_path / "out.gpkg")]) == 1
    assert "import the areas layer with a level 'commune'" in capsys.readouterr().err
