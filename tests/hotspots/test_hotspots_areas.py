"""Hotspot areas (stable ids, summaries, context), change between periods, sensitivity."""

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.errors import InputError, ParameterError
from layers.grid import make_grid
from layers.hotspots import change, gistar, hotspot_areas, sensitivity

AREA_COLUMNS = ["hotspot_id", "number", "n", "n_cells", "area_km2", "z_max", "cell_ids", "categories",
                "top_category", "night_share", "zac", "areas"]


def incidents(seed=4):
    rng = np.random.default_rng(seed)
    a = rng.normal([800, 800], 60, (400, 2))
    b = rng.normal([2300, 1400], 90, (250, 2))
    u = rng.uniform([0, 0], [3000, 2000], (1500, 2))
    xy = np.clip(np.r_[a, b, u], 0, [2999, 1999])
    cat = np.r_[np.where(np.arange(400) % 4 == 0, "burglary", "theft"), np.full(250, "damage"),
                rng.choice(["theft", "damage", "burglary"], 1500)]
    dark = np.r_[np.where(np.arange(400) % 2 == 0, "night", "day"), np.full(250, "day"), rng.choice(["day", "night"], 1500)]
    return gpd.GeoDataFrame({"category": cat, "darkness": dark},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=2154)


GRID = {"cell_size": 100, "study_area": gpd.GeoSeries([shapely.box(0, 0, 3000, 2000)], crs=2154)}


def test_hotspot_areas_summary():
    inc = incidents()
    cells = gistar(inc, **GRID)
    zac = gpd.GeoDataFrame({"name": ["ZAC Port", "ZAC Far"]},
                           geometry=[shapely.box(700, 700, 900, 900), shapely.box(5000, 5000, 6000, 6000)], crs=2154)
    areas = gpd.GeoDataFrame({"name": ["Nord", "Sud"]}, geometry=[shapely.box(0, 1000, 3000, 2000),
                                                                   shapely.box(0, 0, 3000, 1000)], crs=2154)
    schools = gpd.GeoDataFrame({"name": ["École A", "École B"]}, geometry=[shapely.Point(800, 800), shapely.Point(100, 1900)], crs=2154)
    out = hotspot_areas(cells, inc, zac=zac, areas=areas.to_crs(4326), schools=schools, shops=schools.iloc[:0])
    assert list(out.columns) == AREA_COLUMNS + ["n_schools", "n_shops", "geometry"]
    assert len(out) >= 2
    first = out.iloc[0]
    assert first["number"] == 1 and first["n"] >= out["n"].max()
    # the planted cluster around (800, 800): mostly theft, a quarter burglary, half at night
    big = out.loc[out.geometry.contains(shapely.Point(800, 800))].iloc[0]
    shares = json.loads(big["categories"])
    assert big["top_category"] == "theft" and shares["theft"] > shares["burglary"] > 0
    assert sum(shares.values()) == pytest.approx(1, abs=0.01)
    assert 0.3 < big["night_share"] < 0.7
    assert big["zac"] == "ZAC Port" and big["areas"] == "Sud" and big["n_schools"] == 1 and big["n_shops"] == 0
    # n is the number of incidents inside the hotspot's cells, area the cells' area
    cells_in = json.loads(big["cell_ids"])
    assert big["n"] == cells.loc[cells["cell_id"].isin(cells_in), "n"].sum()
    assert big["area_km2"] == pytest.approx(len(cells_in) * 0.01)
    assert big["n_cells"] == len(cells_in)
    # every hot cell (bin >= 2) is in exactly one hotspot
    hot = set(cells.loc[cells["bin"] >= 2, "cell_id"])
    listed = [c for ids in out["cell_ids"] for c in json.loads(ids)]
    assert sorted(listed) == sorted(hot)


