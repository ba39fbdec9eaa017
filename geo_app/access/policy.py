"""Roles and what each may see or do: the one table where access is decided (no Flask).

The permission table below is DESIGN.md §8 written as data. Pages, the API and exports never
test a role name themselves: routes are gated by ``geo_app.auth`` (a ``before_request`` hook
reading ``ROUTE_PERMISSIONS``, and ``auth.require``); data is cut to the user's rights by
``geo_app.access.viewer.Viewer`` with the rules below (``point_filters``,
``aggregate_filters``, ``visible_hotspots``, ``proposal_categories``).

======================================  ===========  ======  ==================  ==========  ==========
permission                              coordinator  police  zac_manager         planner     admin
======================================  ===========  ======  ==================  ==========  ==========
``points`` (ordinary categories)        all          all     own_zac             aggregates  all
``sensitive_points``                    aggregates   all     none                none        aggregates
``hotspots`` (+ recommendations,        all          all     own_zac             all         all
reports)
``review.read``                         all          all     own_zac             all         all
``review.write`` (status, comments)     all          all     own_zac             none        all
``export``                              all          all     own_zac_aggregates  aggregates  all
``import``                              none         none    none                none        all
``users`` (accounts, audit log)         none         none    none                none        all
``map`` (pages, context layers)         all          all     all                 all         all
======================================  ===========  ======  ==================  ==========  ==========

Scopes: ``all``; ``own_zac`` (only inside the ZACs of the account); ``aggregates`` (grid
counts with cells under k suppressed, never points); ``own_zac_aggregates``; ``none``.

Privacy rules applied by the ``Viewer`` (every page, API answer, export and report reads
through one):

- points (API pages, exports): sensitive categories only for the police; a ZAC manager's own
  ZACs imposed (another ZAC asked by URL or API -> 403); planners none (403); every point read
  is written to the audit log (``view_points``);
- aggregates (display grids, Gi*, KDE, emerging hotspots, hotspot areas, key figures): maps
  and analyses use the ordinary categories unless sensitive ones are asked for (so every role
  shares the same hotspot areas and review threads); a role that may not see some of the
  counted incidents as points gets the aggregate model (README, "Privacy model"): counts on
  the fixed ``privacy_cell_m`` lattice only, none under ``k_anonymity`` anywhere, Gi*/LISA/KDE
  as classes, whole-day windows; ZAC managers see results clipped to their ZACs, analyses as
  classes (their cells also count incidents outside their ZACs);
- proposals: situational, non-sensitive categories only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from layers.errors import Forbidden, ParameterError
from layers.filters import Filters

__all__ = [
    "BLUEPRINT_PERMISSIONS",
    "PERMISSIONS",
    "PUBLIC_ENDPOINTS",
    "ROLES",
    "ROUTE_PERMISSIONS",
    "IncidentAccess",
    "Scope",
    "aggregate_filters",
    "can",
    "check",
    "check_hotspot",
    "check_role",
    "export_mode",
    "incident_access",
    "needs_suppression",
    "permission_for_endpoint",
    "point_filters",
    "proposal_categories",
    "scope",
    "scope_incidents",
    "visible_hotspots",
]

ROLES = ("coordinator", "police", "zac_manager", "planner", "admin")


class Scope(str, Enum):
    """How much of a permission a role holds."""

    ALL = "all"
    OWN_ZAC = "own_zac"
    AGGREGATES = "aggregates"
    OWN_ZAC_AGGREGATES = "own_zac_aggregates"
    NONE = "none"

    @property
    def own_zac(self) -> bool:
        return self in (Scope.OWN_ZAC, Scope.OWN_ZAC_AGGREGATES)

    @property
    def aggregates_only(self) -> bool:
        return self in (Scope.AGGREGATES, Scope.OWN_ZAC_AGGREGATES)


_A, _Z, _G, _ZG, _N = Scope.ALL, Scope.OWN_ZAC, Scope.AGGREGATES, Scope.OWN_ZAC_AGGREGATES, Scope.NONE


def _row(coordinator, police, zac_manager, planner, admin) -> dict[str, Scope]:
    return dict(zip(ROLES, (coordinator, police, zac_manager, planner, admin)))


#: DESIGN.md §8 as data: permission -> role -> scope
PERMISSIONS: dict[str, dict[str, Scope]] = {
    "points": _row(_A, _A, _Z, _G, _A),
    "sensitive_points": _row(_G, _A, _N, _N, _G),
    "hotspots": _row(_A, _A, _Z, _A, _A),
    "review.read": _row(_A, _A, _Z, _A, _A),
    "review.write": _row(_A, _A, _Z, _N, _A),
    "export": _row(_A, _A, _ZG, _G, _A),
    "import": _row(_N, _N, _N, _N, _A),
    "users": _row(_N, _N, _N, _N, _A),
    "map": _row(_A, _A, _A, _A, _A),
}

#: endpoints anyone may reach without logging in
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "assets.static", "vendor.vendor", "auth.logout"})

#: permission needed to reach each blueprint (the route gate; data is cut further below)
BLUEPRINT_PERMISSIONS: dict[str, str] = {
    "imports": "import",
    "admin": "users",
    "exports": "export",
    "review": "review.read",
    "hotspots": "hotspots",
    "recommend": "hotspots",
    "recommendations": "hotspots",
    "reports": "hotspots",
}

#: per-endpoint overrides of ``BLUEPRINT_PERMISSIONS`` (endpoint -> permission)
ROUTE_PERMISSIONS: dict[str, str] = {
    "review.set_status": "review.write",
    "review.add_comment": "review.write",
    "api.incidents": "map",
    "api.backtest": "hotspots",
}


def permission_for_endpoint(endpoint: str | None) -> str | None:
    """The permission guarding a Flask endpoint (``None`` for public endpoints)."""
    if not endpoint or endpoint in PUBLIC_ENDPOINTS or endpoint.endswith(".static"):
        return None
    if endpoint in ROUTE_PERMISSIONS:
        return ROUTE_PERMISSIONS[endpoint]
    blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else ""
    return BLUEPRINT_PERMISSIONS.get(blueprint, "map")


def check_role(role: str) -> str:
    """``role`` if it is one of ``ROLES``; ``ParameterError`` naming the choices otherwise."""
    if role not in ROLES:
        raise ParameterError(f"unknown role '{role}'; choose one of: {', '.join(ROLES)}.", "role")
    return role


def _role(user) -> str:
    role = getattr(user, "role", None)
    return role if role in ROLES else ""


def _zacs(user) -> tuple[str, ...]:
    return tuple(getattr(user, "zacs", ()) or ())


def scope(user, permission: str) -> Scope:
    """The scope ``user`` holds for ``permission`` (``NONE`` for anonymous or unknown roles)."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    role = _role(user)
    return PERMISSIONS[permission].get(role, Scope.NONE) if role else Scope.NONE


