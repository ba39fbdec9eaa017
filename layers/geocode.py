"""Offline geocoding against the deployment's address register, forward and reverse.

The register is the ``addresses`` layer (BAN CSV of the département or the commune's own
register): points with ``number``, ``suffix``, ``street``, ``street_code``, ``postcode``,
``commune``. ``build_index`` reads it once into an ``AddressIndex`` (metric coordinates, one
entry per street, a dictionary of houses, the numbers of each street by parity); ``geocode`` and
``reverse_geocode`` then answer many queries without touching the frame again. No outside
service is called: police networks are often closed.

Precisions (stable codes, ``PRECISIONS``):

=============  ==============================================================================
``house``      the street matched with a score >= ``house_threshold`` and the number (with its
               suffix) is in the register: the register's own point
``interpolated`` the number is not in the register but lies between two known numbers of the
               same parity on that street (at most ``max_gap`` apart and ``max_span`` metres):
               a point between them in proportion to the number; a missing ``bis`` / ``ter``
               of a known number is placed at that number
``street``     street only (no number typed, a number outside the known ones, or a street score
               between ``threshold`` and ``house_threshold``): the middle of the street
``intersection`` "angle A et B", "A / B", "carrefour A B", "A x B": the node the two streets
               share in the street network when one is given, else the middle of the closest
               pair of their addresses (at most ``max_corner`` metres apart)
``not_found``  no street scores ``threshold`` or more, two different streets score too close to
               tell apart (``margin``), or the streets of an intersection do not meet
=============  ==============================================================================

Matching: the typed street is normalised like the register (``layers.address_text``); an exact
name, then the name without its articles ("rue loge"), then the name without its type when none
was typed, then a fuzzy match (``rapidfuzz.fuzz.ratio`` on the normalised names, 0-100) are
tried in that order. A wrong house is never given: a fuzzy match below ``house_threshold`` gives
the street at best, and a typed postcode or commune that the register knows restricts the
streets.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

from layers.address_text import (
    ParsedAddress,
    normalize,
    normalize_suffix,
    parse_address,
    street_key,
    street_type,
)
from layers.errors import InputError, ParameterError

__all__ = [
    "GEOCODE_COLUMNS",
    "PRECISIONS",
    "REVERSE_COLUMNS",
    "AddressIndex",
    "GeocodeParams",
    "build_index",
    "geocode",
    "reverse_geocode",
]

PRECISIONS = ("house", "interpolated", "street", "intersection", "not_found")

#: columns of ``geocode``'s answer, in order (plus ``geometry``)
GEOCODE_COLUMNS = ("query", "precision", "score", "label", "number", "suffix", "street", "street_code",
                   "postcode", "commune", "note")
#: columns of ``reverse_geocode``'s answer, in order (plus ``geometry``: the input points)
REVERSE_COLUMNS = ("label", "number", "suffix", "street", "street_code", "postcode", "commune", "distance",
                   "street_distance")


@dataclass(frozen=True)
class GeocodeParams:
    """Tuning of ``geocode`` (scores are 0-100, distances metres).

    Attributes
    ----------
    threshold : float
        Lowest street score accepted at all (below: ``not_found``). Default 80.
    house_threshold : float
        Lowest street score at which a number is placed at a house or interpolated (below:
        ``street``). Default 90.
    margin : float
        A second, different street scoring within ``margin`` of the best makes the query
        ambiguous (``not_found``). Default 4.
    max_gap : int
        Largest difference between the two known numbers an interpolation uses. Default 40.
    max_span : float
        Largest distance between those two numbers' points. Default 400 m.
    max_corner : float
        Without a street network, the closest addresses of the two streets of an intersection
        must be at most this far apart. Default 80 m.
    """

    threshold: float = 80.0
    house_threshold: float = 90.0
    margin: float = 4.0
    max_gap: int = 40
    max_span: float = 400.0
    max_corner: float = 80.0

    def __post_init__(self):
        if not 0 <= self.threshold <= 100:
            raise ParameterError(f"threshold must be between 0 and 100, got {self.threshold}.", "threshold")
        if not self.threshold <= self.house_threshold <= 100:
            raise ParameterError(
                f"house_threshold must be between threshold ({self.threshold}) and 100, got "
                f"{self.house_threshold}.", "house_threshold")
        for name in ("margin", "max_gap", "max_span", "max_corner"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be positive, got {getattr(self, name)}.", name)


@dataclass
class _Street:
    name: str  # as the register writes it
    full: str  # normalised
    code: str
    commune: str  # normalised
    commune_name: str  # as the register writes it
    postcodes: frozenset
    rows: np.ndarray  # points of this street in the index
    middle: tuple[float, float]


@dataclass
class AddressIndex:
    """The register prepared for lookups (built by ``build_index``; do not mutate).

    Coordinates ``x``, ``y`` are in ``crs`` (metric). ``streets`` holds one entry per street
    (street code, or normalised name, within a commune).
    """

    crs: CRS
    x: np.ndarray
    y: np.ndarray
    number: np.ndarray
    suffix: np.ndarray
    street_of: np.ndarray
    streets: list[_Street]
    houses: dict
    by_parity: dict
    by_full: dict
    by_key: dict
    by_bare: dict
    communes: tuple[str, ...]
    choices: list[str]
    network: dict | None = None
    tree: cKDTree = field(default=None, repr=False)
    _street_tree: tuple | None = field(default=None, repr=False, compare=False)

    def street_tree(self) -> tuple[shapely.STRtree, np.ndarray] | None:
        """The street lines' ``STRtree`` and the street id of each line; built on first use and
        kept, so that many reverse lookups share it. ``None`` without a street network."""
        if not self.network:
            return None
        if self._street_tree is None:
            # one entry per line piece, not per street: a street's union spans a large
            # envelope, which would make every nearest query visit most streets
            lines, sids = [], []
            for sid, (parts, *_rest) in self.network.items():
                pieces = shapely.get_parts(np.asarray(parts, dtype=object))
                lines.extend(pieces)
                sids.extend([sid] * len(pieces))
            self._street_tree = (shapely.STRtree(np.asarray(lines, dtype=object)), np.array(sids, dtype=np.int64))
        return self._street_tree

    def __len__(self) -> int:
        return len(self.x)


# ------------------------------------------------------------------------------------------
# index


def _check_register(addresses: gpd.GeoDataFrame) -> None:
    if not isinstance(addresses, gpd.GeoDataFrame):
        raise InputError("The address register must be a GeoDataFrame (the 'addresses' layer).")
    if len(addresses) == 0:
        raise InputError(
            "The address register is empty: import one as the 'addresses' layer, e.g. the BAN file of "
            "the département (https://adresse.data.gouv.fr/data/ban/adresses/latest/csv/, "
            "geo-app import addresses adresses-34.csv).")
    if addresses.crs is None:
        raise InputError("The address register has no CRS: Vigie never guesses one; set it first.")
    if "street" not in addresses.columns:
        raise InputError("The address register lacks the column 'street' (the street name).")
    types = set(addresses.geometry.geom_type.dropna())
    if types - {"Point"}:
        raise InputError(f"The address register must hold points, not {', '.join(sorted(types - {'Point'}))}.")


def _text_column(gdf, name: str) -> pd.Series:
    if name not in gdf.columns:
        return pd.Series([""] * len(gdf), index=gdf.index, dtype=object)
    s = gdf[name].astype(object).where(gdf[name].notna(), "")
    return s.map(lambda v: "" if v is None else str(v).strip())


def _metric_crs(gdf: gpd.GeoDataFrame, crs) -> CRS:
    if crs is not None:
        return CRS.from_user_input(crs)
    if gdf.crs.is_projected:
        return gdf.crs
    return gdf.estimate_utm_crs()


def _network(streets: gpd.GeoDataFrame | None, crs: CRS, key_of) -> dict | None:
    """Street network: street id -> (lines, set of rounded end nodes), from a ``streets`` layer."""
    if streets is None or len(streets) == 0:
        return None
    if streets.crs is None:
        raise InputError("The street network has no CRS: Vigie never guesses one; set it first.")
    lines = streets.to_crs(crs)
    code = next((c for c in ("street_code", "code", "CODE_VOIE") if c in lines.columns), None)
    name = next((c for c in ("street", "name", "LIB_OFF") if c in lines.columns), None)
    if code is None and name is None:
        raise InputError("The street network needs a street code (street_code) or a name (street) column.")
    out: dict[int, tuple[list, set]] = {}
    codes = _text_column(lines, code) if code else None
    names = _text_column(lines, name) if name else None
    for i, geom in enumerate(lines.geometry.to_numpy()):
        if geom is None or geom.is_empty:
            continue
        sid = key_of(codes.iloc[i] if codes is not None else "", names.iloc[i] if names is not None else "")
        if sid is None:
            continue
        parts, nodes = out.setdefault(sid, ([], set()))
        for line in getattr(geom, "geoms", [geom]):
            parts.append(line)
            c = np.asarray(line.coords)
            for px, py in (c[0][:2], c[-1][:2]):
                nodes.add((round(float(px), 1), round(float(py), 1)))
    return out


def _middle_of(rows, x, y, number, lines) -> tuple[float, float]:
    """The middle of a street: its line at half length, else the register's number 0 (a
    fictitious address at mid-street), else the address nearest the median of its points."""
    if lines:
        merged = shapely.line_merge(shapely.union_all(lines))
        longest = max(getattr(merged, "geoms", [merged]), key=lambda g: g.length)
        p = longest.interpolate(0.5, normalized=True)
        return float(p.x), float(p.y)
    zero = rows[number[rows] == 0]
    if len(zero):
        return float(x[zero[0]]), float(y[zero[0]])
    mx, my = np.median(x[rows]), np.median(y[rows])
    k = rows[np.argmin((x[rows] - mx) ** 2 + (y[rows] - my) ** 2)]
    return float(x[k]), float(y[k])


def build_index(addresses: gpd.GeoDataFrame, *, streets: gpd.GeoDataFrame | None = None, crs=None) -> AddressIndex:
    """Prepare the register for ``geocode`` and ``reverse_geocode`` (once; reuse the index).

    Parameters
    ----------
    addresses : GeoDataFrame
        Points with the columns of the ``addresses`` layer kind: ``street`` (required),
        ``number`` (0 or empty: no number; a point at mid-street), ``suffix``, ``street_code``,
        ``postcode``, ``commune``. Any CRS.
    streets : GeoDataFrame, optional
        The street network (lines with ``street_code`` or ``street``/``name``): used for
        intersections and for the middle of a street.
    crs : optional
        The metric CRS to work in (default: the register's if projected, else its UTM zone).

    Returns
    -------
    AddressIndex
    """
    _check_register(addresses)
    crs = _metric_crs(addresses, crs)
    pts = addresses.to_crs(crs).geometry
    keep = (~(pts.isna() | pts.is_empty)).to_numpy().copy()
    street_names = _text_column(addresses, "street").to_numpy()
    keep &= street_names != ""
    pts = pts[keep]
    x = np.asarray(shapely.get_x(pts.to_numpy()), dtype=float)
    y = np.asarray(shapely.get_y(pts.to_numpy()), dtype=float)
    if "number" in addresses.columns:
        number = pd.to_numeric(addresses["number"], errors="coerce").fillna(0).to_numpy()[keep].astype(np.int64)
    else:
        number = np.zeros(len(x), dtype=np.int64)
    suffix = np.array([normalize_suffix(v) for v in _text_column(addresses, "suffix").to_numpy()[keep]], dtype=object)
    names = street_names[keep]
    codes = _text_column(addresses, "street_code").to_numpy()[keep]
    commune_names = _text_column(addresses, "commune").to_numpy()[keep]
    communes = np.array([normalize(v) for v in commune_names], dtype=object)
    postcodes = _text_column(addresses, "postcode").to_numpy()[keep]

    # one street per (code or normalised name, commune)
    full_of = {n: normalize(n) for n in set(names)}
    fulls = np.array([full_of[n] for n in names], dtype=object)
    ident = np.where(codes != "", codes, fulls)
    keys = pd.MultiIndex.from_arrays([ident, communes])
    street_of, uniques = pd.factorize(keys)
    street_of = street_of.astype(np.int64)
    order = np.argsort(street_of, kind="stable")
    bounds = np.searchsorted(street_of[order], np.arange(len(uniques) + 1))

    by_code = {}
    for sid, (code_or_name, commune) in enumerate(uniques):
        by_code.setdefault(code_or_name, []).append(sid)

    def key_of(code: str, name: str):
        ids = by_code.get(code) if code else None
        if not ids and name:
            ids = by_code.get(normalize(name))
        return ids[0] if ids and len(ids) == 1 else None

    network = _network(streets, crs, key_of)
    street_list: list[_Street] = []
    houses: dict = {}
    by_parity: dict = {}
    for sid in range(len(uniques)):
        rows = order[bounds[sid]:bounds[sid + 1]]
        first = rows[0]
        lines = network.get(sid, ([], set()))[0] if network else None
        street_list.append(_Street(
            name=str(names[first]), full=fulls[first], code=str(codes[first]), commune=communes[first],
            commune_name=str(commune_names[first]),
            postcodes=frozenset(p for p in postcodes[rows] if p), rows=rows,
            middle=_middle_of(rows, x, y, number, lines)))
        numbered = rows[number[rows] > 0]
        for r in numbered:
            houses.setdefault((sid, int(number[r]), suffix[r]), int(r))
        for parity in (0, 1):
            sel = numbered[number[numbered] % 2 == parity]
            if len(sel):
                # one point per number (its plain form if any), sorted by number
                plain = sel[np.lexsort((suffix[sel] != "", number[sel]))]
                nums, first_idx = np.unique(number[plain], return_index=True)
                by_parity[(sid, parity)] = (nums, plain[first_idx])

    by_full, by_key, by_bare = {}, {}, {}
    for sid, s in enumerate(street_list):
        by_full.setdefault(s.full, []).append(sid)
        by_key.setdefault(street_key(s.full), []).append(sid)
        t = street_type(s.full)
        if t:
            by_bare.setdefault(s.full[len(t) + 1:], []).append(sid)
    return AddressIndex(
        crs=crs, x=x, y=y, number=number, suffix=suffix, street_of=street_of, streets=street_list,
        houses=houses, by_parity=by_parity, by_full=by_full, by_key=by_key, by_bare=by_bare,
        communes=tuple(sorted({c for c in communes if c})), choices=[s.full for s in street_list],
        network=network, tree=cKDTree(np.column_stack([x, y])) if len(x) else None,
    )


# ------------------------------------------------------------------------------------------
# forward


@dataclass
class _Answer:
    precision: str = "not_found"
    score: float = 0.0
    x: float = np.nan
    y: float = np.nan
    street: int | None = None
    number: int | None = None
    suffix: str = ""
    label: str = ""
    note: str = ""


def _restrict(index: AddressIndex, ids, parsed: ParsedAddress):
    """Streets of ``ids`` in the typed commune / postcode, when the register knows them."""
    if parsed.commune and parsed.commune in index.communes:
        ids = [i for i in ids if index.streets[i].commune == parsed.commune]
    if parsed.postcode:
        known = [i for i in ids if index.streets[i].postcodes]
        if known:
            ids = [i for i in ids if not index.streets[i].postcodes or parsed.postcode in index.streets[i].postcodes]
    return ids


def _exact(index: AddressIndex, street: str, parsed: ParsedAddress) -> tuple[list[int], float]:
    for table, score, key in ((index.by_full, 100.0, street), (index.by_key, 98.0, street_key(street))):
        ids = _restrict(index, table.get(key, []), parsed)
        if ids:
            return ids, score
    if not street_type(street):  # "foch 12": the name without its type
        ids = _restrict(index, index.by_bare.get(street, []), parsed)
        if ids:
            return ids, 95.0
    return [], 0.0


def _fuzzy(index: AddressIndex, streets: list[str], params: GeocodeParams) -> list[tuple[list[int], float, str]]:
    """Best street(s) of each name by ``fuzz.ratio``: ``(ids within margin, best score, note)``."""
    out = []
    if not streets:
        return out
    cutoff = max(params.threshold - params.margin, 0)
    for start in range(0, len(streets), 2000):
        chunk = streets[start:start + 2000]
        scores = process.cdist(chunk, index.choices, scorer=fuzz.ratio, score_cutoff=cutoff, workers=1,
                               dtype=np.float32)
        for row in scores:
            best = float(row.max()) if len(row) else 0.0
            if best < params.threshold:
                out.append(([], best, ""))
                continue
            near = np.flatnonzero(row >= best - params.margin)
            near = sorted(near.tolist(), key=lambda i: -row[i])
            out.append((near, best, ""))
    return out


def _pick(index: AddressIndex, ids: list[int], score: float, parsed: ParsedAddress) -> tuple[int | None, str]:
    """One street among candidates, or ``None`` with the reason (ambiguous)."""
    ids = _restrict(index, ids, parsed) if ids else ids
    if not ids:
        return None, "no street of that name in the register" if score == 0 else (
            f"no street close enough (best score {score:.0f})")
    if len(ids) == 1:
        return ids[0], ""
    names = sorted({f"{index.streets[i].name} ({index.streets[i].commune_name})" if index.streets[i].commune
                    else index.streets[i].name for i in ids})
    return None, "ambiguous: " + " or ".join(names[:4]) + ("; add the postcode or commune" if len(set(
        index.streets[i].commune for i in ids)) > 1 else "")


def _street_label(index: AddressIndex, sid: int) -> str:
    return index.streets[sid].name


def _place_number(index: AddressIndex, sid: int, number: int, suffix: str, score: float,
                  params: GeocodeParams) -> _Answer:
    s = index.streets[sid]
    mx, my = s.middle
    middle = _Answer("street", score, mx, my, sid, label=s.name)
    if number is None or number <= 0:
        return middle
    typed = f"{number}{' ' + suffix if suffix else ''}"
    if score < params.house_threshold:
        middle.note = f"street score {score:.0f} below {params.house_threshold:.0f}: number {typed} not placed"
        return middle
    r = index.houses.get((sid, number, suffix))
    if r is not None:
        return _Answer("house", score, index.x[r], index.y[r], sid, number, suffix, f"{typed} {s.name}")
    if suffix and (sid, number, "") in index.houses:
        r = index.houses[(sid, number, "")]
        return _Answer("interpolated", score, index.x[r], index.y[r], sid, number, suffix, f"{typed} {s.name}",
                       f"{typed} is not in the register: placed at {number}")
    table = index.by_parity.get((sid, number % 2))
    if table is not None:
        nums, rows = table
        k = int(np.searchsorted(nums, number))
        if k < len(nums) and nums[k] == number:  # only other suffixes of this number exist
            r = rows[k]
            return _Answer("interpolated", score, index.x[r], index.y[r], sid, number, suffix,
                           f"{typed} {s.name}", f"{typed} is not in the register: placed at a suffixed {number}")
        if 0 < k < len(nums):
            lo, hi = int(nums[k - 1]), int(nums[k])
            a, b = rows[k - 1], rows[k]
            span = float(np.hypot(index.x[b] - index.x[a], index.y[b] - index.y[a]))
            if hi - lo <= params.max_gap and span <= params.max_span:
                t = (number - lo) / (hi - lo)
                return _Answer("interpolated", score, index.x[a] + t * (index.x[b] - index.x[a]),
                               index.y[a] + t * (index.y[b] - index.y[a]), sid, number, suffix,
                               f"{typed} {s.name}", f"between {lo} and {hi}")
    middle.note = f"number {typed} is not in the register: middle of the street"
    return middle


def _corner(index: AddressIndex, a: int, b: int, params: GeocodeParams) -> tuple[float, float, str] | None:
    """The point where streets ``a`` and ``b`` meet, or ``None``."""
    net = index.network
    if net and a in net and b in net:
        shared = sorted(net[a][1] & net[b][1])
        if shared:
            if len(shared) > 1:  # streets meeting twice: the node nearest both middles
                ma, mb = index.streets[a].middle, index.streets[b].middle
                cx, cy = (ma[0] + mb[0]) / 2, (ma[1] + mb[1]) / 2
                shared.sort(key=lambda p: (p[0] - cx) ** 2 + (p[1] - cy) ** 2)
            return shared[0][0], shared[0][1], "street network node"
        la, lb = shapely.union_all(net[a][0]), shapely.union_all(net[b][0])
        if la.distance(lb) <= params.max_corner:
            p, q = shapely.shortest_line(la, lb).coords
            return (p[0] + q[0]) / 2, (p[1] + q[1]) / 2, "closest points of the two streets"
        return None
    ra, rb = index.streets[a].rows, index.streets[b].rows
    ra, rb = ra[index.number[ra] > 0], rb[index.number[rb] > 0]
    if not len(ra) or not len(rb):
        return None
    d, j = cKDTree(np.column_stack([index.x[rb], index.y[rb]])).query(np.column_stack([index.x[ra], index.y[ra]]))
    i = int(np.argmin(d))
    if d[i] > params.max_corner:
        return None
    p, q = ra[i], rb[int(j[i])]
    return ((index.x[p] + index.x[q]) / 2, (index.y[p] + index.y[q]) / 2,
            "closest addresses of the two streets (no street network)")


def _resolve(index: AddressIndex, parsed: ParsedAddress, match: dict, params: GeocodeParams) -> _Answer:
    if parsed.is_intersection:
        picked = []
        for name in parsed.streets:
            ids, score = match[name]
            sid, why = _pick(index, ids, score, parsed)
            if sid is None:
                return _Answer(score=score, note=f"'{name}': {why}")
            picked.append((sid, score))
        (a, sa), (b, sb) = picked
        score = min(sa, sb)
        if a == b:
            return _Answer(score=score, note="the two streets of the intersection are the same street")
        where = _corner(index, a, b, params)
        label = f"{index.streets[a].name} / {index.streets[b].name}"
        if where is None:
            return _Answer(score=score, label=label, note="the two streets do not meet")
        return _Answer("intersection", score, where[0], where[1], a, label=label, note=where[2])
    if not parsed.street:
        return _Answer(note="no street name")
    ids, score = match[parsed.street]
    sid, why = _pick(index, ids, score, parsed)
    if sid is None:
        return _Answer(score=score, note=why)
    return _place_number(index, sid, parsed.number, parsed.suffix, score, params)


def _match_all(index: AddressIndex, parsed: list[ParsedAddress], params: GeocodeParams) -> dict:
    """Typed street name -> (candidate street ids, score), exact first, then fuzzy in one batch."""
    match: dict[str, tuple[list[int], float]] = {}
    todo = []
    for p in parsed:
        for name in (p.streets if p.is_intersection else (p.street,) if p.street else ()):
            if name in match:
                continue
            ids, score = _exact(index, name, p)
            match[name] = (ids, score)
            if not ids:
                todo.append(name)
    todo = list(dict.fromkeys(todo))
    for name, (ids, score, _note) in zip(todo, _fuzzy(index, todo, params)):
        match[name] = (ids, score)
    return match


def _prefer_alt(index: AddressIndex, parsed: ParsedAddress) -> ParsedAddress:
    """A street named after the commune ("Allée des Hauts de Montpellier") keeps its last words."""
    if parsed.street_alt and (parsed.street_alt in index.by_full or street_key(parsed.street_alt) in index.by_key):
        return replace(parsed, street=parsed.street_alt, commune=None, street_alt="")
    return parsed


def geocode(queries, index: AddressIndex, *, params: GeocodeParams | None = None) -> gpd.GeoDataFrame:
    """Place typed addresses on the register.

    Parameters
    ----------
    queries : sequence of str (or Series)
        Addresses as typed: ``"12 bis av. de Toulouse"``, ``"RUE DE LA LOGE 4"``,
        ``"angle rue Foch / rue Saint-Guilhem"``; empty or missing values are ``not_found``.
    index : AddressIndex
        From ``build_index``.
    params : GeocodeParams, optional
        Thresholds and distances (defaults documented there).

    Returns
    -------
    GeoDataFrame
        One row per query, in order, in EPSG:4326, with ``GEOCODE_COLUMNS``: ``query`` (as given),
        ``precision`` (one of ``PRECISIONS``), ``score`` (street-name score 0-100; for an
        intersection the lower of the two), ``label`` (the address as the register writes it),
        ``number`` (Int64), ``suffix``, ``street``, ``street_code``, ``postcode`` (the typed one
        when the street has several), ``commune``, ``note`` (why a query fell back or was not
        found); ``geometry`` is empty for ``not_found``.

    Notes
    -----
    Identical queries are solved once. A fuzzy street match scores with
    ``rapidfuzz.fuzz.ratio`` (normalised Indel similarity) on the normalised names.

    Examples
    --------
    >>> out = geocode(["12 bis av. de Toulouse"], index)  # doctest: +SKIP
    >>> out.loc[0, "precision"]  # doctest: +SKIP
    'house'
    """
    params = params or GeocodeParams()
    if not isinstance(index, AddressIndex):
        raise ParameterError("index must be an AddressIndex (layers.geocode.build_index).", "index")
    texts = ["" if q is None or (isinstance(q, float) and np.isnan(q)) else str(q) for q in queries]
    unique = list(dict.fromkeys(texts))
    parsed = [_prefer_alt(index, parse_address(t, index.communes)) for t in unique]
    match = _match_all(index, parsed, params)
    answers = {t: (_resolve(index, p, match, params) if t.strip() else _Answer(note="empty address"))
               for t, p in zip(unique, parsed)}
    rows = [answers[t] for t in texts]
    n = len(rows)
    sid = [a.street for a in rows]
    streets = [index.streets[s] if s is not None else None for s in sid]
    parsed_of = dict(zip(unique, parsed))

    def postcode(s, t):
        if s is None or not s.postcodes:
            return None
        typed = parsed_of[t].postcode
        return typed if typed in s.postcodes else ",".join(sorted(s.postcodes))

    frame = pd.DataFrame({
        "query": pd.Series([q if q is not None else None for q in queries] if n else [], dtype=object),
        "precision": [a.precision for a in rows],
        "score": np.array([round(a.score, 1) for a in rows], dtype=float),
        "label": [a.label or None for a in rows],
        "number": pd.array([a.number if a.precision in ("house", "interpolated") else None for a in rows],
                           dtype="Int64"),
        "suffix": [a.suffix if a.precision in ("house", "interpolated") and a.suffix else None for a in rows],
        "street": [s.name if s is not None and a.precision != "not_found" else None for a, s in zip(rows, streets)],
        "street_code": [s.code or None if s is not None and a.precision != "not_found" else None
                        for a, s in zip(rows, streets)],
        "postcode": [postcode(s, t) if a.precision != "not_found" else None for a, s, t in zip(rows, streets, texts)],
        "commune": [s.commune_name or None if s is not None and a.precision != "not_found" else None
                    for a, s in zip(rows, streets)],
        "note": [a.note or None for a in rows],
    })
    xs = np.array([a.x for a in rows], dtype=float)
    ys = np.array([a.y for a in rows], dtype=float)
    found = np.isfinite(xs) & np.isfinite(ys)
    geoms = np.full(n, None, dtype=object)
    if found.any():
        geoms[found] = shapely.points(xs[found], ys[found])
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=index.crs), crs=index.crs)
    return out.to_crs(4326)


# ------------------------------------------------------------------------------------------
# reverse


def reverse_geocode(points, index: AddressIndex, *, max_distance: float = 50.0) -> gpd.GeoDataFrame:
    """The nearest register address and street of each point, within ``max_distance`` metres.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        Points in any CRS (incidents, a clicked position).
    index : AddressIndex
        From ``build_index``.
    max_distance : float
        Metres; farther addresses and streets are not given (``None``). Default 50.

    Returns
    -------
    GeoDataFrame
        One row per point, in order, with ``REVERSE_COLUMNS``: the nearest address's ``label``
        ("12 bis Avenue de Toulouse"), ``number`` (Int64), ``suffix``, ``street``, ``street_code``,
        ``postcode``, ``commune``, ``distance`` (metres to that address, NaN when none is within
        reach), ``street_distance`` (metres to the nearest street: its line when the index has a
        street network, else its nearest address); ``geometry`` is the input points (EPSG:4326).
    """
    if not isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise ParameterError("points must be a GeoDataFrame or a GeoSeries.", "points")
    if points.crs is None:
        raise InputError("The points have no CRS: Vigie never guesses one; set it first.")
    if max_distance <= 0:
        raise ParameterError(f"max_distance must be positive, got {max_distance}.", "max_distance")
    geom = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    metric = geom.to_crs(index.crs).to_numpy()
    n = len(metric)
    ok = ~(shapely.is_missing(metric) | shapely.is_empty(metric))
    px = np.where(ok, shapely.get_x(np.where(ok, metric, None)), np.nan)
    py = np.where(ok, shapely.get_y(np.where(ok, metric, None)), np.nan)
    # a point the register's CRS cannot represent (a pole, the antimeridian): nothing within reach
    ok &= np.isfinite(px) & np.isfinite(py)
    dist = np.full(n, np.inf)
    near = np.full(n, -1, dtype=np.int64)
    if index.tree is not None and ok.any():
        numbered = index.number > 0
        d, j = index.tree.query(np.column_stack([px[ok], py[ok]]), k=min(8, len(index.x)),
                                distance_upper_bound=max_distance)
        d, j = np.atleast_2d(d), np.atleast_2d(j)
        # prefer a real house number over the register's fictitious mid-street points
        valid = np.isfinite(d)
        jj = np.where(valid, j, 0)
        d_house = np.where(valid & numbered[jj], d, np.inf)
        pick = np.argmin(d_house, axis=1)
        best = d_house[np.arange(len(pick)), pick]
        fallback = ~np.isfinite(best)
        best[fallback] = d[fallback, 0]
        pick[fallback] = 0
        dist[ok] = best
        near[ok] = np.where(np.isfinite(best), j[np.arange(len(pick)), pick], -1)
    street_id = np.where(near >= 0, index.street_of[np.maximum(near, 0)], -1)
    street_dist = np.where(near >= 0, dist, np.inf)
    lines = index.street_tree()
    if lines is not None:
        tree, sids = lines
        src = np.flatnonzero(ok)
        if len(src):
            pts = shapely.points(px[src], py[src])
            (qi, li), dd = tree.query_nearest(pts, max_distance=max_distance, return_distance=True, all_matches=False)
            street_id[src[qi]] = sids[li]
            street_dist[src[qi]] = dd
    has = near >= 0
    streets = [index.streets[s] if s >= 0 else None for s in street_id]
    number = np.where(has, index.number[np.maximum(near, 0)], 0)
    suffix = [index.suffix[k] if k >= 0 else "" for k in near]
    near_street = [index.streets[index.street_of[k]] if k >= 0 else None for k in near]
    labels = []
    for k, num, suf, s in zip(near, number, suffix, near_street):
        if k < 0:
            labels.append(None)
        elif num > 0:
            labels.append(f"{num}{' ' + suf if suf else ''} {s.name}")
        else:
            labels.append(s.name)
    frame = pd.DataFrame({
        "label": labels,
        "number": pd.array([int(v) if h and v > 0 else None for v, h in zip(number, has)], dtype="Int64"),
        "suffix": [s or None if h else None for s, h in zip(suffix, has)],
        "street": [s.name if s is not None else None for s in streets],
        "street_code": [s.code or None if s is not None else None for s in streets],
        "postcode": [",".join(sorted(s.postcodes)) or None if s is not None else None for s in streets],
        "commune": [s.commune_name or None if s is not None else None for s in streets],
        "distance": np.where(has, np.round(dist, 1), np.nan),
        "street_distance": np.where(np.isfinite(street_dist), np.round(street_dist, 1), np.nan),
    })
    return gpd.GeoDataFrame(frame, geometry=geom.to_crs(4326).reset_index(drop=True), crs=4326)
