"""layers.report on hand-built inputs: month parsing, the two-count test, group counts,
suppression, emerging summary."""

from __future__ import annotations

from math import comb

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from layers.errors import InputError, ParameterError
from layers.registry import default_taxonomy
from layers.report import (
    EMERGING_NOW,
    compare_counts,
    emerging_summary,
    month_window,
    monthly_figures,
    parse_month,
    suppress_counts,
)


@pytest.mark.parametrize("bad", ["2024-13", "june", "2024-00", "2024/05", "", "24-05", None, "2024-05-01"])
def test_bad_month_names_the_parameter(bad):
    with pytest.raises(ParameterError) as e:
        parse_month(bad, param="--month")
    assert e.value.param == "--month" and "--month" in e.value.message and "YYYY-MM" in e.value.message


def test_month_window_is_cut_in_local_time():
    start, end = month_window("2025-03", tz="Europe/Paris")
    assert start == pd.Timestamp("2025-02-28 23:00", tz="UTC")  # CET, UTC+1
    assert end == pd.Timestamp("2025-03-31 22:00", tz="UTC")  # CEST from 30 March, UTC+2


def _binom_two_sided(a: int, n: int) -> float:
    """Exact two-sided p of Bin(n, 1/2) by hand (outcomes no more likely than a)."""
    pmf = [comb(n, i) / 2**n for i in range(n + 1)]
    return sum(p for p in pmf if p <= pmf[a] * (1 + 1e-7))


def test_two_count_test_by_hand():
    r = compare_counts(9, 1)
    assert r["p"] == pytest.approx(22 / 1024)  # (1 + 10 + 10 + 1) / 2^10
    assert r["verdict"] == "up" and r["change"] == 8 and r["change_pct"] == pytest.approx(800.0)
    r = compare_counts(10, 20)
    assert r["p"] == pytest.approx(_binom_two_sided(10, 30))
    assert r["verdict"] == ("down" if r["p"] < 0.05 else "stable")
    assert compare_counts(6, 3)["verdict"] == "too_few" and compare_counts(6, 3)["p"] is None
    assert compare_counts(50, 50)["verdict"] == "stable"
    # exposures: 31 against 28 days, counts proportional to days -> p = 1 (nothing to see)
    assert compare_counts(310, 280, exposure=(31, 28))["p"] == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ParameterError):
        compare_counts(-1, 3)


@pytest.mark.parametrize("a, b, t1, t2", [(12, 2, 31, 30), (40, 60, 31, 28), (100, 100, 30, 31),
                                          (7, 25, 31, 31), (300, 240, 31, 30)])
def test_two_count_test_agrees_with_statsmodels(a, b, t1, t2):
    """Peer: statsmodels' exact conditional test of two Poisson rates."""
    from statsmodels.stats.rates import test_poisson_2indep

    peer = test_poisson_2indep(a, t1, b, t2, method="exact-cond", alternative="two-sided").pvalue
    assert compare_counts(a, b, exposure=(t1, t2))["p"] == pytest.approx(peer, rel=1e-9)


def _incidents(rows):
    """rows: (category, local time string) -> GeoDataFrame of points at (0, 0) in EPSG:2154."""
    t = pd.to_datetime([r[1] for r in rows]).tz_localize("Europe/Paris").tz_convert("UTC")
    return gpd.GeoDataFrame({"category": [r[0] for r in rows], "occurred_from": t},
                            geometry=gpd.points_from_xy([r[2] if len(r) > 2 else 0 for r in rows],
                                                        [0] * len(rows)), crs=2154)


