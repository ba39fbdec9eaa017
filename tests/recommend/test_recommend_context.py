"""Context around schools and shops, zone trends and risk terrain modelling."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import statsmodels.api as sm
from scipy import stats

from layers.errors import InputError, ParameterError
from layers.grid import make_grid
from layers.recommend import (
    context_schools,
    context_shops,
    risk_surface,
    risk_terrain,
    zone_summary,
)

CRS = 2154
X0, Y0 = 770_000.0, 6_279_000.0


def incs(rows):
    """rows: (dx, dy, local time 'YYYY-MM-DD HH:MM', category)."""
    t = pd.to_datetime([r[2] for r in rows]).tz_localize("Europe/Paris").tz_convert("UTC")
    return gpd.GeoDataFrame(
        {"category": [r[3] for r in rows], "occurred_from": t},
        geometry=gpd.points_from_xy([X0 + r[0] for r in rows], [Y0 + r[1] for r in rows]), crs=CRS,
    )


def pts(coords, **cols):
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy([X0 + c[0] for c in coords],
                                                              [Y0 + c[1] for c in coords]), crs=CRS)


def test_schools_hours_and_holidays():
    inc = incs([
        (10, 0, "2025-03-03 09:00", "theft"),        # Monday 9:00: school hours
        (20, 0, "2025-03-03 18:00", "theft"),        # Monday 18:00: outside
        (30, 0, "2025-03-08 10:00", "nuisance"),     # Saturday: outside
        (40, 0, "2025-02-18 10:00", "damage"),       # Tuesday in the winter holidays
        (0, 40, "2025-03-04 16:59", "minors"),       # sensitive: not counted by default
        (500, 0, "2025-03-04 10:00", "theft"),       # far from the school
    ])
    school = pts([(0, 0)], name=["École A"])
    out = context_schools(inc, school, radius_m=100)
    assert out[["n_within", "n_school_hours", "n_outside_hours"]].iloc[0].tolist() == [4, 2, 2]
    hol = context_schools(inc, school, radius_m=100, holidays=[("2025-02-15", "2025-03-02")])
    assert hol["n_school_hours"].iloc[0] == 1
    police = context_schools(inc, school, radius_m=100, include_sensitive=True)
    assert police["n_within"].iloc[0] == 5 and police["n_school_hours"].iloc[0] == 3
    with pytest.raises(ParameterError):
        context_schools(inc, school, school_hours=(18, 8))


def test_shops_by_group():
    inc = incs([(0, 0, "2025-03-01 23:00", "public_drinking")] * 3
               + [(200, 0, "2025-03-01 11:00", "shoplifting")] * 2)
    shops = pts([(5, 0), (200, 5), (1000, 0), (3000, 0)],
                name=["Le Zinc", "Épicerie", "Boulangerie", "La Cave"],
                kind=["bar", "Épiceries", "Boulangeries", "Alcools, Caves"],
                late_alcohol=[False, True, False, False])
    out = context_shops(inc, shops, radius_m=30).set_index("name")
    assert out.loc["Le Zinc", "group"] == "bar" and out.loc["Le Zinc", "n_within"] == 3
    assert out.loc["Le Zinc", "n_alcohol"] == 3
    assert out.loc["Épicerie", "group"] == "late_alcohol"
    assert out.loc["La Cave", "group"] == "alcohol" and out.loc["Boulangerie", "group"] == "other"
    assert out.loc["Épicerie", "n_shop_categories"] == 2
    groups = {r["group"]: r for r in out.attrs["vigie"]["by_group"]}
    assert groups["bar"]["incidents"] == 3 and groups["other"]["incidents"] == 0


def test_zone_summary_counts_and_exact_test():
    # zone: recent quarter Aug-Oct 2025 has 12, previous May-Jul 3, a year earlier 6
    rows = ([(0, 0, "2025-09-10 12:00", "theft")] * 12 + [(0, 0, "2025-06-10 12:00", "theft")] * 3
            + [(0, 0, "2024-09-10 12:00", "theft")] * 6 + [(5000, 0, "2025-10-20 12:00", "theft")])
    zones = gpd.GeoDataFrame({"name": ["ZAC A"]},
                             geometry=[shapely.box(X0 - 100, Y0 - 100, X0 + 100, Y0 + 100)], crs=CRS)
    out = zone_summary(incs(rows), zones, end="2025-11-01")
    r = out.iloc[0]
    assert (r["n_total"], r["n_recent"], r["n_previous"], r["n_year_before"]) == (21, 12, 3, 6)
    d_recent, d_prev = 92, 92  # Aug-Oct and May-Jul both have 92 days
    assert r["p_previous"] == pytest.approx(stats.binomtest(12, 15, d_recent / (d_recent + d_prev)).pvalue)
    assert r["change_previous"] == pytest.approx(3.0)
    assert r["trend"] == "up"
    assert out.attrs["vigie"]["periods"]["recent"][0].startswith("2025-08-01")
    with pytest.raises(ParameterError):
        zone_summary(incs(rows), zones, months=0)


def test_risk_terrain_recovers_planted_relative_risk():
    rng = np.random.default_rng(42)
    grid = make_grid(gpd.GeoSeries([shapely.box(X0, Y0, X0 + 4000, Y0 + 4000)], crs=CRS), cell_size=100)
    cx = grid.geometry.centroid
    # bars on a few spots; a cell is "near a bar" when its centre is within 150 m of one
    bars = pts([(x, y) for x, y in rng.uniform(200, 3800, (25, 2))])
    near = (cx.apply(lambda p: bars.distance(p).min()) <= 150).to_numpy().astype(float)
    beta0, beta = np.log(2.0), np.log(3.0)
    counts = rng.poisson(np.exp(beta0 + beta * near))
    # one incident per count at the cell centre
    xs = np.repeat(cx.x.to_numpy(), counts)
    ys = np.repeat(cx.y.to_numpy(), counts)
    inc = gpd.GeoDataFrame({"category": ["theft"] * len(xs),
                            "occurred_from": pd.Series([pd.Timestamp("2025-01-01", tz="UTC")] * len(xs))},
                           geometry=gpd.points_from_xy(xs, ys), crs=CRS)
    out = risk_terrain(inc, grid, features={"bars": bars}, distance_m=150)
    row = out.set_index("factor").loc["near_bars"]
    assert row["ci_low"] <= 3.0 <= row["ci_high"]
    # same numbers as statsmodels fitted directly
    fit = sm.GLM(counts, sm.add_constant(near), family=sm.families.Poisson()).fit()
    assert row["rr"] == pytest.approx(np.exp(fit.params[1]))
    assert row["ci_low"] == pytest.approx(np.exp(fit.conf_int()[1][0]))
    assert row["cells_exposed"] == int(near.sum())
    cells = risk_surface(grid, out, features={"bars": bars})
    assert cells["relative_risk"].to_numpy() == pytest.approx(np.exp(fit.params[1] * near))
    nb = risk_terrain(inc, grid, features={"bars": bars}, distance_m=150, model="negbin")
    assert nb.set_index("factor").loc["near_bars", "ci_low"] <= 3.0 <= nb.set_index("factor").loc["near_bars", "ci_high"]
    assert nb.attrs["vigie"]["alpha"] is not None
    # a layer no cell is near carries no information: dropped, said so
    out2 = risk_terrain(inc, grid, features={"bars": bars, "far": pts([(100_000, 0)])},
                        distance_m=150)
    assert out2.attrs["vigie"]["dropped"] == ["near_far"]
    assert out2["factor"].tolist() == ["near_bars"]


def test_risk_terrain_bad_inputs():
    grid = make_grid(gpd.GeoSeries([shapely.box(X0, Y0, X0 + 500, Y0 + 500)], crs=CRS), cell_size=100)
    inc = incs([(10, 10, "2025-01-01 10:00", "theft")])
    with pytest.raises(ParameterError):
        risk_terrain(inc, grid, features={"bars": pts([(0, 0)])}, model="logit")
    with pytest.raises(ParameterError):
        risk_terrain(inc, grid, features={})
    with pytest.raises(InputError, match="varies"):
        risk_terrain(inc, grid, features={"x": pts([(0, 0)])}, distance_m=10_000)
