"""Persistence of layers behind one small interface (see ``layers.store.base``)."""

from __future__ import annotations

from pathlib import Path

from layers.errors import StoreError
from layers.store.base import Batch, Store

__all__ = ["Batch", "Store", "open_store"]


def open_store(url: str | Path) -> Store:
    """Open the store at ``url``: a GeoPackage path, or (later) a ``postgresql://`` URL."""
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        raise StoreError(
            "The PostGIS backend is not available yet; use a GeoPackage path for the store."
        )
    from layers.store.gpkg import GeoPackageStore

    return GeoPackageStore(Path(text))
