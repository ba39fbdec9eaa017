"""Persistence of layers behind one small interface (see ``layers.store.base``)."""

from __future__ import annotations

from pathlib import Path

from layers.store.base import Batch, Store

__all__ = ["Batch", "Store", "open_store", "redact_url"]


def open_store(url: str | Path, *, pool_size: int | None = None) -> Store:
    """Open the store at ``url``: a GeoPackage path (``layers.store.gpkg``), or a
    ``postgresql://user@host:port/dbname`` URL (``layers.store.postgis``; ``pool_size``: at
    most that many connections per process, ``postgis.DEFAULT_POOL_SIZE`` if None).

    Raises ``StoreError`` with what to do when the store cannot be opened.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        from layers.store.postgis import PostGISStore

        return PostGISStore(text, pool_size=pool_size)
    from layers.store.gpkg import GeoPackageStore

    return GeoPackageStore(Path(text))


def redact_url(url: str | Path) -> str:
    """``url`` fit to print: a PostgreSQL URL without its password, a path as it is."""
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(text)
        if parts.password is not None:
            host = parts.netloc.rsplit("@", 1)[-1]
            parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
        query = "&".join("password=***" if q.lower().startswith("password=") else q
                         for q in parts.query.split("&")) if parts.query else ""
        return urlunsplit(parts._replace(query=query))
    return text
