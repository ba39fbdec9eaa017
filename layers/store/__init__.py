"""Persistence of layers behind one small interface (see ``layers.store.base``)."""

from __future__ import annotations

from pathlib import Path

from layers.store.base import Batch, Store

__all__ = ["Batch", "Store", "open_store"]


def open_store(url: str | Path) -> Store:
    """Open the store at ``url``: a GeoPackage path (``layers.store.gpkg``), or a
    ``postgresql://user@host:port/dbname`` URL (``layers.store.postgis``).

    Raises ``StoreError`` with what to do when the store cannot be opened.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        from layers.store.postgis import PostGISStore

        return PostGISStore(text)
    from layers.store.gpkg import GeoPackageStore

    return GeoPackageStore(Path(text))
