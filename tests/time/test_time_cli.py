"""geo-app emerging | profile | knox | backtest on a small deployment."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from geo_app.cli import main
from layers.store.base import Batch


@pytest.fixture
def filled_home(home):
    """A deployment with 2,400 generated incidents over 12 months near Montpellier."""
    from bench.gen import clustered_incidents

    g = clustered_incidents(2400, seed=3, extent_m=4000, months=12, n_clusters=4)
    # keep the last period complete: nothing after 2023-12-31 local
    g = g[g["occurred_from"] < pd.Timestamp("2023-12-31 22:00", tz="UTC")]
    batch = Batch(id="gen", kind="incidents", file_name="gen.csv", checksum="0" * 64, user="test",
                  created="2026-01-01T00:00:00Z", n_read=len(g), n_stored=len(g), n_rejected=0, simulated=True)
    home.store.import_batch("incidents", g.to_crs(4326), batch)
    return home


def test_knox_writes_one_row_per_band_pair(filled_home, tmp_path, capsys):
    out = tmp_path / "knox.csv"
    code = main(["knox", "--space-bands", "0,100,200,400", "--time-bands", "0,7,14,28",
                 "--iterations", "19", "--seed", "4", "--out", str(out)])
    assert code == 0
    df = pd.read_csv(out)
    assert len(df) == 9
    assert list(df.columns[:9]) == ["space_from", "space_to", "time_from", "time_to", "observed", "expected",
                                    "knox_ratio", "p", "z"]
    assert "(lo, hi]" in capsys.readouterr().out


def test_emerging_writes_a_geopackage(filled_home, tmp_path, capsys, read_result):

    out = tmp_path / "ehsa.gpkg"
    assert main(["emerging", "--period", "month", "--cell-size", "500", "--out", str(out)]) == 0
    back = read_result(out)
    assert {"category", "trend_z", "trend_p", "bin_2023-01", "bin_2023-12"} <= set(back.columns)
    assert back.crs.to_epsg() == 4326
    text = capsys.readouterr().out
    assert "period: month" in text and "cell size: 500.0 m" in text


def test_emerging_automatic_period_is_announced(filled_home, tmp_path, capsys):
    out = tmp_path / "ehsa.csv"
    assert main(["emerging", "--cell-size", "500", "--out", str(out)]) == 0
    assert "period: month (automatic" in capsys.readouterr().out
    df = pd.read_csv(out)
    assert "geometry" not in df.columns and df["n"].sum() > 2000


def test_profile_json_and_csv(filled_home, tmp_path):
    out = tmp_path / "profile.json"
    assert main(["profile", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert len(doc["hour_weekday"]) == 7 and len(doc["hour_weekday"][0]) == 24
    assert sum(map(sum, doc["hour_weekday"])) == pytest.approx(doc["n_incidents"])
    assert sum(doc["darkness"].values()) == pytest.approx(1.0)
    out_csv = tmp_path / "profile.csv"
    assert main(["profile", "--out", str(out_csv)]) == 0
    df = pd.read_csv(out_csv)
    assert (df["kind"] == "hour_weekday").sum() == 168 and (df["kind"] == "darkness").sum() == 3


def test_backtest_prints_the_recommendation(filled_home, tmp_path, capsys):
    out = tmp_path / "bt.csv"
    assert main(["backtest", "--coverage", "0.05", "--cell-size", "250", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert set(df["coverage"]) == {0.05} and set(df["method"]) == {"previous", "kde", "gistar", "prospective"}
    assert "recommended method:" in capsys.readouterr().out


@pytest.mark.parametrize("args, name", [
    (["knox", "--space-bands", "0,abc", "--time-bands", "0,7", "--out", "k.csv"], "space-bands"),
    (["knox", "--space-bands", "0,100", "--time-bands", "7,0", "--out", "k.csv"], "time-bands"),
    (["knox", "--space-bands", "0,100", "--time-bands", "0,7", "--iterations", "0", "--out", "k.csv"], "iterations"),
    (["knox", "--space-bands", "0,100", "--time-bands", "0,7", "--out", "k.txt"], "--out"),
    (["backtest", "--coverage", "1.5", "--out", "b.csv"], "coverage"),
    (["backtest", "--bbox", "3.86,43.60,3.88,43.62", "--out", "b.csv"], "bbox"),
    (["emerging", "--cell-size", "-3", "--out", "e.gpkg"], "cell-size"),
    (["profile", "--max-window", "soon", "--out", "p.json"], "max-window"),
    (["emerging", "--period", "fortnight", "--out", "e.gpkg"], "fortnight"),
    (["knox", "--space-bands", "0,100", "--time-bands", "0,7", "--from", "2023-13-01", "--out", "k.csv"], "from"),
])
def test_bad_options_exit_2_naming_the_option(filled_home, tmp_path, monkeypatch, capsys, args, name):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert name in capsys.readouterr().err


def test_no_matching_incidents_is_exit_1(filled_home, tmp_path, capsys):
    code = main(["knox", "--space-bands", "0,100", "--time-bands", "0,7", "--from", "2030-01-01",
                 "--out", str(tmp_path / "k.csv")])
    assert code == 1
    assert "no incidents" in capsys.readouterr().err
