"""A small in-memory store and a hand-built city for the web tests (no file, no demo build).

``MemoryStore`` implements ``layers.store.base.Store`` over GeoDataFrames with the same filter
semantics (``layers.filters.apply_filters``); ``small_city(seed)`` gives a few hundred
incidents in two clusters over central Montpellier, two ZACs, the commune limit, schools,
shops (one with a name full of HTML), cameras and 3,000 street lights.
"""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from layers.filters import apply_filters
from layers.registry import LAYERS, default_taxonomy
from layers.store.base import Batch, Store

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class MemoryStore(Store):
    def __init__(self, layers: dict[str, gpd.GeoDataFrame]):
        self._layers = {}
        for kind, spec in LAYERS.items():
            g = layers.get(kind)
            if g is None:
                g = gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in spec.column_names},
                                     geometry=gpd.GeoSeries([], crs=4326), crs=4326)
            g = g.to_crs(4326).reset_index(drop=True)
            g["fid"] = np.arange(1, len(g) + 1)
            g["batch_id"] = "b-" + kind
            self._layers[kind] = g
        self._version = hashlib.sha1(str(sorted((k, len(v)) for k, v in self._layers.items())).encode()).hexdigest()
        self.reads = 0

    def read(self, kind, filters=None, *, columns=None, tz="Europe/Paris"):
        self.reads += 1
        g = self._layers[kind]
        zac = self._layers["zac"] if filters is not None and filters.zac else None
        if kind == "incidents":
            return apply_filters(g, filters, tz=tz, zac_layer=zac)
        return g.copy()

    def count(self, kind, filters=None, *, tz="Europe/Paris"):
        return len(self.read(kind, filters, tz=tz))

    def counts(self):
        return {k: len(v) for k, v in self._layers.items()}

    def import_batch(self, kind, gdf, batch, *, progress=None):  # pragma: no cover - read-only fake
        raise NotImplementedError

    def batches(self, kind=None):
        return []

    def rollback(self, batch_id):  # pragma: no cover
        raise NotImplementedError

    @property
    def version(self):
        return self._version


def small_city(seed: int = 1, n: int = 600, lights: int = 3000) -> dict[str, gpd.GeoDataFrame]:
    """Layers of a small synthetic Montpellier (EPSG:4326)."""
    rng = np.random.default_rng(seed)
    cats = np.array(default_taxonomy().codes)
    # two tight clusters (Comédie, Gare) + background
    centres = np.array([[3.8795, 43.6085], [3.8810, 43.6045]])
    k = int(n * 0.7)
    which = rng.integers(0, 2, size=k)
    xy = centres[which] + rng.normal(scale=0.0012, size=(k, 2))
    bg = np.column_stack([rng.uniform(3.84, 3.92, n - k), rng.uniform(43.58, 43.64, n - k)])
    xy = np.vstack([xy, bg])
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    times = t0 + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, size=n), unit="min")
    incidents = gpd.GeoDataFrame(
        {
            "category": rng.choice(cats[:14], size=n),
            "source_label": "",
            "occurred_from": pd.DatetimeIndex(times).as_unit("ns"),
            "occurred_to": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"),
            "description": [XSS if i == 0 else f"fait {i}" for i in range(n)],
            "source": "test",
            "address": "",
            "external_id": [f"e{i}" for i in range(n)],
            "simulated": True,
        },
        geometry=[Point(x, y) for x, y in xy], crs=4326,
    )
    zac = gpd.GeoDataFrame({"name": ["ZAC Centre", "ZAC Gare"], "manager": ["SA3M", XSS], "created": ["", ""]},
                           geometry=[box(3.874, 43.605, 3.885, 43.612), box(3.876, 43.600, 3.886, 43.606)], crs=4326)
    areas = gpd.GeoDataFrame({"name": ["Montpellier"], "code": ["34172"], "level": ["commune"]},
                             geometry=[box(3.83, 43.57, 3.93, 43.65)], crs=4326)
    schools = gpd.GeoDataFrame({"name": ["École Jules Ferry", XSS], "level": ["école", "collège"]},
                               geometry=[Point(3.8800, 43.6080), Point(3.8815, 43.6050)], crs=4326)
    shops = gpd.GeoDataFrame({"name": ["Tabac de la Comédie", "Épicerie de nuit", ""],
                              "kind": ["tabac", "alimentation", "bar"], "late_alcohol": [False, True, True]},
                             geometry=[Point(3.8797, 43.6087), Point(3.8812, 43.6047), Point(3.86, 43.62)], crs=4326)
    cameras = gpd.GeoDataFrame({"name": ["CAM-1", "CAM-2"], "installed": pd.to_datetime(["2019-01-01", "2021-06-01"]),
                                "range_m": [80.0, np.nan], "bearing": [np.nan, np.nan], "fov": [np.nan, np.nan],
                                "address": ["place de la Comédie", "gare Saint-Roch"]},
                               geometry=[Point(3.8799, 43.6086), Point(3.8808, 43.6046)], crs=4326)
    lxy = np.column_stack([rng.uniform(3.85, 3.91, lights), rng.uniform(43.59, 43.63, lights)])
    lights_g = gpd.GeoDataFrame({"type": "LED", "status": np.where(rng.random(lights) < 0.05, "faulty", "working")},
                                geometry=[Point(x, y) for x, y in lxy], crs=4326)
    return {"incidents": incidents, "zac": zac, "areas": areas, "schools": schools, "shops": shops,
            "cameras": cameras, "lights": lights_g}


_ = Batch