def _as_names(zac) -> tuple[str, ...]:
    if zac is None:
        return ()
    if isinstance(zac, str):
        return (zac,)
    return tuple(str(z) for z in zac if z is not None and str(z) != "")


def can(user, permission: str, *, zac=None) -> bool:
    """May ``user`` use ``permission`` at all, or (``zac`` given: a name or names) there?

    For own-ZAC scopes a ``zac`` argument is allowed when at least one of the names is one of
    the user's ZACs.
    """
    s = scope(user, permission)
    if s is Scope.NONE:
        return False
    if s.own_zac and zac is not None:
        return bool(set(_as_names(zac)) & set(_zacs(user)))
    return True


def check(user, permission: str, *, zac=None, what: str = "this") -> Scope:
    """Like ``can`` but raises ``Forbidden`` with a message; returns the scope."""
    if not can(user, permission, zac=zac):
        role = _role(user) or "anonymous"
        if scope(user, permission) is not Scope.NONE and zac is not None:
            raise Forbidden(
                f"{what} is outside your ZAC ({', '.join(_zacs(user)) or 'none'}): a ZAC manager "
                "sees only their own ZAC."
            )
        raise Forbidden(f"the role '{role}' may not access {what} (permission '{permission}').")
    return scope(user, permission)


# ------------------------------------------------------------------------------------------
# Incidents: points and aggregates


