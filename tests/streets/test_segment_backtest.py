"""Street segments against grid cells in the rolling-origin backtest: PAI and PEI at the same
covered area, worked out by hand on a tiny network, then on the demo city through the CLI."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.errors import InputError, ParameterError
from layers.evaluate import backtest_segments


def _net():
    # four separate segments of 100 m at y = 0, 200, 400, 600
    return gpd.GeoDataFrame({"name": list("ABCD")},
                            geometry=[shapely.LineString([(0, y), (100, y)]) for y in (0, 200, 400, 600)],
                            crs=2154)


def _incidents(rows):
    """rows: (x, y, 'YYYY-MM-DD')"""
    x, y, d = zip(*rows)
    t = pd.to_datetime(list(d)).tz_localize("Europe/Paris")
    return gpd.GeoDataFrame({"occurred_from": t, "category": "theft"},
                            geometry=gpd.points_from_xy(x, y), crs=2154)


AREA = shapely.box(-50, -50, 150, 650)  # 200 m x 700 m = 140,000 m²


def _hand_case():
    rows = ([(50, 5, "2024-01-10")] * 3 + [(50, 205, "2024-01-11")]       # January: A x3, B x1
            + [(50, -5, "2024-02-10")] * 2 + [(50, 195, "2024-02-11")]    # February: A x2, B x1
            + [(50, 2, "2024-03-05")] + [(60, 200, "2024-03-06")] * 4     # March: A x1, B x4
            + [(100, 100, "2024-03-07")]                                  # March: 100 m from A and B: off
            + [(500, 500, "2024-03-08")])                                 # outside the study area
    return _incidents(rows)


def test_pai_pei_by_hand():
    res = backtest_segments(_hand_case(), _net(), study_area=AREA, methods=("previous",), coverages=(0.01,),
                            min_history=2, width_m=10)
    assert len(res) == 1
    r = res.iloc[0]
    # 1 % of 140,000 m² = 1,400 m²: one segment footprint (100 m x 10 m = 1,000 m²) fits, two do not.
    # "previous" ranks by February (A 2, B 1): A is flagged.
    assert r["period"] == "2024-03" and r["n_cells"] == 1 and r["length_km"] == pytest.approx(0.1)
    assert r["area_share"] == pytest.approx(1000 / 140000)
    # March in the study area: A 1, B 4, one off-network -> N = 6, n = 1
    assert (r["n_test"], r["n_hit"], r["n_off_network"]) == (6, 1, 1)
    assert r["hit_rate"] == pytest.approx(1 / 6)
    assert r["pai"] == pytest.approx((1 / 6) / (1000 / 140000))  # 23.33
    # the best 1,000 m² of segments held 4 (B): PEI = 1/4
    assert r["pei"] == pytest.approx(0.25)
    # RRI: flagged A held 5 of the 7 on-network incidents before, 1 of 5 now: (1/5)/(5/7)
    assert r["rri"] == pytest.approx((1 / 5) / (5 / 7))
    assert r["unit"] == "segments"


def test_wider_footprint_and_gistar_run():
    res = backtest_segments(_hand_case(), _net(), study_area=AREA, coverages=(0.01, 0.05), min_history=2)
    # default width 2 x 30 m: one segment is 6,000 m² = 4.3 % of the area; 1 % still flags one
    by = res.set_index(["method", "coverage"])
    assert by.loc[("previous", 0.01), "n_cells"] == 1
    assert by.loc[("previous", 0.05), "area_share"] == pytest.approx(6000 / 140000)
    assert set(res["method"]) == {"previous", "gistar"}
    assert res.attrs["vigie"]["width_m"] == 60.0 and res.attrs["vigie"]["study_area_m2"] == 140000.0


@pytest.mark.parametrize("kwargs, field", [
    ({"methods": ("kde",)}, "methods"),
    ({"coverages": (1.5,)}, "coverage"),
    ({"width_m": 0}, "width_m"),
    ({"min_history": 0}, "min_history"),
])
def test_bad_options_name_the_field(kwargs, field):
    with pytest.raises(ParameterError) as e:
        backtest_segments(_hand_case(), _net(), study_area=AREA, **{"min_history": 2, **kwargs})
    assert e.value.param == field


def test_bad_inputs_say_what_to_do():
    with pytest.raises(InputError, match="street"):
        backtest_segments(_hand_case(), _net().iloc[:0], study_area=AREA)
    with pytest.raises(InputError, match="reproject"):
        backtest_segments(_hand_case(), _net().set_crs(3857, allow_override=True), study_area=AREA)
    with pytest.raises(InputError, match="min_history"):
        backtest_segments(_hand_case(), _net(), study_area=AREA, min_history=3)


@pytest.mark.slow
def test_demo_cli_compares_segments_and_grid(demo_copy, tmp_path, monkeypatch, capsys):
    from geo_app.cli import main

    monkeypatch.setenv("GEO_APP_HOME", str(demo_copy))
    out = tmp_path / "bt.csv"
    code = main(["backtest", "--streets", "--coverage", "0.05", "--method", "previous", "--method", "gistar",
                 "--min-history", "18", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    df = pd.read_csv(out)
    assert set(df["unit"]) == {"grid", "segments"} and set(df["method"]) == {"previous", "gistar"}
    seg, grid = df[df["unit"] == "segments"], df[df["unit"] == "grid"]
    assert sorted(seg["period"].unique()) == sorted(grid["period"].unique())
    # the same covered area (up to one unit's footprint), the same incidents to predict
    both = seg.merge(grid, on=["period", "method", "coverage"], suffixes=("_s", "_g"))
    assert (both["area_share_s"] <= 0.05 + 1e-9).all() and (both["area_share_g"] <= 0.05 + 1e-9).all()
    assert (both["area_share_s"] > 0.04).all() and (both["area_share_g"] > 0.04).all()
    assert (np.abs(both["n_test_s"] - both["n_test_g"]) <= 0.02 * both["n_test_g"]).all()
    # PAI re-computed from the CSV's own columns: (n/N)/(a/A)
    assert np.allclose(seg["pai"], (seg["n_hit"] / seg["n_test"]) / seg["area_share"])
    assert "pai_grid" in text and "pai_segments" in text and "pei_segments" in text
    # on the simulated demo city (incidents jittered around shops, schools, lamps…, not on the network) the
    # grid predicts better at the same covered area (README, "Command line")
    mean = df.groupby(["unit", "method"])["pai"].mean()
    assert mean[("grid", "previous")] > mean[("segments", "previous")]
    assert mean[("grid", "gistar")] > mean[("segments", "gistar")]
