"""The demo city: the planted emerging hotspot is found, the backtest recommends a method."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_incidents(demo_home_path):
    from geo_app.config import Home
    from layers.crs import to_analysis

    home = Home(demo_home_path)
    settings = home.settings
    inc = to_analysis(home.store.read("incidents", tz=settings.timezone), settings.analysis_crs)
    areas = home.store.read("areas")
    commune = areas[areas["level"] == "commune"] if "level" in areas.columns else areas
    area = commune.to_crs(inc.crs).union_all() if len(commune) else None
    return inc, area, settings


def _planted_point(crs):
    import geopandas as gpd
    import shapely

    from layers.simulate import PLANTED

    p = PLANTED["emerging"]
    return gpd.GeoSeries([shapely.Point(p["lon"], p["lat"])], crs=4326).to_crs(crs).iloc[0]


def test_planted_emerging_hotspot_is_new_consecutive_or_intensifying(demo_incidents):
    from layers.spacetime import emerging_hotspots

    inc, area, settings = demo_incidents
    out = emerging_hotspots(inc, study_area=area, period="month", tz=settings.timezone)
    cell = out[out.geometry.contains(_planted_point(inc.crs))]
    assert len(cell) == 1
    assert cell["category"].iloc[0] in ("new hot spot", "consecutive hot spot", "intensifying hot spot"), (
        cell[["category", "n_hot", "trend_z"]].to_dict("records"))
    assert cell["sfhotspot_class"].iloc[0] == "emerging hotspot"


def test_backtest_on_the_demo_city_recommends_a_method(demo_incidents):
    from layers.evaluate import backtest, backtest_summary, recommend_method

    inc, area, settings = demo_incidents
    res = backtest(inc, study_area=area, coverages=(0.05,), tz=settings.timezone, min_history=6)
    summary = backtest_summary(res)
    assert (summary["pai"] > 1.5).all(), summary
    method, reason = recommend_method(res)
    assert method in reason