def test_monthly_figures_by_hand():
    tax = default_taxonomy()
    rows = ([("theft", "2025-10-01 00:30")] * 3  # local October, UTC still 30 September
            + [("burglary", "2025-10-31 23:30")] * 2  # local October, UTC 31 October
            + [("theft", "2025-09-15 12:00")] * 4
            + [("public_drinking", "2024-10-10 22:00")] * 5
            + [("theft", "2025-11-01 00:10")] * 7)  # next month: ignored
    fig = monthly_figures(_incidents(rows), month="2025-10", tz="Europe/Paris", taxonomy=tax)
    assert fig["total"]["n"] == 5 and fig["total"]["n_prev"] == 4 and fig["total"]["n_year"] == 5
    g = fig["groups"].set_index("group")
    assert list(fig["groups"]["group"]) == [x.code for x in tax.groups]
    assert g.loc["property", ["n", "n_prev", "n_year"]].tolist() == [5, 4, 0]
    assert g.loc["alcohol", ["n", "n_prev", "n_year"]].tolist() == [0, 0, 5]
    assert g.loc["property", "verdict_prev"] == "too_few"
    assert bool(g.loc["violence_women", "sensitive"]) and not bool(g.loc["property", "sensitive"])
    cats = fig["categories"].set_index("category")
    assert cats.loc["theft", "n"] == 3 and cats.loc["theft", "n_prev"] == 4


def test_monthly_figures_cut_to_a_zac():
    tax = default_taxonomy()
    rows = [("theft", "2025-10-05 10:00", 5), ("theft", "2025-10-05 10:00", 50), ("theft", "2025-10-06 10:00", 500)]
    zac = box(0, -10, 100, 10)
    fig = monthly_figures(_incidents(rows), month="2025-10", tz="Europe/Paris", taxonomy=tax, zac=zac)
    assert fig["total"]["n"] == 2


def test_monthly_figures_bad_input():
    with pytest.raises(InputError):
        monthly_figures(pd.DataFrame({"category": ["theft"]}), month="2025-10", tz="Europe/Paris",
                        taxonomy=default_taxonomy())


def test_suppress_counts_blanks_1_to_k_minus_1():
    t = pd.DataFrame({"n": [0, 1, 4, 5, 12], "other": [1, 2, 3, 4, 5]})
    out = suppress_counts(t, ["n"], k=5)
    assert out["n"].isna().tolist() == [False, True, True, False, False]
    assert out.attrs["suppressed"] == 2 and out["other"].tolist() == [1, 2, 3, 4, 5]
    assert t["n"].tolist() == [0, 1, 4, 5, 12]  # input untouched


def test_emerging_summary_orders_and_suppresses():
    cells = gpd.GeoDataFrame({
        "cell_id": [0, 1, 2, 3],
        "category": ["no pattern detected", EMERGING_NOW[0], "persistent hot spot", EMERGING_NOW[2]],
        "n": [1, 3, 40, 20], "n_2025-10": [0, 3, 4, 9], "trend_z": [0.0, 1.0, 0.2, 2.5],
    }, geometry=[box(i, 0, i + 1, 1) for i in range(4)], crs=2154)
    cells.attrs["vigie"] = {"periods": ["2025-09", "2025-10"]}
    s = emerging_summary(cells, k=5)
    assert s["last_period"] == "2025-10" and s["suppressed"] == 1  # the new hot spot holds 3 < 5
    assert list(s["cells"]["cell_id"]) == [3, 2]  # emerging first
    assert s["cells"]["n_last"].tolist() == [9, 4]
    assert dict(zip(s["counts"]["category"], s["counts"]["cells"]))[EMERGING_NOW[0]] == 1
    assert len(emerging_summary(cells)["cells"]) == 3
    assert np.all(emerging_summary(cells)["cells"]["n"] > 0)


# ------------------------------------------------------------------ reviews (app.db)


def _fake_home(tmp_path):
    from types import SimpleNamespace

    from layers.settings import Settings

    return SimpleNamespace(app_db=tmp_path / "app.db", store_url=str(tmp_path / "store.gpkg"), settings=Settings())


def test_reviews_without_app_db_say_so(tmp_path):
    from geo_app.report.build import _reviews

    out = _reviews(_fake_home(tmp_path), pd.Period("2025-10", freq="M"), None)
    assert out == {"available": False, "changed": [], "waiting": [], "decided": []}


