"""Row-level checks of imported layers, with a report of what was rejected and why.

Every check works on whole columns (NumPy masks, vectorised Shapely) and builds a
``RowProblem`` only for the rows that fail, so validating a million rows costs a few seconds.
The checks are called by ``layers.io.read_layer``; they can also be used on their own through a
``ProblemLog``.

Severity
--------
- ``error``: the row is rejected (kept out of ``ReadResult.data``).
- ``warning``: the row is kept, possibly changed (a polygon repaired by ``make_valid``, an
  optional date that could not be read left empty), or dropped as an exact duplicate of an
  earlier row (the first copy is kept). Identical incident rows without an identifier are kept
  with a warning naming both rows, unless the caller asks to drop them
  (``report_identical_rows``).

Coordinates
-----------
Files that declare no CRS (GeoJSON without a ``crs`` member, CSV) are read as WGS84 lon/lat, the
GeoJSON default. Vigie never guesses another CRS silently: when most coordinates of such a file
look projected, ``check_crs_trap`` raises ``InputError`` naming the CRS to pass (``--crs 2154``
when the values fall in the Lambert-93 range x 100,000..1,300,000 m, y 6,000,000..7,200,000 m);
single rows that look projected are rejected with the same hint.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from layers.errors import InputError, RowProblem

__all__ = [
    "LIMITS",
    "ProblemLog",
    "ReadLimits",
    "check_crs_trap",
    "check_dates",
    "check_degrees_in_projected",
    "check_geometries",
    "check_lonlat",
    "check_required",
    "check_territory",
    "flag_exact_duplicates",
    "report_identical_rows",
    "guess_projected_crs",
    "limits_in_force",
    "looks_projected",
    "read_limits",
]

#: Lambert-93 range used to guess ``--crs 2154`` (metres)
_L93_X = (100_000.0, 1_300_000.0)
_L93_Y = (6_000_000.0, 7_200_000.0)
#: how many rows a file-level message quotes as examples
_EXAMPLES = 5

Message = str | Callable[[int], str]


class ProblemLog:
    """Problems found in a layer of ``n`` rows, with the masks of rejected and dropped rows.

    Parameters
    ----------
    rows : array of int
        The 1-based source row number of each row (what the messages quote).

    Attributes
    ----------
    bad : ndarray of bool
        Rows with at least one error (rejected).
    drop : ndarray of bool
        Rows dropped with a warning (exact duplicates).
    problems : list of RowProblem
        File-level problems first, then row problems in the order the checks ran.
    """

    def __init__(self, rows):
        self.rows = np.asarray(rows, dtype=np.int64)
        self.bad = np.zeros(len(self.rows), dtype=bool)
        self.drop = np.zeros(len(self.rows), dtype=bool)
        self.problems: list[RowProblem] = []

    def __len__(self) -> int:
        return len(self.rows)

    def _add(self, mask, field: str | None, message: Message, severity: str) -> np.ndarray:
        mask = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(mask)
        for i in idx:
            text = message(int(i)) if callable(message) else message
            self.problems.append(RowProblem(int(self.rows[i]), field, text, severity))
        return idx

    def error(self, mask, field: str | None, message: Message, *, only_good: bool = True) -> None:
        """Reject the rows of ``mask`` with ``message`` (a string or ``f(i) -> str``).

        With ``only_good`` (default) rows already rejected by an earlier check are not reported
        again, so each row's first problem is the one a user sees for that field family.
        """
        mask = np.asarray(mask, dtype=bool)
        if only_good:
            mask = mask & ~self.bad
        self._add(mask, field, message, "error")
        self.bad |= mask

    def warning(self, mask, field: str | None, message: Message) -> None:
        """Keep the rows of ``mask`` but record a warning."""
        self._add(np.asarray(mask, dtype=bool) & ~self.bad, field, message, "warning")

    def file_warning(self, message: str, field: str | None = None) -> None:
        self.problems.append(RowProblem(None, field, message, "warning"))

    @property
    def keep(self) -> np.ndarray:
        return ~(self.bad | self.drop)

    def sorted_problems(self) -> list[RowProblem]:
        """Problems ordered by row (file-level ones first), stable within a row."""
        return sorted(self.problems, key=lambda p: -1 if p.row is None else p.row)


# --------------------------------------------------------------------------------------------
# coordinates


def looks_projected(x, y) -> np.ndarray:
    """Mask of coordinates that cannot be lon/lat degrees and are not merely swapped.

    A pair is "projected-looking" when ``|x| > 180`` or ``|y| > 180`` (so swapping would not
    help either). Finite values only.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & np.isfinite(y) & ((np.abs(x) > 180) | (np.abs(y) > 180))