def test_hotspot_ids_are_stable_across_reruns_and_row_order():
    inc = incidents()
    a = hotspot_areas(gistar(inc, **GRID), inc)
    shuffled = inc.sample(frac=1, random_state=12).reset_index(drop=True)
    b = hotspot_areas(gistar(shuffled, **GRID), shuffled)
    assert a["hotspot_id"].tolist() == b["hotspot_id"].tolist()
    assert a["hotspot_id"].str.match(r"^HS-[0-9a-f]{10}$").all()
    assert a["hotspot_id"].is_unique
    # a different grid gives different identities
    c = hotspot_areas(gistar(inc, grid=make_grid(GRID["study_area"], cell_size=100, origin=(50, 50))), inc)
    assert not set(c["hotspot_id"]) & set(a["hotspot_id"])


def test_min_bin_and_no_hotspot():
    inc = incidents()
    cells = gistar(inc, **GRID)
    strict = hotspot_areas(cells, inc, min_bin=3)
    loose = hotspot_areas(cells, inc, min_bin=1)
    assert strict["n_cells"].sum() <= hotspot_areas(cells, inc)["n_cells"].sum() <= loose["n_cells"].sum()
    gx, gy = np.meshgrid(np.arange(50, 3000, 100), np.arange(50, 2000, 100))  # one per cell
    flat = gpd.GeoDataFrame(geometry=gpd.points_from_xy(gx.ravel(), gy.ravel()), crs=2154)
    none = hotspot_areas(gistar(flat, **GRID), flat)
    assert len(none) == 0 and "hotspot_id" in none.columns


def test_hotspot_areas_bad_input():
    with pytest.raises(InputError, match="gistar"):
        hotspot_areas(make_grid(shapely.box(0, 0, 100, 100), cell_size=10), incidents())
    cells = gistar(incidents(), **GRID)
    with pytest.raises(InputError, match="name"):
        hotspot_areas(cells, incidents(), zac=gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=2154))


def test_change_detects_a_planted_increase():
    rng = np.random.default_rng(8)
    base = rng.uniform([0, 0], [3000, 2000], (2000, 2))
    before = gpd.GeoDataFrame(geometry=gpd.points_from_xy(base[:, 0], base[:, 1]), crs=2154)
    extra = rng.normal([1550, 1050], 20, (60, 2))
    late = np.r_[rng.uniform([0, 0], [3000, 2000], (2000, 2)), extra]
    after = gpd.GeoDataFrame(geometry=gpd.points_from_xy(late[:, 0], late[:, 1]), crs=2154)
    out = change(before, after, **GRID)
    assert {"cell_id", "n1", "n2", "difference", "rate_ratio", "p", "p_adj", "trend"} <= set(out.columns)
    inc_cells = out.loc[out["trend"] == "increase"]
    assert len(inc_cells) >= 1
    assert inc_cells.geometry.union_all().distance(shapely.Point(1550, 1050)) < 50
    assert (out["trend"] == "decrease").sum() == 0
    # p by hand for the top cell: n2 | n1+n2 ~ Binomial(m, 1/2), two-sided by doubling
    from scipy import stats

    top = out.loc[out["difference"].idxmax()]
    m = top["n1"] + top["n2"]
    assert top["p"] == pytest.approx(min(1, 2 * stats.binom.sf(top["n2"] - 1, m, 0.5)))
    # unequal periods: twice as long a second period doubles the expected count
    out2 = change(before, after, durations=(1, 2), **GRID)
    assert (out2["trend"] == "increase").sum() <= len(inc_cells)
    with pytest.raises(ParameterError, match="durations"):
        change(before, after, durations=(0, 1), **GRID)


def test_sensitivity_report():
    inc = incidents()
    out = sensitivity(inc, **GRID)
    meta = out.attrs["vigie"]
    assert len(meta["variants"]) == 11  # 3 sizes x 4 origins minus the base
    assert {"hot", "hot_share", "stable"} <= set(out.columns)
    assert out.loc[~out["hot"], "stable"].sum() == 0
    centre = out.loc[out.geometry.contains(shapely.Point(805, 805))].iloc[0]
    assert centre["hot"] and centre["hot_share"] == 1.0 and centre["stable"]
    assert all(0 <= v["agreement"] <= 1 for v in meta["variants"])
