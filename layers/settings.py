"""Deployment settings shared by the library, the CLI and the web service.

The web and CLI read them from ``$GEO_APP_HOME/config.toml`` and ``GEO_APP_*`` environment
variables (``geo_app.config.load_settings``); the library only receives a ``Settings`` value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.errors import ParameterError

__all__ = ["Settings", "parse_bbox", "parse_study_area", "parse_tz"]


def parse_bbox(value, *, param: str = "bbox") -> tuple[float, float, float, float] | None:
    """Parse ``"minx,miny,maxx,maxy"`` (or a 4-sequence) in lon/lat degrees.

    Raises ``ParameterError`` naming ``param`` when the text is not four numbers, when min > max
    or when the values are outside valid longitudes/latitudes.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    else:
        parts = list(value)
    try:
        nums = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{param} must be four numbers minx,miny,maxx,maxy in degrees, got '{value}'.", param
        ) from None
    if len(nums) != 4:
        raise ParameterError(
            f"{param} must be four numbers minx,miny,maxx,maxy in degrees, got {len(nums)}.", param
        )
    minx, miny, maxx, maxy = nums
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise ParameterError(
            f"{param} must be longitudes in [-180, 180] and latitudes in [-90, 90], got '{value}'.",
            param,
        )
    if minx > maxx or miny > maxy:
        raise ParameterError(f"{param}: min must not exceed max, got '{value}'.", param)
    return nums


def parse_tz(value, *, param: str = "tz") -> ZoneInfo:
    """A time zone from its IANA name (``Europe/Paris``) or a ``ZoneInfo``; ``ParameterError``
    naming ``param`` when it is unknown."""
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(
            f"time zone '{value}' is unknown: use an IANA name such as Europe/Paris.", param
        ) from None


def parse_study_area(spec) -> tuple[str, str | None]:
    """Parse a ``study_area`` setting into ``(kind, level)``.

    ``None`` or ``""`` -> ``("areas", None)`` (every area); ``"areas"`` -> ``("areas", None)``;
    ``"areas:<level>"`` -> ``("areas", level)``; ``"zac"`` -> ``("zac", None)``. Anything else
    raises ``ParameterError`` naming ``study_area``.
    """
    if spec is None or str(spec).strip() == "":
        return "areas", None
    kind, sep, level = str(spec).strip().partition(":")
    level = level.strip()
    if (kind == "areas" and (not sep or level)) or (kind == "zac" and not sep):
        return kind, level or None
    raise ParameterError(
        f"study_area must be 'areas', 'areas:<level>' (e.g. areas:commune) or 'zac', got '{spec}'.",
        "study_area",
    )