def guess_projected_crs(x, y) -> int | None:
    """EPSG code that projected-looking coordinates probably use, or ``None``.

    Only Lambert-93 (EPSG:2154) is guessed: most coordinates within x 100,000..1,300,000 m and
    y 6,000,000..7,200,000 m.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) == 0:
        return None
    with np.errstate(invalid="ignore"):
        inside = (x >= _L93_X[0]) & (x <= _L93_X[1]) & (y >= _L93_Y[0]) & (y <= _L93_Y[1])
    return 2154 if inside.mean() > 0.5 else None


def _projected_hint(epsg: int | None) -> str:
    if epsg == 2154:
        return "look like projected metres (Lambert-93?): pass --crs 2154"
    return "look like projected coordinates, not lon/lat degrees: pass the file's CRS with --crs EPSG"


def check_crs_trap(x, y, *, source: str, declared: str = "no CRS") -> None:
    """Raise ``InputError`` when most coordinates of a file read as WGS84 look projected.

    Parameters
    ----------
    x, y : array of float
        Coordinates as read (one pair per row; for polygons a vertex or bounds corner per row).
        NaN rows (missing geometry) are ignored.
    source : str
        The file name, quoted in the message.
    declared : str
        What the file declares (``"no CRS"``, ``"EPSG:4326"``), quoted in the message.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return
    proj = looks_projected(x, y)
    if proj.sum() > 0.5 * finite.sum():
        epsg = guess_projected_crs(x[proj], y[proj])
        i = int(np.flatnonzero(proj)[0])
        raise InputError(
            f"{source}: the coordinates (e.g. {x[i]:.10g}, {y[i]:.10g}) {_projected_hint(epsg)}. "
            f"The file declares {declared}, so they were read as WGS84 longitude/latitude, "
            f"but {int(proj.sum())} of {int(finite.sum())} rows are outside ±180°."
        )


