"""Seeded generators of large inputs, shared by every benchmark (and by slow tests).

Everything here is deterministic for a given ``seed``: the same call gives the same frame or
file byte for byte, so Vigie and its peer library always run on the same input.

- ``clustered_incidents(n, *, seed, ...)``: a GeoDataFrame of incidents in EPSG:2154, points
  drawn around ``n_clusters`` Gaussian clusters (70 %) plus a uniform background (30 %) over a
  square of ``extent_m`` metres, categories from the default taxonomy, times spread uniformly
  over ``months`` months from ``start`` (UTC).
- ``write_incident_csv(path, n, seed)``: the same incidents as a CSV a council could send:
  ``lon``, ``lat`` (WGS84), ``date`` (ISO 8601, UTC ``Z``), ``category``, ``description``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["MONTPELLIER_ORIGIN", "clustered_incidents", "incident_frame", "write_incident_csv"]

#: south-west corner of the default generated extent, EPSG:2154 (Montpellier's centre area)
MONTPELLIER_ORIGIN = (760000.0, 6270000.0)


def _categories() -> np.ndarray:
    from layers.registry import default_taxonomy

    return np.array(default_taxonomy().codes, dtype=object)


def _coords(n, rng, *, extent_m, origin, n_clusters):
    x0, y0 = origin
    n_clustered = round(n * 0.7)
    centres = rng.uniform(0.1 * extent_m, 0.9 * extent_m, size=(n_clusters, 2))
    spread = rng.uniform(0.01 * extent_m, 0.05 * extent_m, size=n_clusters)
    which = rng.integers(0, n_clusters, size=n_clustered)
    xy_c = centres[which] + rng.normal(size=(n_clustered, 2)) * spread[which, None]
    xy_u = rng.uniform(0, extent_m, size=(n - n_clustered, 2))
    xy = np.vstack([xy_c, xy_u])
    xy = np.clip(xy, 0, extent_m)
    order = rng.permutation(n)
    return xy[order, 0] + x0, xy[order, 1] + y0


def incident_frame(
    n: int,
    *,
    seed: int,
    extent_m: float = 20000.0,
    origin: tuple[float, float] = MONTPELLIER_ORIGIN,
    n_clusters: int = 12,
    start: str = "2023-01-01",
    months: int = 24,
) -> pd.DataFrame:
    """Plain columns of ``clustered_incidents`` (``x``, ``y`` in EPSG:2154, no geometry)."""
    rng = np.random.default_rng(seed)
    x, y = _coords(n, rng, extent_m=extent_m, origin=origin, n_clusters=n_clusters)
    t0 = pd.Timestamp(start, tz="UTC")
    t1 = t0 + pd.DateOffset(months=months)
    span_s = int((t1 - t0).total_seconds())
    # whole minutes, like police extracts
    offsets = rng.integers(0, span_s // 60, size=n) * 60
    occurred = t0 + pd.to_timedelta(offsets, unit="s")
    cats = _categories()
    weights = np.linspace(2.0, 0.5, len(cats))
    weights /= weights.sum()
    category = cats[rng.choice(len(cats), size=n, p=weights)]
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "category": category,
            "occurred_from": pd.DatetimeIndex(occurred).as_unit("ns"),
            "description": np.char.add("generated incident ", (np.arange(n) % 1000).astype(str)).astype(object),
        }
    )


def clustered_incidents(
    n: int,
    *,
    seed: int,
    extent_m: float = 20000.0,
    origin: tuple[float, float] = MONTPELLIER_ORIGIN,
    n_clusters: int = 12,
    start: str = "2023-01-01",
    months: int = 24,
) -> gpd.GeoDataFrame:
    """``n`` clustered incidents in EPSG:2154 with the incident columns of the registry.

    Parameters
    ----------
    n : int
        Number of incidents.
    seed : int
        Seed of the random generator (same seed, same frame).
    extent_m : float
        Side of the square extent, metres (default 20 km).
    origin : (float, float)
        South-west corner of the extent in EPSG:2154 metres.
    n_clusters : int
        Number of Gaussian clusters holding 70 % of the points (standard deviation 1–5 % of
        the extent each); the other 30 % are uniform.
    start : str
        First day of the period (UTC).
    months : int
        Length of the period in months; times are uniform over it, whole minutes.

    Returns
    -------
    GeoDataFrame
        EPSG:2154 points with ``category`` (default taxonomy codes), ``source_label``,
        ``occurred_from`` (``datetime64[ns, UTC]``), ``occurred_to`` (NaT), ``description``,
        ``source``, ``address``, ``external_id``, ``simulated`` (True).
    """
    df = incident_frame(
        n, seed=seed, extent_m=extent_m, origin=origin, n_clusters=n_clusters, start=start, months=months
    )
    return gpd.GeoDataFrame(
        {
            "category": df["category"],
            "source_label": df["category"],
            "occurred_from": df["occurred_from"],
            "occurred_to": pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]"),
            "description": df["description"],
            "source": "bench",
            "address": None,
            "external_id": np.char.add("G", np.arange(n).astype(str)).astype(object),
            "simulated": True,
        },
        geometry=gpd.points_from_xy(df["x"], df["y"]),
        crs=2154,
    )


def write_incident_csv(path: str | Path, n: int, seed: int, **kwargs) -> Path:
    """Write ``n`` generated incidents as a CSV with ``lon``, ``lat``, ``date`` (ISO 8601 UTC),
    ``category`` and ``description`` columns; extra keyword arguments go to ``incident_frame``.
    Returns the path."""
    from pyproj import Transformer

    df = incident_frame(n, seed=seed, **kwargs)
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(df["x"].to_numpy(), df["y"].to_numpy())
    out = pd.DataFrame(
        {
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "date": df["occurred_from"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "category": df["category"],
            "description": df["description"],
        }
    )
    path = Path(path)
    out.to_csv(path, index=False)
    return path
