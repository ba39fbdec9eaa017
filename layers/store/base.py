"""The store interface: what every backend (GeoPackage now, PostGIS later) provides.

A backend is selected by ``open_store(url)``: a file path (``…/store.gpkg``) gives the embedded
GeoPackage backend; a ``postgresql://`` URL is reserved for the PostGIS backend. Both must pass
the same test suite (``tests/store/``), written against this interface only.

Contract
--------
- Layers are stored in EPSG:4326; ``read`` returns GeoDataFrames in EPSG:4326 with the columns
  of the kind's ``LayerSpec`` plus ``fid`` (stable feature id within the store) and ``batch_id``.
  Incident ``occurred_from`` / ``occurred_to`` come back as ``datetime64[ns, UTC]``.
- ``import_batch`` is all-or-nothing: after an error, an exception or a killed process the
  store is exactly as it was, and readers in other processes keep reading the previous state
  during the write.
- Every import is a ``Batch`` (file name, checksum, user, time, counts, report), listed by
  ``batches`` and removed whole by ``rollback``.
- ``version`` changes with every write, whichever process or store object made it.
- Stored rows keep their ``fid``; an import gives its rows fids above every stored one
  (``read_after`` reads only those).
- ``grid_counts`` gives the incidents per cell of a ``layers.grid.make_grid`` grid, equal cell
  by cell to ``layers.hotspots.count_xy`` on the filtered incidents; a backend may compute it
  where the data is (PostGIS: in SQL) instead of reading the incidents.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import geopandas as gpd

from layers.filters import Filters

__all__ = ["Batch", "Store"]


@dataclass(frozen=True)
class Batch:
    """One import: where it came from, who made it, what it holds.

    ``report`` is the validation report as a list of ``{"row", "field", "message",
    "severity"}`` dicts (kept with the batch under ``--skip-invalid``).
    """

    id: str
    kind: str
    file_name: str
    checksum: str  # sha256 of the source file
    user: str
    created: str  # ISO 8601 UTC
    n_read: int
    n_stored: int
    n_rejected: int
    simulated: bool = False
    options: dict = field(default_factory=dict)
    report: list = field(default_factory=list)


class Store(abc.ABC):
    """Persistence of layers and import batches."""

    @abc.abstractmethod
    def read(
        self,
        kind: str,
        filters: Filters | None = None,
        *,
        columns: list[str] | None = None,
        tz: str = "Europe/Paris",
    ) -> gpd.GeoDataFrame:
        """Features of ``kind`` passing ``filters`` (EPSG:4326). ``tz`` is used for hour and
        weekday filters. An empty layer gives an empty frame with the kind's columns."""

    @abc.abstractmethod
    def count(self, kind: str, filters: Filters | None = None, *, tz: str = "Europe/Paris") -> int:
        """Number of features of ``kind`` passing ``filters``."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Feature count of every registered kind (0 for empty kinds)."""

    def migrate(self) -> list[str]:
        """Bring a store written by an older Vigie up to the registry: add the columns its
        layers lack, empty for the rows already stored. Returns the columns added
        (``kind.column``). Backends call it when the store is opened or first read."""
        return []

    @abc.abstractmethod
    def import_batch(self, kind: str, gdf: gpd.GeoDataFrame, batch: Batch, *, progress=None) -> Batch:
        """Append validated features as one batch, atomically. ``gdf`` must hold the kind's
        columns in EPSG:4326. ``progress`` is an optional callable(n_done, n_total)."""

    @abc.abstractmethod
    def batches(self, kind: str | None = None) -> list[Batch]:
        """All batches, oldest first (only those of ``kind`` if given)."""

    @abc.abstractmethod
    def rollback(self, batch_id: str) -> Batch:
        """Remove every feature of a batch and the batch itself, atomically. ``NotFound`` if
        there is no such batch."""

    @property
    @abc.abstractmethod
    def version(self) -> str:
        """A token that changes whenever the stored data changes (for caches)."""

    def batch(self, batch_id: str) -> Batch:
        """The batch ``batch_id``; ``NotFound`` listing the latest ids if there is none."""
        from layers.errors import NotFound

        all_batches = self.batches()
        for b in all_batches:
            if b.id == batch_id:
                return b
        latest = ", ".join(b.id for b in all_batches[-5:]) or "none"
        raise NotFound(f"There is no batch '{batch_id}' in the store (latest batches: {latest}).")

    def read_after(self, kind: str, fid: int, *, tz: str = "Europe/Paris") -> gpd.GeoDataFrame:
        """Features of ``kind`` whose ``fid`` is greater than ``fid``, ordered by ``fid``, with
        the columns of ``read``.

        An import appends rows with higher fids than every stored row (both backends keep the
        fids of stored rows), so a reader holding a layer up to ``fid`` can add what an import
        brought without reading the layer again. This default reads the whole layer; backends
        push the condition down.
        """
        gdf = self.read(kind, tz=tz)
        return gdf[gdf["fid"].to_numpy() > int(fid)].sort_values("fid").reset_index(drop=True)

    def grid_counts(
        self, grid: gpd.GeoDataFrame, filters: Filters | None = None, *, tz: str = "Europe/Paris"
    ) -> gpd.GeoDataFrame:
        """Incidents passing ``filters`` in each cell of ``grid``.

        Parameters
        ----------
        grid : GeoDataFrame
            Cells from ``layers.grid.make_grid``, in a metric CRS with an EPSG code.
        filters : Filters, optional
            As for ``read``.
        tz : str
            Time zone of the hour and weekday filters.

        Returns
        -------
        GeoDataFrame
            As ``layers.hotspots.count_xy``: a copy of ``grid`` with ``n`` (int64, incidents per
            cell) and ``attrs["vigie"]`` ``n_incidents`` (counted) / ``n_outside`` (passing the
            filters but outside every cell).

        Notes
        -----
        This default reads the filtered incidents, reprojects their coordinates with pyproj
        (as the web service's columns do) and counts them with ``count_xy``.
        """
        from pyproj import Transformer

        from layers.hotspots import count_xy

        pts = self.read("incidents", filters, columns=[], tz=tz)
        x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
        if len(pts):
            x, y = Transformer.from_crs(4326, grid.crs, always_xy=True).transform(x, y)
        return count_xy(x, y, grid)

    def warm(self, kinds=None) -> None:
        """Prepare the store for fast reads (a server calls it before its first request)."""

    def close(self) -> None:
        """Release the store's connections or files (the store may be used again after)."""
