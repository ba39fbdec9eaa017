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


def medium_incidents(seed: int = 7) -> gpd.GeoDataFrame:
    """A seeded city with two clusters (one in each ZAC) over a sparse background, enough for
    the hotspot analysis to find hotspot areas in Alpha and in Beta.

    - background: 300 incidents uniform over [769 000, 773 000] × [6 278 000, 6 281 000] (L93),
      ordinary categories;
    - Alpha cluster: 70 thefts and 10 domestic violence within 60 m of (770 250, 6 279 250);
    - Beta cluster: 60 nuisances within 60 m of (771 250, 6 279 250).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")

    def add(x, y, cat):
        rows.append({"category": cat, "source_label": cat,
                     "occurred_from": t0 + pd.Timedelta(hours=int(rng.integers(0, 24 * 180))),
                     "description": "<b>bold</b> & co", "source": "test", "simulated": True,
                     "geometry": Point(x, y)})

    cats = ["theft", "burglary", "damage", "nuisance", "vehicle_crime"]
    for _ in range(300):
        add(rng.uniform(769000, 773000), rng.uniform(6278000, 6281000), cats[int(rng.integers(0, 5))])
    for cx, cy, spec in ((770250, 6279250, [("theft", 70), ("domestic_violence", 10)]),
                         (771250, 6279250, [("nuisance", 60)])):
        for cat, n in spec:
            for _ in range(n):
                r, a = 60 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
                add(cx + r * np.cos(a), cy + r * np.sin(a), cat)
    return gpd.GeoDataFrame(rows, crs=2154)


def fill_medium_store(home) -> None:
    from layers.store import Batch

    for kind, gdf in (("zac", small_zacs()), ("incidents", medium_incidents())):
        gdf = gdf.to_crs(4326)
        batch = Batch(id=f"medium-{kind}", kind=kind, file_name=f"{kind}.geojson", checksum="0" * 64,
                      user="test", created="2024-07-01T00:00:00+00:00", n_read=len(gdf),
                      n_stored=len(gdf), n_rejected=0, simulated=True)
        home.store.import_batch(kind, gdf, batch)


def medium_city(path, *, k: int, password: str):
    """A deployment at ``path`` (Lambert-93, Paris time, ``k_anonymity`` k) holding the medium
    city and the five demo accounts (``password``): the attack tests' city."""
    from geo_app.accounts import create_demo_accounts
    from geo_app.config import Home, write_config

    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris", "k_anonymity": k})
    home = Home(path)
    fill_medium_store(home)
    create_demo_accounts(home, password)
    return home
