"""``GET /api/backtest``: the rolling-origin backtest of ``geo-app backtest`` (grid cells or
street segments) through the API, with the same values as the command line, the role rules of
the aggregate model, and a 400 naming the field for every bad parameter."""

from __future__ import annotations

import pandas as pd
import pytest

from layers.evaluate import backtest_summary
from tests.conftest import DEMO_PASSWORD

QUERY = {"coverage": "0.05", "min_history": "18", "method": ["previous", "gistar"]}


@pytest.fixture(scope="module")
def cli_summary(demo_copy, tmp_path_factory):
    """``geo-app backtest --streets`` on the demo city, on the ordinary categories (the API's
    default), summarised per unit from its CSV."""
    from click.testing import CliRunner

    from geo_app.cli import cli
    from geo_app.config import Home

    cats = Home(demo_copy).workspace().default_filters(None).categories
    out = tmp_path_factory.mktemp("bt") / "bt.csv"
    args = ["backtest", "--streets", "--coverage", "0.05", "--method", "previous", "--method", "gistar",
            "--min-history", "18", "--out", str(out)]
    for c in cats:
        args += ["--category", c]
    r = CliRunner().invoke(cli, args, env={"GEO_APP_HOME": str(demo_copy)})
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    return {unit: backtest_summary(df[df["unit"] == unit]).set_index(["method", "coverage"])
            for unit in ("grid", "segments")}


@pytest.mark.parametrize("unit, cli_unit", [("grid", "grid"), ("streets", "segments")])
def test_api_values_equal_the_cli(demo_app, login, cli_summary, unit, cli_unit):
    r = login(demo_app, "coordinator", DEMO_PASSWORD).get("/api/backtest", query_string={**QUERY, "unit": unit})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.json
    assert body["unit"] == unit and {row["method"] for row in body["rows"]} == {"previous", "gistar"}
    want = cli_summary[cli_unit]
    for row in body["rows"]:
        ref = want.loc[(row["method"], row["coverage"])]
        assert row["n_periods"] == ref["n_periods"] == 6
        for col in ("hit_rate", "pai", "pei", "rri"):
            assert row[col] == pytest.approx(ref[col], abs=1e-6), (row["method"], col)
    meta = body["parameters"]
    assert meta["min_history"] == 18 and meta["n_incidents"] > 40000
    if unit == "streets":
        assert meta["width_m"] == 60.0  # footprint: length x 2 x street_tolerance_m
    else:
        assert meta["cell_size"] == 200.0 and meta["recommended"] in ("previous", "gistar")


def test_roles_get_ratios_never_counts(demo_app, login):
    q = {**QUERY, "unit": "streets"}
    coord = login(demo_app, "coordinator", DEMO_PASSWORD).get("/api/backtest", query_string=q).json
    for role in ("planner", "zac_manager", "police"):
        r = login(demo_app, role, DEMO_PASSWORD).get("/api/backtest", query_string=q)
        assert r.status_code == 200, (role, r.get_data(as_text=True))
        # PAI and PEI are shares of the whole city: the same for every role
        assert r.json["rows"] == coord["rows"], role
        if role != "police":
            assert "n_incidents" not in r.json["parameters"], role
    # a planner may not choose another grid (differencing two grids isolates parts of cells)
    r = login(demo_app, "planner", DEMO_PASSWORD).get("/api/backtest", query_string={"cell_size": 100})
    assert r.status_code == 400 and r.json["param"] == "cell_size"
    assert demo_app.test_client().get("/api/backtest").status_code == 401


def test_under_k_incidents_aggregate_roles_get_nothing(demo_app, login):
    """Three shop robberies over three days: the coordinator reads the ratios, a planner (the
    aggregate model, k = 5) gets None."""
    q = {"category": "shop_robbery", "from": "2025-10-01", "to": "2025-10-04", "period": "day",
         "min_history": 1, "coverage": 0.05, "method": "previous"}
    coord = login(demo_app, "coordinator", DEMO_PASSWORD).get("/api/backtest", query_string=q).json
    assert 0 < coord["parameters"]["n_incidents"] < 5 and coord["rows"][0]["pai"] is not None
    r = login(demo_app, "planner", DEMO_PASSWORD).get("/api/backtest", query_string=q)
    assert r.status_code == 200
    row = r.json["rows"][0]
    assert [row[c] for c in ("hit_rate", "pai", "pei", "rri")] == [None] * 4
    assert "recommended" not in r.json["parameters"] and "n_incidents" not in r.json["parameters"]


@pytest.mark.parametrize("query, field", [
    ({"unit": "cells"}, "unit"),
    ({"coverage": "1.5"}, "coverage"),
    ({"coverage": "abc"}, "coverage"),
    ({"coverage": "0"}, "coverage"),
    ({"method": "magic"}, "method"),
    ({"unit": "streets", "method": "kde"}, "method"),
    ({"period": "decade"}, "period"),
    ({"min_history": "0"}, "min_history"),
    ({"min_history": "x"}, "min_history"),
    ({"cell_size": "5"}, "cell_size"),
    ({"unit": "streets", "cell_size": "100"}, "cell_size"),
    ({"category": "nope"}, "category"),
    ({"from": "2025-13-01"}, "from"),
    ({"zac": "Nowhere"}, "zac"),
])
def test_bad_parameters_name_the_field(demo_app, login, query, field):
    r = login(demo_app, "coordinator", DEMO_PASSWORD).get("/api/backtest", query_string=query)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.json["param"] == field and field.split("_")[0].lower() in r.json["message"].lower()



def test_bbox_is_ignored_ratios_are_over_the_whole_study_area(demo_app, login):
    c = login(demo_app, "coordinator", DEMO_PASSWORD)
    whole = c.get("/api/backtest", query_string={**QUERY, "unit": "streets"}).json
    boxed = c.get("/api/backtest", query_string={**QUERY, "unit": "streets", "bbox": "3.87,43.60,3.88,43.61"}).json
    assert boxed["rows"] == whole["rows"]