def test_reviews_changed_waiting_and_decided_in_the_month(tmp_path):
    from geo_app.db import AppDB
    from geo_app.report.build import _reviews

    home = _fake_home(tmp_path)
    db = AppDB(home.app_db)
    db.set_review("HS-a", user="police", status="in_review")
    db.set_review("HS-b", user="coordinator", status="action_decided")
    db.set_review("HS-d", user="coordinator", status="done")
    now = pd.Timestamp.now(tz="Europe/Paris").tz_localize(None).to_period("M")
    ha = gpd.GeoDataFrame({"hotspot_id": ["HS-a", "HS-c", "HS-d"], "zac": ["Alpha", "Beta", "Alpha"]},
                          geometry=[box(0, 0, 1, 1)] * 3, crs=2154)
    out = _reviews(home, now, ha)
    assert out["available"]
    assert {(c["hotspot_id"], c["old"]["code"], c["new"]["code"]) for c in out["changed"]} == {
        ("HS-a", "new", "in_review"), ("HS-b", "new", "action_decided"), ("HS-d", "new", "done")}
    assert {c["new"]["label"] for c in out["changed"]} == {"en examen", "action décidée", "traité"}
    assert [d["hotspot_id"] for d in out["decided"]] == ["HS-b"]
    # waiting: the month's hotspots still new or under review (HS-c was never reviewed)
    assert {(w["hotspot_id"], w["status"]["code"]) for w in out["waiting"]} == {("HS-a", "in_review"), ("HS-c", "new")}
    # another month: nothing changed then, the same hotspots wait
    before = _reviews(home, now - 13, ha)
    assert before["changed"] == [] and before["decided"] == []
    # cut to a ZAC
    alpha = _reviews(home, now, ha, zac="Alpha")
    assert {c["hotspot_id"] for c in alpha["changed"]} == {"HS-a", "HS-d"}
    assert {w["hotspot_id"] for w in alpha["waiting"]} == {"HS-a"}


def test_monthly_figures_of_no_incident_keep_their_columns():
    empty = gpd.GeoDataFrame({"category": pd.Series([], dtype=str),
                              "occurred_from": pd.Series([], dtype="datetime64[ns, UTC]")},
                             geometry=[], crs=2154)
    fig = monthly_figures(empty, month="2025-10", tz="Europe/Paris", taxonomy=default_taxonomy())
    assert fig["total"]["n"] == 0 and fig["total"]["vs_prev"]["verdict"] == "too_few"
    cats = fig["categories"]
    assert list(cats.columns) == ["category", "group", "sensitive", "n", "n_prev"] and len(cats) == 0
    assert cats["sensitive"].dtype == bool and cats["n"].dtype == "int64"
    assert (fig["groups"]["n"] == 0).all()


def test_area_changes_by_hand():
    from layers.report import area_changes

    rows = ([("theft", "2025-10-03 10:00", 5)] * 12 + [("theft", "2025-09-03 10:00", 5)] * 2
            + [("theft", "2025-10-03 10:00", 50)] * 3 + [("theft", "2025-08-03 10:00", 5)] * 9)
    areas = gpd.GeoDataFrame({"hotspot_id": ["A", "B", "C"]},
                             geometry=[box(0, -1, 10, 1), box(40, -1, 60, 1), box(100, 0, 110, 1)], crs=2154)
    out = area_changes(areas, _incidents(rows), month="2025-10", tz="Europe/Paris")
    assert out["n"].tolist() == [12, 3, 0] and out["n_prev"].tolist() == [2, 0, 0]
    # A: 12 against 2 over 31 and 30 days, exact conditional binomial test
    from scipy.stats import binomtest

    assert out.loc[0, "p"] == pytest.approx(binomtest(12, 14, 31 / 61).pvalue)
    assert out.loc[0, "verdict"] == "up"
    assert out["verdict"].tolist()[1:] == ["too_few", "too_few"]
