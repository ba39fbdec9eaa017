"""The workspace's caches: bounded in bytes, keyed by store version, one computation per key."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo_app.imports import import_frame
from geo_app.workspace import ByteCache, VersionChanged, nbytes
from layers.filters import Filters


def test_byte_cache_stays_under_its_budget_and_evicts_the_least_recent():
    cache = ByteCache(1000)
    for key in "abc":
        cache.get(key, lambda: np.zeros(50))  # 400 bytes each
    assert cache.used <= 1000 and cache.keys() == ["b", "c"]
    cache.get("b", lambda: pytest.fail("cached"))  # b is now the most recent
    cache.get("d", lambda: np.zeros(50))
    assert cache.keys() == ["b", "d"] and cache.used == 800


def test_a_value_larger_than_the_budget_is_answered_not_kept():
    cache = ByteCache(100)
    assert len(cache.get("big", lambda: np.zeros(1000))) == 1000
    assert cache.keys() == [] and cache.used == 0


def test_nbytes_counts_arrays_frames_and_geometries():
    gdf = gpd.GeoDataFrame({"n": np.arange(10)}, geometry=[Point(i, i) for i in range(10)], crs=4326)
    assert nbytes(np.zeros(10)) == 80
    assert nbytes(gdf) >= 80 + 10 * 16  # the column, and at least the coordinates
    assert nbytes({"a": np.zeros(10), "b": [np.zeros(5)]}) >= 120


def _incidents(n, day="2024-05-02"):
    return gpd.GeoDataFrame(
        {"category": ["theft"] * n, "occurred_from": pd.to_datetime([f"{day}T10:00Z"] * n, utc=True)},
        geometry=[Point(3.876 + 1e-4 * i, 43.61) for i in range(n)], crs=4326)


def test_results_are_keyed_by_version_and_older_versions_are_dropped(home):
    from geo_app.workspace import Workspace

    import_frame(home, "incidents", _incidents(5), file_name="a.csv", user="t")
    root = Workspace(home)  # what the app holds; each request pins it
    first = root.pinned()
    assert first.key_figures(Filters()).total == 5
    old = first.version
    assert {key[0] for key in root._caches.base.keys() + root._caches.results.keys()} == {old}
    import_frame(home, "incidents", _incidents(3, "2024-05-03"), file_name="b.csv", user="t")
    assert first.key_figures(Filters()).total == 5  # still its own version, from the cache
    with pytest.raises(VersionChanged):  # a request pinned before the import never reads the new file
        first.frame("schools")
    second = root.pinned()
    assert second.key_figures(Filters()).total == 8 and second.version != old
    # loading the new version dropped every result of the old one
    assert {key[0] for key in root._caches.base.keys() + root._caches.results.keys()} == {second.version}
