"""A deployment holding incidents only (no area, ZAC, lamp or camera; no app.db): the report
still comes out, honest about what it cannot show."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def bare_home(home):
    from geo_app.imports import import_frame

    rng = np.random.default_rng(7)
    n = 400
    x = 770_000 + rng.normal(0, 600, n)
    y = 6_280_000 + rng.normal(0, 600, n)
    x[:120] = 770_300 + rng.normal(0, 40, 120)  # a dense spot
    y[:120] = 6_280_300 + rng.normal(0, 40, 120)
    days = rng.integers(0, 120, n)
    t = (pd.Timestamp("2025-06-01", tz="Europe/Paris") + pd.to_timedelta(days, "D")
         + pd.to_timedelta(rng.integers(0, 24, n), "h")).tz_convert("UTC")
    cats = rng.choice(["theft", "damage", "drugs", "violence_public"], n)
    gdf = gpd.GeoDataFrame({"category": cats, "occurred_from": t}, geometry=gpd.points_from_xy(x, y), crs=2154)
    import_frame(home, "incidents", gdf, file_name="bare-test", user="test")
    return home


def test_report_of_a_bare_deployment(bare_home, tmp_path):
    from geo_app.report import build_report, render_html

    rep = build_report(bare_home, month="2025-08", images=True)
    assert rep["figures"]["total"]["n"] > 0
    assert rep["tables"]["zacs"] == []  # no ZAC layer: no ZAC page
    assert rep["tables"]["reviews"]["available"] in (False, True)
    html = render_html(rep)
    assert rep["L"]["zac_none"] in html
    assert rep["images"]["hotspots"].startswith("data:image/png;base64,")
    assert len(rep["tables"]["hotspots"]) >= 1  # the dense spot


def test_bare_deployment_without_incidents_in_the_month(bare_home):
    from geo_app.report import build_report
    from layers.errors import InputError

    with pytest.raises(InputError, match="2025-01.*2025-06 to 2025-09"):
        build_report(bare_home, month="2025-01", images=False)


def test_a_month_with_too_few_incidents_for_gistar(home):
    from geo_app.imports import import_frame
    from geo_app.report import build_report, render_html

    rng = np.random.default_rng(3)
    n = 12
    gdf = gpd.GeoDataFrame(
        {"category": ["theft"] * n,
         "occurred_from": pd.Timestamp("2025-03-10 12:00", tz="UTC") + pd.to_timedelta(rng.integers(0, 48, n), "h")},
        geometry=gpd.points_from_xy(770_000 + rng.normal(0, 300, n), 6_280_000 + rng.normal(0, 300, n)), crs=2154)
    import_frame(home, "incidents", gdf, file_name="few", user="test")
    rep = build_report(home, month="2025-03")
    assert rep["figures"]["total"]["n"] == n
    assert "30" in rep["tables"]["hotspots_reason"]  # Gi* needs at least 30 incidents, said so
    assert rep["tables"]["emerging_reason"]  # one month of data: no emerging analysis, said so
    html = render_html(rep)
    assert rep["L"]["hotspots_failed"].split(":")[0] in html
    # partners: 12 incidents are shown as such (>= k) but the darkness counts under 5 are hidden
    assert all(d["n"] == "< 5" or int(d["n"]) == 0 or int(d["n"]) >= 5 for d in rep["tables"]["time"]["darkness"])
    # a share beside a hidden count would give it back: with one hidden, no share is shown
    dk = rep["tables"]["time"]["darkness"]
    if any(d["n"] == "< 5" for d in dk):
        assert all(d["share"] == "—" for d in dk)
    # the night share as its class only (an exact share times a count is the night count)
    assert rep["tables"]["time"]["night_share"] in {"surtout la nuit", "jour et nuit", "surtout le jour", None}
    police = build_report(home, month="2025-03", audience="police", images=False)
    assert police["tables"]["time"]["night_share"].endswith(" %")
    assert not any(d["share"] == "—" for d in police["tables"]["time"]["darkness"])