@dataclass(frozen=True)
class IncidentAccess:
    """What a user may see of the incidents.

    ``point_categories`` / ``aggregate_categories``: the categories allowed as points / in
    aggregates (empty: none at all); ``zacs``: the ZAC names the user is limited to (``None``:
    the whole territory); ``k``: the suppression threshold applied to aggregates holding
    anything the user may not see as points.
    """

    point_categories: frozenset[str]
    aggregate_categories: frozenset[str]
    zacs: tuple[str, ...] | None
    k: int

    @property
    def points(self) -> bool:
        return bool(self.point_categories)


def incident_access(user, taxonomy, *, k: int = 5) -> IncidentAccess:
    """The incident rights of ``user`` under ``taxonomy`` (its ``sensitive`` categories)."""
    codes = frozenset(taxonomy.codes)
    sensitive = frozenset(taxonomy.sensitive)
    ordinary = codes - sensitive
    p, s = scope(user, "points"), scope(user, "sensitive_points")
    points = set()
    aggregates = set()
    if p in (Scope.ALL, Scope.OWN_ZAC):
        points |= ordinary
    if p is not Scope.NONE:
        aggregates |= ordinary
    if s in (Scope.ALL, Scope.OWN_ZAC):
        points |= sensitive
    if s is not Scope.NONE:
        aggregates |= sensitive
    zacs = _zacs(user) if (p.own_zac or scope(user, "hotspots").own_zac) else None
    return IncidentAccess(frozenset(points), frozenset(aggregates), zacs, int(k))


def _restrict(filters: Filters | None, allowed: frozenset[str], zacs, *, what: str,
              everything: frozenset[str] = frozenset()) -> Filters:
    filters = filters or Filters()
    if filters.categories is None:
        # every category allowed: keep "no category filter" (the store's fast path)
        cats = None if allowed >= everything and everything else tuple(sorted(allowed))
    else:
        cats = tuple(c for c in filters.categories if c in allowed)
    zac = filters.zac
    if zacs is not None:
        if not zacs:
            raise Forbidden("your account is linked to no ZAC: ask an administrator to add one.")
        if zac is None:
            zac = tuple(zacs)
        else:
            outside = [z for z in zac if z not in zacs]
            if outside:
                raise Forbidden(
                    f"ZAC {', '.join(map(repr, outside))} is not yours: as a ZAC manager you see "
                    f"{what} of {', '.join(map(repr, zacs)) or 'no ZAC'} only."
                )
    return filters.replace(categories=cats, zac=zac)


def point_filters(user, filters: Filters | None, *, taxonomy) -> Filters:
    """``filters`` narrowed to what ``user`` may see as points: sensitive categories removed
    (except for the police), a ZAC manager's own ZACs imposed (another ZAC by URL ->
    ``Forbidden``); ``Forbidden`` for roles that see no points (planner).

    An empty ``categories`` tuple in the result means "nothing": the caller must read nothing.
    """
    acc = incident_access(user, taxonomy)
    if not acc.points:
        raise Forbidden(
            f"the role '{_role(user) or 'anonymous'}' sees incidents as aggregates only "
            "(grid counts), never as points."
        )
    return _restrict(filters, acc.point_categories, acc.zacs, what="incidents",
                     everything=frozenset(taxonomy.codes))


