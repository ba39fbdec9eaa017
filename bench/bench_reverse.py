"""Reverse geocoding benchmark: the cost of the "près du 12 Rue de la Loge" of incident popups.

Montpellier's whole address register (data/, 36,395 points) and street network (8,011 arcs),
and points drawn at register addresses moved by a seeded Gaussian jitter of 15 m (where
incidents are: in front of houses). Vigie: ``layers.geocode.reverse_geocode`` (a KD-tree of the
addresses and an STRtree of the street lines, built once per index: the web service keeps one
index per store version), on one page of 2,000 points (``POINTS_LIMIT``, what the map asks for
at once) and on 10,000. Peer: ``geopandas.sjoin_nearest`` of the same points onto the register's
numbered addresses (``max_distance`` 50 m) for the address, and onto the street lines of the
streets that have addresses (those the index keeps) for the street. Both must give the same distance to the nearest numbered address (Vigie looks among the
8 nearest addresses, the peer among all) and to the nearest street.

Run: ``python -m bench reverse``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20240615
REGISTER = ROOT / "data" / "VilleMTP_MTP_PointAdresse.zip"
STREETS = ROOT / "data" / "VilleMTP_MTP_FilaireVoies.zip"
MAP = {"LIB_OFF": "street", "NUM_VOI": "number", "SUF_VOI": "suffix", "CODE_VOIE": "street_code"}


def _points(register, n: int, rng):
    import geopandas as gpd

    base = register.geometry.iloc[rng.integers(0, len(register), n)]
    return gpd.GeoSeries(gpd.points_from_xy(base.x.to_numpy() + rng.normal(0, 15, n),
                                            base.y.to_numpy() + rng.normal(0, 15, n)), crs=register.crs)


def main() -> None:
    import geopandas as gpd
    import numpy as np

    from layers.geocode import build_index, reverse_geocode

    register = gpd.read_file(REGISTER).rename(columns=MAP)
    streets = gpd.read_file(STREETS).rename(columns={"CODE_VOIE": "street_code", "LIB_OFF": "street"})
    t = time.perf_counter()
    index = build_index(register, streets=streets)
    t_index = time.perf_counter() - t
    t = time.perf_counter()
    index.street_tree()
    t_tree = time.perf_counter() - t
    print(f"register {len(register):,} addresses, {len(streets):,} street arcs; index {t_index:.2f} s, "
          f"street tree {t_tree:.2f} s (both once per store version)")
    rng = np.random.default_rng(SEED)
    numbered = register[register["number"] > 0].reset_index(drop=True)
    # the index keeps the streets of the register (a street without any address is left out)
    known = set(register["street_code"].astype(str))
    lines = streets[streets["street_code"].astype(str).isin(known)]
    lines = lines.explode(index_parts=False).reset_index(drop=True)[["street", "geometry"]]
    for n in (2000, 10000):
        pts = _points(register, n, rng).to_crs(4326)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            out = reverse_geocode(pts, index)
            times.append(time.perf_counter() - t)
        t_vigie = min(times)
        metric = gpd.GeoDataFrame(geometry=pts.to_crs(register.crs).reset_index(drop=True))
        t = time.perf_counter()
        near = gpd.sjoin_nearest(metric, numbered[["geometry"]], max_distance=50, distance_col="d")
        near = near[~near.index.duplicated()]
        near_st = gpd.sjoin_nearest(metric, lines, max_distance=50, distance_col="d")
        near_st = near_st[~near_st.index.duplicated()]
        t_peer = time.perf_counter() - t
        peer_d = near["d"].reindex(range(n)).to_numpy()
        peer_st = near_st["d"].reindex(range(n)).to_numpy()
        has = out["number"].notna().to_numpy()
        same = np.isclose(out["distance"].to_numpy()[has], np.round(peer_d[has], 1), atol=0.051)
        missed = int((~has & np.isfinite(peer_d)).sum())
        same_st = np.isclose(np.nan_to_num(out["street_distance"].to_numpy(), nan=-1),
                             np.nan_to_num(np.round(peer_st, 1), nan=-1), atol=0.051)
        print(f"{n:,} points: Vigie {t_vigie * 1000:.0f} ms ({t_vigie / n * 1e6:.0f} µs a popup; best of 3: "
              f"{', '.join(f'{x * 1000:.0f}' for x in times)} ms); peer sjoin_nearest (address + street) "
              f"{t_peer * 1000:.0f} ms; ratio {t_peer / t_vigie:.1f}x")
        print(f"  nearest numbered address: {has.sum():,} named, same distance as the peer for {same.mean():.2%}; "
              f"{missed} within 50 m of a numbered address left unnamed (the 8 nearest were mid-street points); "
              f"nearest street: same distance for {same_st.mean():.2%}")
        assert same.all(), "Vigie's nearest address is not the nearest"


if __name__ == "__main__":
    main()
