"""The incident filter options are one set (``geo_app.cli.options``) for every command that reads
incidents; ``hotspots`` gained ``--hours``, ``--weekdays`` and ``--bbox`` from it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo_app.cli import cli, main
from geo_app.imports import import_frame

FILTERS = {"start": "--from", "end": "--to", "categories": "--category", "zac": "--zac",
           "hours": "--hours", "weekdays": "--weekdays", "bbox": "--bbox"}


def _options(command):
    return {p.name: (tuple(p.opts), p.metavar, p.multiple) for p in command.params if p.name in FILTERS}


@pytest.mark.parametrize("name", ["export", "hotspots", "emerging", "profile", "knox", "backtest",
                                  "recommend cctv", "recommend lighting"])
def test_same_filter_options_everywhere(name):
    group, _, sub = name.partition(" ")
    command = cli.commands[group]
    got = _options(command.commands[sub] if sub else command)
    assert got == _options(cli.commands["emerging"])
    assert {k: v[0][0] for k, v in got.items()} == FILTERS


@pytest.fixture
def night_and_day(home):
    rng = np.random.default_rng(5)
    n = 240
    xy = rng.uniform([3.86, 43.60], [3.88, 43.62], (n, 2))
    # local hours 2:00 (night) for the first 60, 14:00 for the others (January: UTC+1)
    hour = np.where(np.arange(n) < 60, 1, 13)
    when = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n) % 28, unit="D") \
        + pd.to_timedelta(hour, unit="h")
    gdf = gpd.GeoDataFrame({"category": ["theft"] * n, "occurred_from": when},
                           geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326)
    import_frame(home, "incidents", gdf, file_name="inc.csv")
    return home


def test_hotspots_hours_filter(night_and_day, tmp_path, capsys):
    out = tmp_path / "c.gpkg"
    assert main(["hotspots", "--method", "counts", "--hours", "0-5", "--out", str(out)]) == 0
    assert "60 incidents read" in capsys.readouterr().out
    assert gpd.read_file(out, layer="counts")["n"].sum() == 60


@pytest.mark.parametrize("args, name", [
    (["--bbox", "1,2,3"], "bbox"),
    (["--hours", "25"], "hours"),
    (["--weekdays", "monday"], "weekdays"),
])
def test_hotspots_bad_filters_are_usage_errors(night_and_day, tmp_path, capsys, args, name):
    assert main(["hotspots", *args, "--out", str(tmp_path / "c.gpkg")]) == 2
    assert name in capsys.readouterr().err


def test_out_path_checks_suffix_and_folder(tmp_path):
    from geo_app.cli.options import out_path
    from layers.errors import ParameterError

    assert out_path(tmp_path / "a.GPKG", (".gpkg", ".csv")) == tmp_path / "a.GPKG"
    with pytest.raises(ParameterError, match=r"--out must end in \.gpkg or \.csv for --format x, got 'a\.exe'") as e:
        out_path(tmp_path / "a.exe", (".gpkg", ".csv"), hint=" for --format x")
    assert e.value.param == "out"
    with pytest.raises(ParameterError, match="folder .* does not exist") as e:
        out_path(tmp_path / "missing" / "a.csv", (".csv",))
    assert e.value.param == "out"


@pytest.mark.parametrize("args, ext", [
    (["hotspots"], ".gpkg"), (["emerging"], ".gpkg"), (["profile"], ".csv"), (["backtest"], ".csv"),
    (["recommend", "lighting"], ".gpkg"), (["report", "--month", "2024-01"], ".html"),
    (["export", "incidents", "--format", "gpkg"], ".gpkg"),
])
def test_every_writer_refuses_a_bad_out_before_reading(home, tmp_path, capsys, args, ext):
    assert main([*args, "--out", str(tmp_path / "x.exe")]) == 2
    assert "--out must end in" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "no" / f"x{ext}")]) == 2
    assert "does not exist" in capsys.readouterr().err
