"""OGC API – Features for Vigie without Flask: parameters, CQL2 filters, collections, items
paging and the documents (landing, conformance, queryables, OpenAPI). ``geo_app.views.ogc``
is the web shell over it."""

from geo_app.ogc.collections import COLLECTIONS, Collection, collections_for, get_collection
from geo_app.ogc.cql import filter_mask, parse_filter
from geo_app.ogc.documents import CONFORMANCE
from geo_app.ogc.features import Query

__all__ = ["COLLECTIONS", "CONFORMANCE", "Collection", "Query", "collections_for", "filter_mask",
           "get_collection", "parse_filter"]
