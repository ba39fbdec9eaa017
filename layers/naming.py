"""Human names of places from the street network: "Rue de la Loge, between Place de la Comédie
and Rue Jacques Cœur", "around Place Jean-Jaurès".

The functions return the *parts* of a name as codes and street names (``kind`` plus ``street``,
``from``, ``to``), never a sentence: the words "between", "around"… belong to the web service's
one catalogue (``geo_app.i18n.place_name`` turns the parts into French or English).

=============  ======================================================================
kind           parts and meaning
=============  ======================================================================
``between``    ``street`` between the cross streets ``from`` and ``to``
``near``       ``street`` near its cross street ``from`` (the other end is a dead end)
``along``      ``street`` alone (no named cross street)
``around``     ``street`` is a square (place, rond-point…) the place gathers around
``address``    ``street`` is an address of the register ("12 Rue de la Loge") a small place is
               around (``address_name``)
``intersection``  the corner where ``street`` meets ``from`` (and ``to``, a third street);
               ``street`` alone: a fork of one street
``unnamed``    no street within reach
=============  ======================================================================
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.checks import check_columns, check_metric
from layers.errors import InputError
from layers.streets import SNAP_M, network

__all__ = ["SQUARE_TYPES", "Namer", "address_name", "segment_names", "area_name", "intersection_name"]

#: street types (``type`` column, the French centreline codes) that are squares or junctions
#: a place can be "around"
SQUARE_TYPES = frozenset({"PL", "PLA", "PLACE", "RDPT", "CAR", "CARREFOUR", "PARV", "ESPA", "SQ"})


def _is_square(name: str, typ) -> bool:
    if isinstance(typ, str) and typ.strip().upper() in SQUARE_TYPES:
        return True
    return name.split(" ", 1)[0].lower() in ("place", "rond-point", "carrefour", "parvis", "square")


def _names(streets) -> np.ndarray:
    check_columns(streets, ["name"], "streets", hint="map the street name column onto 'name'")
    return streets["name"].fillna("").astype(str).str.strip().to_numpy()


def _cross_street(node: int, street: str, node_streets: dict, lengths: dict) -> str | None:
    """The most prominent other street at ``node``: the one with most length in the network."""
    others = {s for s in node_streets.get(node, ()) if s and s != street}
    if not others:
        return None
    return max(sorted(others), key=lambda s: lengths.get(s, 0.0))


def _between(street, end_nodes, node_streets, lengths) -> dict:
    cross = []
    for node in end_nodes:
        c = _cross_street(int(node), street, node_streets, lengths)
        if c and c not in cross:
            cross.append(c)
    if len(cross) >= 2:
        a, b = sorted(cross[:2])
        return {"kind": "between", "street": street, "from": a, "to": b}
    if cross:
        return {"kind": "near", "street": street, "from": cross[0], "to": None}
    return {"kind": "along", "street": street, "from": None, "to": None}


class Namer:
    """The street network prepared once for naming many places (``segment_names`` and
    ``area_name`` build one per call).

    Parameters
    ----------
    streets : GeoDataFrame
        LineStrings in a metric CRS with ``name`` and optionally ``type``.
    snap_m : float, default 0.5
        Ends closer than this meet (``layers.streets.network``).
    """

    def __init__(self, streets: gpd.GeoDataFrame, *, snap_m: float = SNAP_M):
        check_metric(streets, "streets")
        self.names = _names(streets)
        self.types = (streets["type"].to_numpy() if "type" in streets
                      else np.array([None] * len(streets), dtype=object))
        self.geoms = np.asarray(streets.geometry.values)
        self.tree = shapely.STRtree(self.geoms)
        net = network(streets, snap_m=snap_m)
        self.a = net["from_node"].to_numpy()
        self.b = net["to_node"].to_numpy()
        self.node_streets: dict[int, set] = {}
        for a, b, s in zip(self.a, self.b, self.names):
            self.node_streets.setdefault(int(a), set()).add(s)
            self.node_streets.setdefault(int(b), set()).add(s)
        self.lengths: Counter = Counter()
        for s, length in zip(self.names, net["length_m"].to_numpy()):
            self.lengths[s] += float(length)

    def segments(self) -> list[dict]:
        out = []
        for s, t, a, b in zip(self.names, self.types, self.a, self.b):
            if not s:
                out.append(dict(_UNNAMED))
            elif _is_square(s, t):
                out.append({"kind": "around", "street": s, "from": None, "to": None})
            else:
                out.append(_between(s, (a, b), self.node_streets, self.lengths))
        return out

    def area(self, area, *, weights=None, square_share: float = 0.25) -> dict:
        if area is None or shapely.is_empty(area):
            raise InputError("The area to name is empty.")
        names, geoms = self.names, self.geoms
        hit = self.tree.query(area, predicate="intersects")
        if len(hit) == 0:
            near = self.tree.query_nearest(area, max_distance=200)
            if len(near) == 0:
                return dict(_UNNAMED)
            hit = near[:1]
        inside = shapely.length(shapely.intersection(geoms[hit], area))
        if weights is None:
            score_seg = inside if (inside > 0).any() else np.ones(len(hit))
        else:
            w = np.asarray(weights, dtype=float)
            # a little length breaks ties between streets without incidents
            score_seg = w[hit] + 1e-6 * inside
        score: Counter = Counter()
        for i, sc in zip(hit, score_seg):
            if names[i]:
                score[names[i]] += float(sc)
        if not score:
            return dict(_UNNAMED)
        ranked = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))
        top, top_score = ranked[0]
        type_of = {names[i]: self.types[i] for i in hit}
        for s, sc in ranked[:3]:
            if _is_square(s, type_of.get(s)) and sc >= square_share * top_score:
                return {"kind": "around", "street": s, "from": None, "to": None}
        # the top street's part in the area: the ends of its chain (nodes met once)
        mine = [i for i in hit if names[i] == top]
        ends: Counter = Counter()
        pts = {}
        for i in mine:
            ends[int(self.a[i])] += 1
            ends[int(self.b[i])] += 1
            pts[int(self.a[i])] = shapely.get_point(geoms[i], 0)
            pts[int(self.b[i])] = shapely.get_point(geoms[i], -1)
        end_nodes = [node for node, k in ends.items() if k == 1] or list(ends)
        if len(end_nodes) > 2:
            # several pieces: the two ends furthest apart
            end_nodes = list(max(((p, q) for p in end_nodes for q in end_nodes if p < q),
                                 key=lambda pq: shapely.distance(pts[pq[0]], pts[pq[1]])))
        return _between(top, end_nodes, self.node_streets, self.lengths)


_UNNAMED = {"kind": "unnamed", "street": None, "from": None, "to": None}


def intersection_name(streets) -> dict:
    """The name parts of an intersection from the streets meeting there.

    Parameters
    ----------
    streets : sequence of str
        The street names meeting at the node, most prominent first (``layers.streets.
        intersections`` orders them by their length in the network).

    Returns
    -------
    dict
        ``kind`` ``intersection`` with ``street``, ``from`` and ``to`` the first three names
        (``from``/``to`` None when fewer streets meet: a fork of one street); ``unnamed``
        without names. ``geo_app.i18n.place_name`` reads it "Intersection of Rue A and Rue B".

    Examples
    --------
    >>> intersection_name(["Rue Foch", "Rue de la Loge"])["from"]
    'Rue de la Loge'
    """
    named = [str(s) for s in streets if s]
    if not named:
        return dict(_UNNAMED)
    return {"kind": "intersection", "street": named[0], "from": named[1] if len(named) > 1 else None,
            "to": named[2] if len(named) > 2 else None}


def segment_names(streets: gpd.GeoDataFrame, *, snap_m: float = SNAP_M) -> list[dict]:
    """The name parts of every segment, in the order of ``streets``.

    Parameters
    ----------
    streets : GeoDataFrame
        The street network (LineStrings, metric CRS) with a ``name`` column and, optionally,
        ``type`` (RUE, PL…).
    snap_m : float, default 0.5
        Ends closer than this meet (``layers.streets.network``).

    Returns
    -------
    list of dict
        ``kind`` (``between``, ``near``, ``along``, ``around``), ``street``, ``from``, ``to``.
        A segment of a square is ``around`` the square; otherwise the cross streets at its two
        ends (at each end, the other street with the most length in the network; the two
        sorted alphabetically so that a name does not depend on the digitising direction).
    """
    return Namer(streets, snap_m=snap_m).segments()


def area_name(area, streets: gpd.GeoDataFrame, *, weights=None, snap_m: float = SNAP_M,
              square_share: float = 0.25) -> dict:
    """The name parts of an area (a hotspot area, a drawn polygon) from the streets in it.

    Parameters
    ----------
    area : shapely geometry
        The area, in the streets' metric CRS.
    streets : GeoDataFrame
        The street network (``segment_names``).
    weights : str or array-like, optional
        A column of ``streets`` or one value per segment (e.g. incidents per segment, ``n`` of
        ``layers.streets.segment_counts``): streets are ranked by the weight of their segments
        touching the area. Default: their length inside the area.
    square_share : float, default 0.25
        A square among the three top streets whose score is at least this share of the top
        street's names the area ("around Place Jean-Jaurès"): squares are where people meet
        and give directions.

    Returns
    -------
    dict
        ``kind``, ``street``, ``from``, ``to`` as in ``segment_names``; for ``between``, the
        cross streets at the two ends of the top street's part inside the area. Nothing within
        200 m: ``unnamed``.
    """
    if isinstance(weights, str):
        weights = streets[weights].to_numpy(float)
    return Namer(streets, snap_m=snap_m).area(area, weights=weights, square_share=square_share)


def address_name(area, index, *, crs, max_extent: float = 80.0, max_distance: float = 30.0) -> dict | None:
    """The name parts of a small area from the address register: "around 12 Rue de la Loge".

    A premise, a shop front or a corner drawn as a place is better told by its address than by
    the street section it sits on. Only areas whose bounding box is at most ``max_extent``
    metres across are named so; larger ones are ``None`` (name them with ``area_name``).

    Parameters
    ----------
    area : shapely geometry
        The area, in ``crs``.
    index : layers.geocode.AddressIndex
        The register (``layers.geocode.build_index``).
    crs : CRS-like
        The CRS of ``area`` (metric or not: the test of size is done in the index's metric CRS).
    max_extent : float, default 80
        Metres: the longest side of the area's bounding box for an address to name it.
    max_distance : float, default 30
        Metres from the area's centre (its ``point_on_surface``) to the nearest numbered
        address; farther, ``None``.

    Returns
    -------
    dict or None
        ``{"kind": "address", "street": "12 Rue de la Loge", "from": None, "to": None}`` (the
        ``label`` of ``layers.geocode.reverse_geocode``), or ``None`` when the area is too large,
        empty, or no numbered address is within reach.
    """
    from layers.geocode import reverse_geocode

    if area is None or shapely.is_empty(area):
        return None
    metric = gpd.GeoSeries([area], crs=crs).to_crs(index.crs).iloc[0]
    minx, miny, maxx, maxy = metric.bounds
    if max(maxx - minx, maxy - miny) > max_extent:
        return None
    near = reverse_geocode(gpd.GeoSeries([shapely.point_on_surface(metric)], crs=index.crs), index,
                           max_distance=max_distance).iloc[0]
    if not isinstance(near["label"], str) or pd.isna(near["number"]):
        return None
    return {"kind": "address", "street": near["label"], "from": None, "to": None}