def check_degrees_in_projected(x, y, *, source: str, declared: str) -> None:
    """Raise ``InputError`` when a file declaring a projected CRS holds lon/lat degrees.

    Triggered when most rows have ``|x| <= 180`` and ``|y| <= 90`` (a few hundred metres from
    the projection's false origin, which no real layer is): the ``.prj`` or ``crs`` member is
    wrong; the message says to pass ``--crs 4326``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return
    with np.errstate(invalid="ignore"):
        deg = finite & (np.abs(x) <= 180) & (np.abs(y) <= 90) & ~((x == 0) & (y == 0))
    if deg.sum() > 0.5 * finite.sum():
        i = int(np.flatnonzero(deg)[0])
        raise InputError(
            f"{source} declares {declared} (projected, metres or feet), but its coordinates "
            f"(e.g. {x[i]:.6g}, {y[i]:.6g}) look like longitude/latitude degrees: if they are, "
            "pass --crs 4326."
        )


def check_lonlat(log: ProblemLog, x, y, *, fields=("x", "y"), territory=None) -> None:
    """Checks on coordinates that should be lon/lat degrees (file declares or implies WGS84).

    Rejects, with the row number: projected-looking values (naming the CRS to pass), swapped
    latitude/longitude (a latitude beyond ±90° whose longitude is within ±90°, or a point outside
    ``territory`` that falls inside once swapped), values out of range and null island (0, 0).
    Rows whose coordinates are NaN are left to the missing-geometry check.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    fx, fy = fields
    both = f"{fx}/{fy}" if fx != fy else fx
    with np.errstate(invalid="ignore"):
        proj = looks_projected(x, y)
        if proj.any():
            epsg = guess_projected_crs(x[proj], y[proj])
            hint = _projected_hint(epsg)
            log.error(proj, both, lambda i: f"coordinates ({x[i]:.1f}, {y[i]:.1f}) {hint}")
        swapped = (np.abs(y) > 90) & (np.abs(x) <= 90)
        log.error(
            swapped,
            both,
            lambda i: f"latitude {y[i]:.6g} is beyond ±90° but longitude {x[i]:.6g} would be a valid "
            "latitude: longitude and latitude look swapped (swap the columns, e.g. --map x=… y=…)",
        )
        if territory is not None:
            minx, miny, maxx, maxy = territory
            out = ~((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
            back = (y >= minx) & (y <= maxx) & (x >= miny) & (x <= maxy)
            log.error(
                out & back & np.isfinite(x),
                both,
                lambda i: f"point ({x[i]:.6g}, {y[i]:.6g}) is outside the territory but falls inside "
                "it once swapped: longitude and latitude look swapped",
            )
        rng = (np.abs(x) > 180) | (np.abs(y) > 90)
        log.error(rng, both, lambda i: f"coordinates ({x[i]:.6g}, {y[i]:.6g}) are not valid lon/lat degrees")
        null = (x == 0) & (y == 0)
        log.error(null, both, "point at (0, 0) ('null island'): the coordinates are missing or zero")


def check_territory(log: ProblemLog, minx, miny, maxx, maxy, *, territory, field="geometry") -> None:
    """Reject rows whose extent (lon/lat, a point is its own extent) lies outside ``territory``.

    A point must be inside the territory bbox (edges included); a polygon must intersect it.
    Without a territory only valid lon/lat ranges are checked.
    """
    minx, miny, maxx, maxy = (np.asarray(a, dtype=float) for a in (minx, miny, maxx, maxy))
    finite = np.isfinite(minx) & np.isfinite(miny) & np.isfinite(maxx) & np.isfinite(maxy)
    with np.errstate(invalid="ignore"):
        bad_range = finite & ((minx < -180) | (maxx > 180) | (miny < -90) | (maxy > 90))
    log.error(bad_range, field, lambda i: f"coordinates ({minx[i]:.6g}, {miny[i]:.6g}) are not valid lon/lat degrees after reprojection")
    if territory is None:
        return
    tx0, ty0, tx1, ty1 = territory
    with np.errstate(invalid="ignore"):
        outside = finite & ((maxx < tx0) | (minx > tx1) | (maxy < ty0) | (miny > ty1))
    box = f"({tx0:g}, {ty0:g}, {tx1:g}, {ty1:g})"
    log.error(
        outside,
        field,
        lambda i: f"lon/lat ({minx[i]:.6f}, {miny[i]:.6f}) is outside the territory {box}",
    )


# --------------------------------------------------------------------------------------------
# geometry


def check_geometries(log: ProblemLog, geoms, spec) -> np.ndarray:
    """Check geometry presence and type for the layer kind; repair polygons.

    Parameters
    ----------
    geoms : array of shapely geometries (or None)
    spec : LayerSpec

    Returns
    -------
    ndarray of geometries
        Z dropped, single-part MultiPoints turned into Points, invalid polygons repaired with
        ``shapely.make_valid`` (a warning per repaired row); rejected rows are left as they were.
    """
    g = shapely.force_2d(np.asarray(geoms, dtype=object))
    missing = shapely.is_missing(g)
    log.error(missing, "geometry", "missing geometry")
    empty = ~missing & shapely.is_empty(g)
    log.error(empty, "geometry", "empty geometry")
    present = ~missing & ~empty
    types = np.array(shapely.get_type_id(g))
    # single-part MultiPoint -> Point (shapefiles and KML often write one-point MultiPoints)
    if spec.is_point:
        mp = present & (types == 4) & (shapely.get_num_geometries(g) == 1)
        if mp.any():
            g[mp] = shapely.get_geometry(g[mp], 0)
            types[mp] = 0
        ok_types = {0}
    elif spec.is_line:
        # single-part MultiLineString -> LineString (shapefiles write lines as either)
        ml = present & (types == 5) & (shapely.get_num_geometries(g) == 1)
        if ml.any():
            g[ml] = shapely.get_geometry(g[ml], 0)
            types[ml] = 1
        ok_types = {1}
    else:
        ok_types = {3, 6}
    names = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
             5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
    wrong = present & ~np.isin(types, list(ok_types))
    if wrong.any():
        counts = Counter(names.get(int(t), str(t)) for t in types[present])
        mixed = len(counts) > 1
        expected = " or ".join(spec.geometry_types)
        note = (
            " (the file mixes geometry types: "
            + ", ".join(f"{k} {v}" for k, v in counts.most_common())
            + ")"
            if mixed
            else ""
        )
        log.error(
            wrong,
            "geometry",
            lambda i: f"geometry is a {names.get(int(types[i]), types[i])}, expected {expected} "
            f"for layer kind '{spec.name}'{note}",
        )
    if not spec.is_point and not spec.is_line:
        poly = present & ~log.bad
        # counted before any validity check: make_valid on a million vertices takes minutes
        nv = shapely.get_num_coordinates(g)
        max_vertices = read_limits().max_vertices
        big = poly & (nv > max_vertices)
        log.error(big, "geometry", lambda i: f"geometry of {int(nv[i]):,} vertices, more than the "
                  f"{max_vertices:,} allowed per geometry (setting max_vertices): simplify it first "
                  "(QGIS: Vector > Geometry > Simplify)")
        poly &= ~big
        invalid = np.zeros(len(g), dtype=bool)
        invalid[poly] = ~shapely.is_valid(g[poly])  # never on the rows refused above
        if invalid.any():
            idx = np.flatnonzero(invalid)
            reasons = shapely.is_valid_reason(g[idx])
            fixed = shapely.make_valid(g[idx])
            ok = np.zeros(len(idx), dtype=bool)
            for k, geom in enumerate(fixed):
                polys = _polygonal_part(geom)
                if polys is not None:
                    fixed[k] = polys
                    ok[k] = True
            rep = np.zeros(len(g), dtype=bool)
            rep[idx[ok]] = True
            unrep = np.zeros(len(g), dtype=bool)
            unrep[idx[~ok]] = True
            why = dict(zip(idx, reasons))
            log.warning(rep, "geometry", lambda i: f"invalid polygon ({why[i]}) repaired with make_valid")
            log.error(unrep, "geometry", lambda i: f"invalid polygon ({why[i]}) could not be repaired")
            g[idx[ok]] = fixed[ok]
    return g


def _polygonal_part(geom):
    """The (Multi)Polygon part of a repaired geometry, or None when nothing areal is left."""
    if geom is None or geom.is_empty:
        return None
    t = geom.geom_type
    if t in ("Polygon", "MultiPolygon"):
        return geom
    if t == "GeometryCollection":
        parts = [p for p in geom.geoms if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
        if not parts:
            return None
        u = shapely.union_all(parts)
        return u if u.geom_type in ("Polygon", "MultiPolygon") and not u.is_empty else None
    return None


# --------------------------------------------------------------------------------------------
# attributes


def check_required(log: ProblemLog, present: dict[str, np.ndarray], spec) -> None:
    """Reject rows where a required field, or every field of ``spec.one_of``, is empty.

    ``present`` maps a field name to a boolean mask of rows where the source value is not empty.
    """
    for name in spec.required:
        if name in present:
            log.error(~present[name], name, f"required field '{name}' is empty", only_good=False)
    if spec.one_of:
        masks = [present[f] for f in spec.one_of if f in present]
        anyv = np.logical_or.reduce(masks) if masks else np.zeros(len(log), dtype=bool)
        log.error(
            ~anyv,
            "/".join(spec.one_of),
            f"at least one of the fields {', '.join(spec.one_of)} must be filled",
            only_good=False,
        )


def check_dates(log: ProblemLog, start: pd.Series, end: pd.Series | None, *, now=None,
                start_field="occurred_from", end_field="occurred_to") -> None:
    """Reject impossible dates: a start in the future or before 1900, an end before the start.

    ``start`` and ``end`` are tz-aware (UTC) series; NaT values are skipped (unparseable and
    missing values are reported by the parser and by ``check_required``).
    """
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    s = start.to_numpy(dtype="datetime64[ns]") if start.dt.tz is None else start.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    nat = np.isnat(s)
    nowv = np.datetime64(now.tz_convert("UTC").tz_localize(None).as_unit("ns"))
    future = ~nat & (s > nowv)
    log.error(future, start_field, lambda i: f"date {pd.Timestamp(s[i]).isoformat()}Z is in the future", only_good=False)
    old = ~nat & (s < np.datetime64("1900-01-01"))
    log.error(old, start_field, lambda i: f"date {pd.Timestamp(s[i]).date()} is before 1900: not a plausible date", only_good=False)
    if end is not None:
        e = end.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        before = ~nat & ~np.isnat(e) & (e < s)
        log.error(
            before,
            end_field,
            lambda i: f"the end ({pd.Timestamp(e[i]).isoformat()}Z) is before the start "
            f"({pd.Timestamp(s[i]).isoformat()}Z)",
            only_good=False,
        )


@dataclass(frozen=True)
class ReadLimits:
    """What an import accepts before reading or validating anything (a bomb is refused by its
    declared size, never by running out of memory on it).

    ``layers.io.read_layer`` takes them from its ``Settings`` (``max_uncompressed_mb``,
    ``max_features``, ``max_vertices``: deployment settings) and puts them in force for the
    duration of the call (``limits_in_force``); the readers and ``check_geometries`` read them
    with ``read_limits()``. The defaults are those of ``Settings``.
    """

    #: uncompressed size of a zip archive's members, bytes (setting ``max_uncompressed_mb``)
    max_uncompressed_bytes: int = 1024 * 2**20
    #: features (records) a file may declare or hold (setting ``max_features``)
    max_features: int = 2_000_000
    #: vertices of one geometry (setting ``max_vertices``)
    max_vertices: int = 100_000

    @classmethod
    def from_settings(cls, settings) -> ReadLimits:
        """The limits of a deployment's ``layers.settings.Settings``."""
        return cls(max_uncompressed_bytes=int(round(float(settings.max_uncompressed_mb) * 2**20)),
                   max_features=int(settings.max_features), max_vertices=int(settings.max_vertices))


#: the default limits (``Settings()``'s)
LIMITS = ReadLimits()

_IN_FORCE: ContextVar[ReadLimits | None] = ContextVar("vigie_read_limits", default=None)


def read_limits() -> ReadLimits:
    """The limits in force: those of the ``read_layer`` call running in this thread, else
    ``LIMITS``."""
    return _IN_FORCE.get() or LIMITS


@contextmanager
def limits_in_force(limits: ReadLimits):
    """Put ``limits`` in force for the calls made inside the ``with`` block (this thread or
    task only; restored on exit)."""
    token = _IN_FORCE.set(limits)
    try:
        yield limits
    finally:
        _IN_FORCE.reset(token)


def _first_copies(log: ProblemLog, frame: pd.DataFrame, eligible: np.ndarray,
                  place: pd.DataFrame | None) -> tuple[np.ndarray, dict[int, int]]:
    """Rows of ``eligible`` identical to an earlier eligible row in every column of ``frame``.

    Returns the mask of the later copies and, for each, the source row number of the first copy.
    """
    eligible = eligible.copy()
    if place is not None and eligible.any():
        # cheap pre-filter: only rows sharing their location with another row can be duplicates
        shared = np.zeros(len(log), dtype=bool)
        shared[eligible] = place[eligible].duplicated(keep=False).to_numpy()
        eligible &= shared
    mask = np.zeros(len(log), dtype=bool)
    sub = frame[eligible]
    dup = sub.duplicated(keep="first").to_numpy()
    if not dup.any():
        return mask, {}
    pos = np.flatnonzero(eligible)
    # row number of the first copy of each duplicate
    cols = list(sub.columns)
    first_of = sub.reset_index(drop=True).groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
    groups, first_idx = np.unique(first_of, return_index=True)
    first_pos = np.empty(first_of.max() + 1, dtype=np.int64)
    first_pos[groups] = first_idx
    mask[pos[dup]] = True
    ref = {int(pos[k]): int(log.rows[pos[first_pos[first_of[k]]]]) for k in np.flatnonzero(dup)}
    return mask, ref


def flag_exact_duplicates(log: ProblemLog, frame: pd.DataFrame, *, candidates=None,
                          place: pd.DataFrame | None = None) -> None:
    """Drop rows identical to an earlier row in every column of ``frame`` (with a warning).

    ``frame`` holds the source attributes and a geometry key (coordinates or WKB); ``place``,
    if given, is that geometry key alone (a fast pre-filter). The first
    copy is kept; the others are dropped with a warning naming it. Exact duplicates are common
    in real extracts (SFPD's 2012 files hold hundreds), so they do not reject the file.
    Rejected rows, and rows outside ``candidates`` (a mask; e.g. incidents without an
    identifier, see ``layers.io.read_layer``), are ignored.
    """
    if len(frame) == 0:
        return
    eligible = ~log.bad if candidates is None else (~log.bad & np.asarray(candidates, dtype=bool))
    mask, ref = _first_copies(log, frame, eligible, place)
    if not mask.any():
        return
    log.warning(mask, None, lambda i: f"exact duplicate of row {ref[i]} (same geometry and attributes): dropped")
    log.drop |= mask


#: how many identical-row warnings a report lists one by one (then one line counts the rest)
IDENTICAL_ROWS_LISTED = 20


def report_identical_rows(log: ProblemLog, frame: pd.DataFrame, *, rows=None,
                          place: pd.DataFrame | None = None, drop: bool = False,
                          listed: int = IDENTICAL_ROWS_LISTED) -> int:
    """Report rows identical to an earlier row but carrying no identifier; drop them if ``drop``.

    Two incident rows without an external id at the same point, time and category, every other
    attribute equal, may be two incidents (two thefts at one address in one minute, anonymised
    extracts snapping distinct reports to one point and month) or one incident recorded twice;
    only the user knows. By default they are kept, and each later copy gets a warning naming
    both rows; with ``drop`` the later copies are dropped, the first one kept. Only the first
    ``listed`` copies are warned one by one; a file-level warning then counts them all, so a big
    file does not flood the report. ``rows`` (a mask) limits the search (e.g. rows without an
    external id); rejected and already dropped rows are ignored. Returns the number of later
    copies found (dropped when ``drop``).
    """
    if len(frame) == 0:
        return 0
    eligible = ~(log.bad | log.drop)
    if rows is not None:
        eligible &= np.asarray(rows, dtype=bool)
    mask, ref = _first_copies(log, frame, eligible, place)
    n = int(mask.sum())
    if n == 0:
        return 0
    shown = np.zeros(len(log), dtype=bool)
    shown[np.flatnonzero(mask)[:listed]] = True
    if drop:
        log.warning(shown, None, lambda i: f"identical to row {ref[i]} (no external id): dropped (--drop-duplicates)")
        log.drop |= mask
        summary = (f"{n} row(s) identical to an earlier row in every field were dropped "
                   f"(--drop-duplicates); the first copy of each was kept")
    else:
        log.warning(shown, None, lambda i: (
            f"rows {ref[i]} and {log.rows[i]} are identical: kept as two incidents; pass "
            "--drop-duplicates if they are the same incident recorded twice"))
        summary = (f"{n} row(s) are identical to an earlier row in every field and have no external "
                   "id: kept as distinct incidents; pass --drop-duplicates if they are the same "
                   "incident recorded twice")
    if n > listed:
        summary += f" (the first {listed} are listed)"
    log.file_warning(summary + ".")
    return n
