"""``geo-app import --set FIELD=VALUE`` (``read_layer(constants=)``): a fixed value on every row,
checked like a column of the file; a required field given by ``--set`` counts as present."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo_app.cli import main
from layers.errors import ParameterError
from layers.io import read_layer
from layers.settings import Settings

DATA = Path(__file__).parents[1] / "data" / "montpellier"
COMMUNE = DATA / "VilleMTP_MTP_LimiteCommune.geojson"  # columns ID, AREA, LEN: no name
QUARTIERS = DATA / "VilleMTP_MTP_Quartiers.geojson"
SCHOOLS_CSV = """name,lon,lat
A,3.87,43.61
B,3.88,43.62
"""
CAMERAS_CSV = """name,lon,lat,range_m
A,3.87,43.61,30
B,3.88,43.62,
"""


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_required_name_given_by_set(home, capsys):
    code, out, err = run(capsys, "import", "areas", COMMUNE,
                         "--set", "name=Montpellier", "--set", "code=34172", "--set", "level=commune")
    assert code == 0, err
    areas = home.store.read("areas")
    assert len(areas) == 1
    assert areas[["name", "code", "level"]].iloc[0].tolist() == ["Montpellier", "34172", "commune"]
    assert "name<---set name" in out  # the report says where the field came from
    # without --set the file is refused: no column for the required name
    code, _, err = run(capsys, "import", "areas", COMMUNE)
    assert code == 1 and "required field" in err and "'name'" in err
    assert len(home.store.read("areas")) == 1


def test_set_replaces_a_file_column_on_every_row(home, capsys):
    code, _, err = run(capsys, "import", "areas", QUARTIERS, "--map", "name=LIBQUART", "--set", "level=quartier")
    assert code == 0, err
    areas = home.store.read("areas")
    assert len(areas) > 1 and set(areas["level"]) == {"quartier"}
    batch = home.store.batches("areas")[-1]
    assert batch.options["constants"] == {"level": "quartier"}


def test_typed_values_are_converted_like_the_field(tmp_path):
    f = tmp_path / "cameras.csv"
    f.write_text(CAMERAS_CSV)
    res = read_layer(f, "cameras", settings=Settings(), constants={"range_m": "25,5", "fov": 90})
    assert res.data["range_m"].tolist() == [25.5, 25.5]  # decimal comma read as for a column
    assert res.data["fov"].tolist() == [90.0, 90.0]


@pytest.mark.parametrize("args, text", [
    (["--set", "colour=red"], "'colour' is not a field of layer kind 'schools'"),
    (["--set", "level"], "--set takes FIELD=VALUE"),
    (["--set", "level="], "--set takes FIELD=VALUE"),
    (["--set", "name=X", "--map", "name=name"], "also given by --map"),
])
def test_bad_set_is_a_usage_error(home, tmp_path, capsys, args, text):
    f = tmp_path / "schools.csv"
    f.write_text(SCHOOLS_CSV)
    code, _, err = run(capsys, "import", "schools", f, *args)
    assert code == 2 and text in err
    assert len(home.store.read("schools")) == 0


@pytest.mark.parametrize("constants, text", [
    ({"range_m": "far"}, "'far' is not a valid float for field 'range_m'"),
    ({"installed": "someday"}, "'someday' is not a valid date for field 'installed'"),
    ({"wall": "x"}, "'wall' is not a field of layer kind 'cameras'"),
])
def test_bad_constants_name_set(tmp_path, constants, text):
    f = tmp_path / "cameras.csv"
    f.write_text(CAMERAS_CSV)
    with pytest.raises(ParameterError) as e:
        read_layer(f, "cameras", settings=Settings(), constants=constants)
    assert e.value.param == "set" and text in e.value.message and "--set" in e.value.message


def test_bad_type_on_the_command_line(home, tmp_path, capsys):
    f = tmp_path / "cameras.csv"
    f.write_text(CAMERAS_CSV)
    code, _, err = run(capsys, "import", "cameras", f, "--set", "range_m=far")
    assert code == 2 and "--set range_m=far" in err
    assert len(home.store.read("cameras")) == 0
