"""The collections Vigie serves through OGC API – Features, and what each role may read.

One declarative table (``COLLECTIONS``): each entry names where its features come from
(a stored layer kind, the incident points, the incidents' suppressed lattice, the hotspot areas,
the proposals, the places followed or their actions), its feature-id column and its temporal property. Every read goes through the
request's ``geo_app.access.Viewer``, so the role rules of the pages hold here too; a collection
a role may not read is absent from the list and unknown (404) to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.errors import NotFound, VigieError
from layers.filters import Filters
from layers.registry import LAYERS

__all__ = ["COLLECTIONS", "Collection", "collections_for", "get_collection", "queryable_types"]


@dataclass(frozen=True)
class Collection:
    """One OGC collection.

    ``source``: ``layer`` (the stored kind ``kind``), ``incidents`` (points, cut to the role),
    ``grid`` (incident counts per cell, suppressed for aggregate-only roles), ``hotspots``
    (hotspot areas), ``proposals``, ``places`` (places followed) or ``actions`` (the actions on
    them, located at their place); ``id_column``: the property whose value is the feature id;
    ``temporal``: the property ``datetime`` filters on (None: ``datetime`` is ignored).
    """

    id: str
    title: str
    description: str
    source: str
    kind: str | None = None
    id_column: str = "fid"
    temporal: str | None = None

    def readable(self, viewer) -> bool:
        if self.source == "layer":
            return viewer.can("map")
        if self.source == "incidents":
            return viewer.sees_points
        if self.source == "grid":
            return viewer.can("points")
        if self.source in ("places", "actions"):
            return viewer.can("review.read")
        return viewer.can("hotspots")

    @property
    def geometry_type(self) -> str:
        if self.source in ("layer", "incidents"):
            types = LAYERS[self.kind].geometry_types
            return "point" if "Point" in types else "line" if "LineString" in types else "polygon"
        return "polygon" if self.source in ("grid", "hotspots", "places", "actions") else "point"


def _layer(kind: str) -> Collection:
    spec = LAYERS[kind]
    return Collection(kind, spec.label_en, f"{spec.label_en} ({spec.label_fr}), as stored.", "layer", kind)


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("incidents", "Incidents",
               "Recorded incidents as points, cut to the categories and ZACs your role may see as points.",
               "incidents", "incidents", temporal="occurred_from"),
    Collection("incidents_grid", "Incidents per cell",
               "Incident counts per grid cell; for roles that see aggregates only, cells under the "
               "deployment's k are left out.", "grid", "incidents", id_column="cell"),
    Collection("hotspots", "Hotspot areas",
               "Hotspot areas (adjacent significant Gi* hot cells merged, stable hotspot_id) with their "
               "review status, for the default filters.", "hotspots", id_column="hotspot_id"),
    Collection("proposals", "Proposals",
               "Situational-prevention proposals (lighting, CCTV) for the default filters.",
               "proposals", id_column="proposal"),
    Collection("places", "Places followed",
               "Places the partners follow (from a hotspot area, a street segment or a drawn polygon) "
               "with their owner, start date and review status.", "places", id_column="place_id",
               temporal=None),
    Collection("actions", "Actions",
               "Actions taken on the places followed (kind, Clarke technique, dates, partner, cost, "
               "status), drawn at their place.", "actions", id_column="id"),
    *(_layer(k) for k in LAYERS if k != "incidents"),
)}


def collections_for(viewer) -> list[Collection]:
    """The collections the viewer's account may read, in the table's order."""
    return [c for c in COLLECTIONS.values() if c.readable(viewer)]


def get_collection(viewer, cid: str) -> Collection:
    """The collection ``cid``; ``NotFound`` when unknown or not readable by the account."""
    c = COLLECTIONS.get(cid)
    if c is None or not c.readable(viewer):
        raise NotFound(f"no collection '{cid}' (see /ogc/collections for yours).")
    return c


def _with_id(gdf: gpd.GeoDataFrame, column: str) -> gpd.GeoDataFrame:
    if column in gdf.columns:
        return gdf
    out = gdf.reset_index(drop=True)
    out[column] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out


def analysis_frame(c: Collection, viewer) -> gpd.GeoDataFrame:
    """Features of an analysis collection (grid, hotspots, proposals) for the account; empty
    when the analysis cannot run on the stored data (too few incidents)."""
    try:
        if c.source == "grid":
            gdf = viewer.grid("incidents", None, bbox=viewer.extent())
        elif c.source == "hotspots":
            gdf = viewer.hotspot_areas(None)
        elif c.source == "places":
            gdf = viewer.places_table()
        elif c.source == "actions":
            gdf = viewer.actions_table()
        else:
            gdf = viewer.proposals(None)
    except VigieError as e:
        if e.status >= 500 or e.status in (401, 403):
            raise
        gdf = gpd.GeoDataFrame({c.id_column: pd.Series([], dtype="int64")}, geometry=[], crs=4326)
    gdf = gdf.to_crs(4326) if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") else gdf
    return _with_id(gdf, c.id_column)


def read(c: Collection, viewer, pick, *, bbox=None, period=None):
    """``pick(frame, rows) -> (page, matched, ...)`` over the collection's features for the account
    (``Viewer.select`` for stored layers: incidents audited); ``bbox`` (lon/lat) and ``period``
    (UTC start, end) are pushed into the store's filters where they apply, else left to ``pick``."""
    if c.source in ("layer", "incidents"):
        start, end = period if (period and c.temporal) else (None, None)
        return viewer.select(c.kind, Filters(bbox=bbox, start=start, end=end), pick)
    return pick(analysis_frame(c, viewer))


_JSON_TYPES = {"str": ("string", None), "datetime": ("string", "date-time"), "date": ("string", "date"),
               "bool": ("boolean", None), "float": ("number", None), "int": ("integer", None)}


def _dtype_type(dtype) -> tuple[str, str | None]:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean", None
    if pd.api.types.is_integer_dtype(dtype):
        return "integer", None
    if pd.api.types.is_float_dtype(dtype):
        return "number", None
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "string", "date-time"
    return "string", None


def queryable_types(c: Collection, viewer) -> dict[str, tuple[str, str | None]]:
    """Property name -> (JSON type, format) of the collection's features."""
    if c.source in ("layer", "incidents"):
        spec = LAYERS[c.kind]
        return {col.name: _JSON_TYPES.get(col.type, ("string", None)) for col in spec.columns}
    gdf = analysis_frame(c, viewer)
    return {name: _dtype_type(gdf[name].dtype) for name in gdf.columns
            if name != gdf.geometry.name and not name.startswith("_")}
