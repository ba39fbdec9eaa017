"""KDE against scikit-learn and a direct quartic sum; the bandwidth rule by hand; dual KDE."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sklearn.neighbors import KernelDensity

from layers.errors import InputError, ParameterError
from layers.grid import make_grid
from layers.hotspots import dual_kde, kde, silverman_bandwidth


def points(xy, crs=2154):
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def sample(n=4000, seed=5):
    rng = np.random.default_rng(seed)
    xy = np.r_[rng.normal([1500, 1000], 180, (n // 2, 2)), rng.normal([600, 500], 80, (n // 4, 2)),
               rng.uniform([0, 0], [3000, 2000], (n - n // 2 - n // 4, 2))]
    return xy


def above_one_percent(values, exact):
    m = exact > 0.01 * exact.max()
    return np.abs(values[m] / exact[m] - 1).max()


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_gaussian_kde_within_one_percent_of_sklearn(shape):
    xy = sample()
    out = kde(points(xy), kernel="gaussian", bandwidth=120, cell_size=60, shape=shape)
    c = out.geometry.centroid
    centres = np.column_stack([c.x, c.y])
    skl = KernelDensity(kernel="gaussian", bandwidth=120).fit(xy)
    exact = np.exp(skl.score_samples(centres)) * len(xy) * 1e6  # per km²
    assert above_one_percent(out["kde"].to_numpy(), exact) < 0.01


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_quartic_kde_within_one_percent_of_a_direct_sum(shape):
    xy = sample()
    out = kde(points(xy), cell_size=50, shape=shape)  # automatic bandwidth
    h = out.attrs["vigie"]["bandwidth"]
    c = out.geometry.centroid
    d2 = (c.x.to_numpy()[:, None] - xy[None, :, 0]) ** 2 + (c.y.to_numpy()[:, None] - xy[None, :, 1]) ** 2
    u = d2 / h**2
    exact = (np.where(u < 1, 3 / (math.pi * h * h) * (1 - u) ** 2, 0.0)).sum(axis=1) * 1e6
    assert above_one_percent(out["kde"].to_numpy(), exact) < 0.01
    # integrates to the number of incidents (all far from the edges): sum density * cell area
    assert (out["kde"] * out.attrs["vigie"]["cell_area_m2"] / 1e6).sum() == pytest.approx(len(xy), rel=0.02)


def test_silverman_bandwidth_by_hand():
    xy = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [5, 5], [40, 30]], dtype=float)
    mc = xy.mean(axis=0)
    d = np.hypot(*(xy - mc).T)
    sd = math.sqrt((d**2).mean())
    dm = np.median(d)
    h = silverman_bandwidth(points(xy))
    assert h == pytest.approx(0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * 6 ** -0.2)
    assert h == pytest.approx(0.9 * 12.053146176452817 * 6 ** -0.2)  # Dm branch: 1.2011 * 10.035
    out = kde(points(sample(500)))
    assert out.attrs["vigie"]["bandwidth_auto"] is True
    assert out.attrs["vigie"]["bandwidth"] == pytest.approx(silverman_bandwidth(points(sample(500))))
    assert out.attrs["vigie"]["kernel"] == "quartic" and out.attrs["vigie"]["unit"] == "incidents per km²"


def test_density_per_year():
    xy = sample(800)
    a = kde(points(xy), bandwidth=150, cell_size=100)
    b = kde(points(xy), bandwidth=150, cell_size=100, period=(pd.Timestamp("2024-01-01"), pd.Timestamp("2026-01-01")))
    years = 731 / 365.25
    assert b["kde"].to_numpy() == pytest.approx(a["kde"].to_numpy() / years)
    assert b.attrs["vigie"]["unit"] == "incidents per km² per year"


def test_single_point_density_by_hand():
    grid = make_grid(shapely.box(0, 0, 1000, 1000), cell_size=100)
    out = kde(points([(550, 550)]), grid=grid, bandwidth=200)
    # centre cell (550, 550): 3 / (pi h²) per m² -> * 1e6 per km²
    assert out.loc[out["cell_id"] == 55, "kde"].item() == pytest.approx(3 / (math.pi * 200**2) * 1e6, rel=1e-3)
    # a cell 100 m away: (1 - 0.25)²
    assert out.loc[out["cell_id"] == 56, "kde"].item() == pytest.approx(3 / (math.pi * 200**2) * 1e6 * 0.5625, rel=5e-3)
    assert out.loc[out["cell_id"] == 0, "kde"].item() == 0.0


def test_dual_kde_ratio_and_difference():
    xy = sample(2000)
    night = xy[::3]
    out = dual_kde(points(night), points(xy), cell_size=100)
    m = out["ratio"].notna()
    assert np.allclose(out.loc[m, "ratio"], out.loc[m, "kde_a"] / out.loc[m, "kde_b"])
    assert np.allclose(out.loc[m & (out["ratio"] > 0), "log_ratio"], np.log(out.loc[m & (out["ratio"] > 0), "ratio"]))
    assert np.allclose(out["difference"], out["kde_a"] - out["kde_b"])
    # a third of the points, same bandwidth: the ratio is about 1/3 where the density is high
    assert out.loc[out["kde_b"] > 0.3 * out["kde_b"].max(), "ratio"].median() == pytest.approx(1 / 3, rel=0.1)


@pytest.mark.parametrize(
    "kwargs, exc, text",
    [({"bandwidth": -1}, ParameterError, "bandwidth"), ({"bandwidth": "wide"}, ParameterError, "bandwidth"),
     ({"kernel": "epanechnikov"}, ParameterError, "kernel"), ({"period": (pd.Timestamp("2024-02-01"), pd.Timestamp("2024-01-01"))}, ParameterError, "period")],
)
def test_bad_parameters(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        kde(points(sample(100)), **kwargs)


def test_identical_points_need_a_bandwidth():
    with pytest.raises(InputError, match="bandwidth"):
        kde(points([(10, 10)] * 5), cell_size=10)


def test_incidents_in_wgs84_on_a_metric_grid():
    xy = sample(1500)
    grid = make_grid(gpd.GeoSeries([shapely.box(0, 0, 3000, 2000)], crs=2154), cell_size=100)
    a = kde(points(xy), grid=grid)
    b = kde(points(xy).to_crs(4326), grid=grid)
    assert a.attrs["vigie"]["bandwidth"] == pytest.approx(b.attrs["vigie"]["bandwidth"], rel=1e-6)
    assert np.allclose(a["kde"], b["kde"], rtol=1e-5, atol=1e-9 * a["kde"].max())
