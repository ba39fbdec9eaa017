"""Fixtures of the access tests: a tiny hand-built city whose counts are known by heart.

Lambert-93 (EPSG:2154) near Montpellier; the privacy grid has 250 m cells anchored at the CRS
origin, so a point at x = 770 100 m lies in column 3080 (770 000 / 250), y = 6 279 100 m in
row 25116.

=========  ======================  ====================  ======  =====
ZAC        where (L93 metres)      category              count   cell
=========  ======================  ====================  ======  =====
Alpha      (770 100, 6 279 100)    theft                 7       3080_25116
Alpha      (770 100, 6 279 100)    domestic_violence     2       3080_25116
Alpha      (770 400, 6 279 400)    burglary              3       3081_25117
Beta       (771 100, 6 279 100)    nuisance              6       3084_25116
(none)     (772 100, 6 279 100)    theft                 1       3088_25116
=========  ======================  ====================  ======  =====
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

SPOTS = [
    # (x, y, category, count)
    (770100, 6279100, "theft", 7),
    (770100, 6279100, "domestic_violence", 2),
    (770400, 6279400, "burglary", 3),
    (771100, 6279100, "nuisance", 6),
    (772100, 6279100, "theft", 1),
]
ZACS = {"Alpha": box(770000, 6279000, 770500, 6279500), "Beta": box(771000, 6279000, 771500, 6279500)}


def small_incidents() -> gpd.GeoDataFrame:
    rows = []
    t0 = pd.Timestamp("2024-03-01 22:00", tz="UTC")
    for x, y, cat, n in SPOTS:
        for i in range(n):
            rows.append({
                "category": cat,
                "source_label": cat,
                "occurred_from": t0 + pd.Timedelta(hours=i),
                "description": f"{cat} {i}",
                "source": "test",
                "simulated": True,
                # spread a few metres inside the same cell
                "geometry": Point(x + 3 * i, y + 2 * i),
            })
    return gpd.GeoDataFrame(rows, crs=2154)


def small_zacs() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": list(ZACS), "manager": ["SA3M", "SERM"]},
                            geometry=list(ZACS.values()), crs=2154)


def fill_store(home) -> None:
    """Write the small city into ``home``'s store (one batch per kind)."""
    from layers.store import Batch

    for kind, gdf in (("zac", small_zacs()), ("incidents", small_incidents())):
        gdf = gdf.to_crs(4326)
        batch = Batch(id=f"test-{kind}", kind=kind, file_name=f"{kind}.geojson", checksum="0" * 64,
                      user="test", created="2024-04-01T00:00:00+00:00", n_read=len(gdf),
                      n_stored=len(gdf), n_rejected=0, simulated=True)
        home.store.import_batch(kind, gdf, batch)
