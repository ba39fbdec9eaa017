"""Dark hotspots and lamp proposals: synthetic places, then the demo city's planted pattern."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.errors import InputError, ParameterError
from layers.recommend import dark_hotspots, propose_lamps
from layers.recommend.lighting import working_lamps

CRS = 2154
X0, Y0 = 770_000.0, 6_279_000.0
T0 = pd.Timestamp("2025-01-10T22:00", tz="UTC")


def cluster(cx, cy, n, night_share, category="public_drinking", seed=0):
    rng = np.random.default_rng(seed)
    xy = np.column_stack([cx + rng.uniform(-20, 20, n), cy + rng.uniform(-20, 20, n)])
    night = np.arange(n) < round(night_share * n)
    return gpd.GeoDataFrame(
        {"category": [category] * n, "occurred_from": pd.Series([T0] * n), "night": night},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS,
    )


def lamps(coords, status=None):
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy([c[0] for c in coords],
                                                       [c[1] for c in coords]), crs=CRS)
    gdf["status"] = status if status is not None else [""] * len(coords)
    return gdf


CELLS = gpd.GeoDataFrame(
    {"cell_id": [1, 2, 3]},
    geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 50, Y0 + 50),
              shapely.box(X0 + 950, Y0 - 50, X0 + 1050, Y0 + 50),
              shapely.box(X0 + 1950, Y0 - 50, X0 + 2050, Y0 + 50)],
    crs=CRS,
)


def three_places():
    # place 1: 20 incidents, 80 % at night, no lamp nearby -> dark
    # place 2: 20 incidents, 80 % at night, lamps on the spot -> lit
    # place 3: 20 incidents, 20 % at night, no lamp -> not a night problem
    return pd.concat([cluster(X0, Y0, 20, 0.8, seed=1), cluster(X0 + 1000, Y0, 20, 0.8, seed=2),
                      cluster(X0 + 2000, Y0, 20, 0.2, seed=3)], ignore_index=True)


LIT = lamps([(X0 + 1000 + dx, Y0 + dy) for dx in (-25, 0, 25) for dy in (-25, 0, 25)])


def test_only_the_unlit_night_place_is_dark():
    out = dark_hotspots(three_places(), LIT, cells_or_areas=CELLS, min_incidents=5)
    assert out["place"].tolist() == [1]
    row = out.iloc[0]
    assert row["n"] == 20 and row["n_night"] == 16 and row["night_share"] == pytest.approx(0.8)
    assert row["unlit_share"] == 1.0 and row["lamps"] == 0
    assert row["score"] == pytest.approx(16.0)
    # median distance to the nearest working lamp, computed by hand
    inc = three_places()
    night1 = inc.iloc[:16]
    d = np.min(np.hypot(night1.geometry.x.to_numpy()[:, None] - LIT.geometry.x.to_numpy(),
                        night1.geometry.y.to_numpy()[:, None] - LIT.geometry.y.to_numpy()), axis=1)
    assert row["dist_nearest_lamp_m"] == pytest.approx(np.median(d))
    assert "16 faits de nuit sur 20 (80 %)" in row["reason_fr"]
    assert "16 of 20 incidents at night (80%)" in row["reason_en"]
    assert "surveillance naturelle" in row["technique_fr"] and "21 %" in row["evidence_fr"]


def test_all_places_and_lamp_density():
    out = dark_hotspots(three_places(), LIT, cells_or_areas=CELLS, min_incidents=5, all_places=True)
    assert sorted(out["place"].tolist()) == [1, 2, 3]
    lit = out.set_index("place").loc[2]
    assert not lit["dark"] and lit["lamps"] == 9
    assert lit["lamps_per_ha"] == pytest.approx(9.0)  # 9 lamps in one hectare
    assert lit["lamps_per_100m"] == pytest.approx(9.0)  # a 100 m cell: the count itself
    assert not out.set_index("place").loc[3, "dark"]  # mostly daytime


def test_faulty_lamps_make_a_place_dark():
    faulty = lamps(LIT.geometry.apply(lambda p: (p.x, p.y)).tolist(), ["faulty"] * 9)
    assert not working_lamps(faulty).any()
    out = dark_hotspots(three_places(), faulty, cells_or_areas=CELLS, min_incidents=5)
    assert 2 in out["place"].tolist()
    row = out.set_index("place").loc[2]
    assert row["faulty_lamps"] == 9 and row["faulty_share"] == 1.0


def test_default_grid_is_reported():
    out = dark_hotspots(three_places(), LIT, min_incidents=5)
    assert out.attrs["vigie"]["cell_size_m"] == 100.0
    assert len(out) >= 1


def test_propose_lamps_lights_the_dark_cluster():
    out = propose_lamps(three_places(), LIT, k=1, reach_m=30)
    assert len(out) == 1
    p = out.geometry.iloc[0]
    assert p.distance(shapely.Point(X0, Y0)) < 30
    meta = out.attrs["vigie"]
    # night incidents: 16 + 16 + 4; those of place 2 are lit already
    assert meta["coverage_before"]["incidents"] == 16
    assert out["new_night_incidents"].iloc[0] >= 10
    assert meta["spacing_m"] == 15.0
    assert "Point lumineux n° 1" in out["reason_fr"].iloc[0]


def test_bad_inputs():
    with pytest.raises(ParameterError) as e:
        dark_hotspots(three_places(), LIT, night_threshold=2)
    assert e.value.param == "night_threshold"
    with pytest.raises(ParameterError):
        dark_hotspots(three_places(), LIT, lamp_reach_m=0)
    with pytest.raises(InputError, match="no CRS"):
        dark_hotspots(three_places(), LIT.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="Polygon"):
        dark_hotspots(three_places(), LIT, cells_or_areas=LIT)
    day = three_places().assign(night=False)
    with pytest.raises(InputError, match="night"):
        propose_lamps(day, LIT, k=1)


@pytest.mark.slow
def test_demo_night_bars_dark_only_without_its_lamps(demo_home):
    from layers.simulate import PLANTED

    spec = PLANTED["night_bars"]
    inc = demo_home.store.read("incidents")
    lights = demo_home.store.read("lights").to_crs(2154)
    centre = gpd.GeoSeries([shapely.Point(spec["lon"], spec["lat"])], crs=4326).to_crs(2154).iloc[0]
    reach = 30.0
    # with its lamps, no dark place near the planted pattern
    lit = dark_hotspots(inc, lights, crs=2154, lamp_reach_m=reach)
    assert (lit.geometry.distance(centre) > spec["radius_m"]).all()
    # remove the lamps within radius + reach: the pattern comes out first
    far = lights.distance(centre) > spec["radius_m"] + reach
    dark = dark_hotspots(inc, lights[far], crs=2154, lamp_reach_m=reach)
    assert dark.geometry.iloc[0].distance(centre) == 0.0
    top = dark.iloc[0]
    assert top["night_share"] > 0.7 and top["dist_nearest_lamp_m"] > reach
    assert "public_drinking" in top["top_categories"]
