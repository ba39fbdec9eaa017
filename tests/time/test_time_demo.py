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


def _planted_point(crs, name="emerging"):
    import geopandas as gpd
    import shapely

    from layers.simulate import PLANTED

    p = PLANTED[name]
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
    # the fading pattern (gone in the last six months) is a former hotspot in sfhotspot's view
    fading = out[out.geometry.contains(_planted_point(inc.crs, "fading"))]
    assert fading["sfhotspot_class"].iloc[0] == "former hotspot"
    assert fading["category"].iloc[0] != "new hot spot" and fading["trend_z"].iloc[0] < 0


def test_night_bars_pattern_is_mostly_dark(demo_incidents):
    import geopandas as gpd

    from layers.simulate import PLANTED
    from layers.temporal import night_share

    inc, _, settings = demo_incidents
    spot = gpd.GeoDataFrame({"name": ["night_bars"]},
                            geometry=[_planted_point(inc.crs, "night_bars").buffer(PLANTED["night_bars"]["radius_m"])],
                            crs=inc.crs)
    town = gpd.GeoDataFrame({"name": ["town"]}, geometry=[inc.union_all().convex_hull], crs=inc.crs)
    bars = night_share(inc, spot, tz=settings.timezone).iloc[0]
    all_ = night_share(inc, town, tz=settings.timezone).iloc[0]
    assert bars["dark_share"] > 0.7 and bars["dark_share"] > all_["dark_share"] + 0.1


def test_backtest_on_the_demo_city_recommends_a_method(demo_incidents):
    from layers.evaluate import backtest, backtest_summary, recommend_method

    inc, area, settings = demo_incidents
    res = backtest(inc, study_area=area, coverages=(0.05,), tz=settings.timezone, min_history=6)
    summary = backtest_summary(res)
    assert (summary["pai"] > 1.5).all(), summary
    method, reason = recommend_method(res)
    assert method in reason