def aggregate_filters(user, filters: Filters | None, *, taxonomy) -> Filters:
    """``filters`` narrowed to what ``user`` may count in aggregates (grids, hotspots,
    charts): categories the role may not see even aggregated removed, own ZACs imposed."""
    acc = incident_access(user, taxonomy)
    if not acc.aggregate_categories:
        raise Forbidden(f"the role '{_role(user) or 'anonymous'}' may not see incidents.")
    return _restrict(filters, acc.aggregate_categories, acc.zacs, what="incidents",
                     everything=frozenset(taxonomy.codes))


def needs_suppression(user, filters: Filters | None, *, taxonomy) -> bool:
    """True when an aggregate built with ``aggregate_filters(user, filters)`` holds incidents
    the user may not see as points, so cells under k must be suppressed."""
    acc = incident_access(user, taxonomy)
    f = aggregate_filters(user, filters, taxonomy=taxonomy)
    cats = set(taxonomy.codes) if f.categories is None else set(f.categories)
    return not cats <= acc.point_categories


def scope_incidents(user, incidents, *, taxonomy, zac_layer=None):
    """Rows of an already-read incidents GeoDataFrame that ``user`` may see as points
    (a new frame; ``Forbidden`` for roles without points). ``zac_layer`` (name, geometry) is
    needed for own-ZAC roles."""
    from layers.filters import apply_filters

    f = point_filters(user, None, taxonomy=taxonomy)
    out = incidents if f.categories is None else incidents[incidents["category"].isin(f.categories)]
    if f.zac is not None:
        if zac_layer is None or len(out) == 0:
            return out.iloc[0:0].copy() if zac_layer is None else out.copy()
        known = set(zac_layer["name"])
        f = f.replace(zac=tuple(z for z in f.zac if z in known) or None)
        if f.zac is None:
            return out.iloc[0:0].copy()
        out = apply_filters(out, Filters(zac=f.zac), zac_layer=zac_layer)
    return out.copy()


def export_mode(user) -> Scope:
    """How ``user`` exports incidents: ``ALL`` (points as their point rights allow, sensitive
    ones aggregated for coordinator/admin), ``AGGREGATES`` or ``OWN_ZAC_AGGREGATES``;
    ``Forbidden`` if the role may not export."""
    return check(user, "export", what="exports")


# ------------------------------------------------------------------------------------------
# Hotspots and proposals


def _hotspot_zacs(row) -> tuple[str, ...]:
    value = row.get("zac") if hasattr(row, "get") else None
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(z.strip() for z in value.replace(";", ",").split(",") if z.strip())
    try:
        return tuple(str(z) for z in value)
    except TypeError:
        return ()


def visible_hotspots(user, areas):
    """The hotspot areas (GeoDataFrame with a ``zac`` column: ZAC name(s), comma-separated)
    ``user`` may see: all, or those touching one of a ZAC manager's ZACs."""
    s = check(user, "hotspots", what="hotspots")
    if not s.own_zac:
        return areas
    mine = set(_zacs(user))
    if "zac" not in getattr(areas, "columns", ()):
        return areas.iloc[0:0]
    keep = [bool(set(_hotspot_zacs(r)) & mine) for _, r in areas.iterrows()]
    return areas[keep]


def check_hotspot(user, area, permission: str = "hotspots") -> None:
    """``Forbidden`` if ``user`` may not see (or, with ``review.write``, review) this hotspot
    area (a row / dict with a ``zac`` field)."""
    s = check(user, permission, what="this hotspot")
    if s.own_zac:
        check(user, permission, zac=_hotspot_zacs(area) or ("",), what="this hotspot")


def proposal_categories(user, taxonomy, *, include_sensitive: bool = False) -> frozenset[str]:
    """Categories lighting/CCTV proposals may use: the situational ones; sensitive categories
    only when a police user asks (``include_sensitive=True``), ``Forbidden`` for anyone else
    asking."""
    cats = frozenset(taxonomy.situational)
    if include_sensitive:
        if scope(user, "sensitive_points") is not Scope.ALL:
            raise Forbidden("only the police role may use sensitive categories in proposals.")
        cats = cats | frozenset(taxonomy.sensitive)
    return cats
