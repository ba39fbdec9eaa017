"""``geo-app init | config | batches | rollback`` and the usage errors of ``import`` / ``export``,
through ``geo_app.cli.main`` (exit codes 0 done, 1 rejected, 2 usage)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo_app.cli import main
from geo_app.config import Home, write_config
from geo_app.imports import import_frame


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def incidents(n=4) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "category": ["theft", "drugs", "theft", "nuisance"][:n],
            "occurred_from": pd.to_datetime(["2024-01-15T08:30Z", "2024-02-10T22:15Z",
                                             "2024-03-31T23:30Z", "2024-07-01T10:00Z"][:n], utc=True),
            "external_id": ["a", "b", "c", "d"][:n],
        },
        geometry=[Point(3.80, 43.60), Point(3.85, 43.61), Point(3.90, 43.62), Point(3.70, 43.50)][:n],
        crs=4326,
    )


# --------------------------------------------------------------------------- init and settings


def test_init_writes_a_config_that_home_settings_reads_back(tmp_path, monkeypatch, capsys):
    path = tmp_path / "deploy"
    monkeypatch.setenv("GEO_APP_HOME", str(path))
    for var in ("GEO_APP_ANALYSIS_CRS", "GEO_APP_TIMEZONE", "GEO_APP_TERRITORY"):
        monkeypatch.delenv(var, raising=False)
    code, out, _ = run(capsys, "init", "--crs", "EPSG:3163", "--timezone", "Pacific/Noumea",
                       "--territory", "166.3,-22.4,166.6,-22.1", "--study-area", "areas:commune")
    assert code == 0 and "EPSG:3163" in out
    s = Home(path).settings
    assert (s.analysis_crs, s.timezone, s.territory, s.study_area) == (
        3163, "Pacific/Noumea", (166.3, -22.4, 166.6, -22.1), "areas:commune")


def test_init_keeps_the_web_table_and_replaces_the_vigie_values(home, capsys):
    write_config(home.config_path, {"analysis_crs": 2154, "timezone": "Europe/Paris", "k_anonymity": 7},
                 {"tile_url": "https://tiles.example/{z}/{x}/{y}.png"})
    code, _, _ = run(capsys, "init", "--crs", "32631", "--timezone", "Europe/Paris")
    assert code == 0
    fresh = Home(home.path)
    assert fresh.settings.analysis_crs == 32631 and fresh.settings.k_anonymity == 7
    assert fresh.config["web"]["tile_url"].startswith("https://tiles.example")


@pytest.mark.parametrize(
    "args, option",
    [
        (["--crs", "4326", "--timezone", "Europe/Paris"], "--crs"),  # not projected
        (["--crs", "lambert", "--timezone", "Europe/Paris"], "crs"),
        (["--crs", "999999", "--timezone", "Europe/Paris"], "--crs"),
        (["--crs", "2154", "--timezone", "Mars/Olympus"], "--timezone"),
        (["--crs", "2154", "--timezone", "Europe/Paris", "--territory", "3,43,2,44"], "--territory"),
        (["--crs", "2154", "--timezone", "Europe/Paris", "--territory", "3,43,4"], "--territory"),
        (["--timezone", "Europe/Paris"], "--crs"),  # missing option
    ],
)
def test_init_bad_values_are_usage_errors_naming_the_option(home, capsys, args, option):
    before = home.config_path.read_text()
    code, out, err = run(capsys, "init", *args)
    assert code == 2
    assert option in out + err
    assert home.config_path.read_text() == before


def test_environment_overrides_win_over_the_file(home, monkeypatch, capsys):
    monkeypatch.setenv("GEO_APP_ANALYSIS_CRS", "EPSG:3163")
    monkeypatch.setenv("GEO_APP_TIMEZONE", "Pacific/Noumea")
    monkeypatch.setenv("GEO_APP_TERRITORY", "166.3,-22.4,166.6,-22.1")
    s = Home(home.path).settings
    assert (s.analysis_crs, s.timezone, s.territory) == (3163, "Pacific/Noumea", (166.3, -22.4, 166.6, -22.1))
    code, out, _ = run(capsys, "config")
    assert code == 0
    assert "Pacific/Noumea" in out and "env GEO_APP_TIMEZONE" in out and "env GEO_APP_ANALYSIS_CRS" in out


@pytest.mark.parametrize(
    "var, value, field",
    [
        ("GEO_APP_ANALYSIS_CRS", "lambert", "analysis_crs"),
        ("GEO_APP_ANALYSIS_CRS", "4326", "analysis_crs"),
        ("GEO_APP_TIMEZONE", "Europe/Lyon", "timezone"),
        ("GEO_APP_TERRITORY", "3.7,43.5,4.0", "territory"),
        ("GEO_APP_TERRITORY", "200,43,201,44", "territory"),
        ("GEO_APP_EVALUATION_MIN_DAYS", "0", "evaluation_min_days"),
        ("GEO_APP_EVALUATION_ALPHA", "0.9", "evaluation_alpha"),
    ],
)
def test_bad_environment_values_are_usage_errors_naming_the_variable(home, monkeypatch, capsys, var, value, field):
    monkeypatch.setenv(var, value)
    for command in (["config"], ["export", "incidents", "--format", "geojson", "--out", str(home.path / "x.geojson")]):
        code, _out, err = run(capsys, *command)
        assert code == 2, command
        assert var in err and field in err


def test_config_shows_the_evaluation_settings(home, monkeypatch, capsys):
    monkeypatch.setenv("GEO_APP_EVALUATION_MIN_DAYS", "60")
    code, out, _ = run(capsys, "config")
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("evaluation_min_days"))
    assert "60" in line and "env GEO_APP_EVALUATION_MIN_DAYS" in line
    line = next(x for x in out.splitlines() if x.startswith("evaluation_alpha"))
    assert "0.1" in line and "(default)" in line


def test_bad_config_file_value_names_the_file(home, capsys):
    write_config(home.config_path, {"analysis_crs": 2154, "timezone": "Nowhere/Town"})
    code, _, err = run(capsys, "config")
    assert code == 2 and "config.toml" in err and "timezone" in err


# --------------------------------------------------------------------------- batches, rollback


@pytest.fixture
def filled(home):
    a = import_frame(home, "incidents", incidents(), file_name="first.csv", user="alice")
    b = import_frame(home, "incidents", incidents(2), file_name="second.csv", user="bob", simulated=True)
    return home, a.batch, b.batch


def test_batches_lists_every_batch_oldest_first(filled, capsys):
    _home, a, b = filled
    code, out, _ = run(capsys, "batches")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:2] == ["id", "kind"]
    assert [ln.split()[0] for ln in lines[1:]] == [a.id, b.id]
    assert "first.csv" in lines[1] and "alice" in lines[1] and "yes" in lines[2]
    code, out, _ = run(capsys, "batches", "--kind", "zac")
    assert code == 0 and out.strip() == "No batches of zac."
    code, _, _ = run(capsys, "batches", "--kind", "bikes")
    assert code == 2


def test_rollback_removes_the_batch_and_its_features(filled, capsys):
    home, a, b = filled
    before = home.store.read("incidents")
    code, out, _ = run(capsys, "rollback", b.id)
    assert code == 0 and "removed 2 incidents" in out
    assert [x.id for x in home.store.batches()] == [a.id]
    after = home.store.read("incidents")
    assert len(after) == 4 and set(after["batch_id"]) == {a.id}
    pd.testing.assert_frame_equal(after, before[before["batch_id"] == a.id].reset_index(drop=True))


def test_rollback_of_an_unknown_batch_exits_1_and_changes_nothing(filled, capsys):
    home, _a, b = filled
    v = home.store.version
    code, _, err = run(capsys, "rollback", "20200101-000000-abcdef")
    assert code == 1 and "no batch" in err and b.id in err
    assert home.store.version == v


# --------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    "args, needle",
    [
        (["import", "bikes", "{csv}"], "bikes"),
        (["import", "incidents", "{missing}"], "does not exist"),
        (["import", "incidents", "{csv}", "--map", "category"], "FIELD=COLUMN"),
        (["import", "incidents", "{csv}", "--crs", "lambert"], "crs"),
        (["export", "incidents", "--format", "xlsx", "--out", "{out}"], "xlsx"),
        (["export", "incidents", "--format", "geojson"], "--out"),
        (["export", "incidents", "--format", "geojson", "--out", "{out}", "--from", "15/01/2024"], "from"),
        (["export", "incidents", "--format", "geojson", "--out", "{out}", "--from", "2024-02-01",
          "--to", "2024-01-01"], "before it starts"),
        (["export", "incidents", "--format", "geojson", "--out", "{out}", "--category", "aliens"], "aliens"),
        (["export", "incidents", "--format", "geojson", "--out", "{out}", "--bbox", "1,2,3"], "bbox"),
        (["export", "incidents", "--format", "geojson", "--out", "{out}", "--hours", "25"], "hours"),
        (["export", "zac", "--format", "geojson", "--out", "{out}", "--category", "theft"], "incidents only"),
    ],
)
def test_usage_errors_exit_2_and_change_nothing(filled, capsys, tmp_path, args, needle):
    home, _, _ = filled
    csv = tmp_path / "in.csv"
    csv.write_text("lon,lat,date,category\n3.8,43.6,2024-01-01,theft\n")
    subst = {"{csv}": str(csv), "{missing}": str(tmp_path / "nope.csv"), "{out}": str(tmp_path / "out.geojson")}
    v = home.store.version
    code, out, err = run(capsys, *[subst.get(a, a) for a in args])
    assert code == 2
    assert needle in out + err
    assert home.store.version == v
    assert not (tmp_path / "out.geojson").exists()