@dataclass(frozen=True)
class Settings:
    """A deployment's settings.

    Parameters
    ----------
    analysis_crs : int or None
        EPSG code of the metric CRS used for every distance, area, cell size and bandwidth
        (2154 Lambert-93 for metropolitan France, 3163 for Nouméa). ``None``: the UTM zone
        estimated from the data.
    timezone : str
        IANA time zone of the territory (``Europe/Paris``, ``Pacific/Noumea``); local hours,
        weekdays, months and darkness are computed in it.
    territory : tuple of float or None
        lon/lat bbox ``(minx, miny, maxx, maxy)``; imported points outside it are rejected.
        ``None``: only valid lon/lat ranges are checked.
    study_area : str or None
        Where grids are clipped: ``"areas:commune"`` (areas whose ``level`` is ``commune``),
        ``"areas"`` (union of all areas), ``"zac"`` (union of ZACs); ``None``: the union of areas
        if any, else the incidents' extent.
    taxonomy : str or None
        Path to a deployment taxonomy CSV; ``None`` uses the default.
    k_anonymity : int
        Aggregates shown to roles that may not see points suppress cells below this count.
    street_tolerance_m : float
        Incidents within this many metres of a street segment are assigned to the nearest one
        (``layers.streets``); those further are off-network and counted as such.
    intersection_radius_m : float
        Incidents within this many metres of an intersection count at the intersection, not at
        a segment, when micro-places are ranked (``layers.streets.micro_counts_xy``); 0 to
        100, 0 turns intersections off.
    privacy_cell_m : float
        Side, in metres, of the fixed lattice (anchored at the analysis CRS's origin) on which
        roles that may only see aggregates receive counts, whatever bbox or cell count they ask.
    max_uncompressed_mb : float
        An uploaded archive whose members would inflate to more than this many MB (2**20 bytes)
        is refused by its zip directory, before anything is inflated.
    max_features : int
        A file declaring (``.dbf`` header, GDAL's ``read_info``) or holding more features than
        this is refused.
    max_vertices : int
        A polygon of more vertices than this is refused (its row), before any validity check.
    evaluation_min_days : int
        A done action is evaluated (``layers.effect``) once this many whole days of data follow
        its end; before that it is "too early to evaluate" (1..365, default 90).
    evaluation_alpha : float
        Level of the evaluation's WDD confidence interval and verdict (0 < alpha <= 0.5,
        default 0.1: a 90 % interval).
    """

    analysis_crs: int | None = 2154
    timezone: str = "Europe/Paris"
    territory: tuple[float, float, float, float] | None = None
    study_area: str | None = None
    taxonomy: str | None = None
    k_anonymity: int = 5
    street_tolerance_m: float = 30.0
    intersection_radius_m: float = 15.0
    privacy_cell_m: float = 250.0
    max_uncompressed_mb: float = 1024.0
    max_features: int = 2_000_000
    max_vertices: int = 100_000
    evaluation_min_days: int = 90
    evaluation_alpha: float = 0.1
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.analysis_crs is not None:
            try:
                crs = CRS.from_epsg(int(self.analysis_crs))
            except (CRSError, ValueError, TypeError):
                raise ParameterError(
                    f"analysis CRS '{self.analysis_crs}' is not a known EPSG code.", "analysis_crs"
                ) from None
            if not crs.is_projected:
                raise ParameterError(
                    f"analysis CRS EPSG:{self.analysis_crs} is not projected: use a metric CRS "
                    "such as 2154 (Lambert-93) or 3163 (New Caledonia).",
                    "analysis_crs",
                )
            object.__setattr__(self, "analysis_crs", int(self.analysis_crs))
        parse_tz(self.timezone, param="timezone")
        if self.territory is not None:
            object.__setattr__(self, "territory", parse_bbox(self.territory, param="territory"))
        if self.study_area is not None:
            parse_study_area(self.study_area)
        if int(self.k_anonymity) < 1:
            raise ParameterError("k_anonymity must be at least 1.", "k_anonymity")
        tol = self.street_tolerance_m
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol <= 500:
            raise ParameterError(
                f"street_tolerance_m must be a number of metres between 0 and 500, got {tol!r}.",
                "street_tolerance_m",
            )
        rad = self.intersection_radius_m
        if isinstance(rad, bool) or not isinstance(rad, (int, float)) or not 0 <= rad <= 100:
            raise ParameterError(
                f"intersection_radius_m must be a number of metres between 0 and 100, got {rad!r}.",
                "intersection_radius_m",
            )
        try:
            cell = float(self.privacy_cell_m)
        except (TypeError, ValueError):
            raise ParameterError("privacy_cell_m must be a number of metres.", "privacy_cell_m") from None
        if not 50.0 <= cell <= 10_000.0:
            raise ParameterError(f"privacy_cell_m must be between 50 and 10000 metres, got {cell}.",
                                 "privacy_cell_m")
        object.__setattr__(self, "privacy_cell_m", cell)
        for name, kind, lo in (("max_uncompressed_mb", float, 0.001), ("max_features", int, 1),
                               ("max_vertices", int, 4)):
            value = getattr(self, name)
            try:
                number = kind(value)
                if isinstance(value, bool) or number != float(value) or not number >= lo:
                    raise ValueError
            except (TypeError, ValueError):
                raise ParameterError(f"{name} must be a {'whole ' if kind is int else ''}number of at least "
                                     f"{lo:g}, got {value!r}.", name) from None
            object.__setattr__(self, name, number)
        days = self.evaluation_min_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise ParameterError(f"evaluation_min_days must be a whole number of days between 1 and 365, "
                                 f"got {days!r}.", "evaluation_min_days")
        a = self.evaluation_alpha
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 < a <= 0.5:
            raise ParameterError(f"evaluation_alpha must be a number above 0 and at most 0.5, got {a!r}.",
                                 "evaluation_alpha")
        object.__setattr__(self, "evaluation_alpha", float(a))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
