"""The viewer: one user's view of the workspace, with the role rules applied once.

``Viewer(workspace, account)`` is composed over a ``geo_app.workspace.Workspace`` (never a
subclass of it): every method asks the workspace for a result computed for everyone, and
narrows the filters, cuts the result (own ZAC, small counts, sensitive categories) and writes
the audit line that the user's role calls for (``geo_app.access.policy``). Pages, the API,
exports and the report all read through a viewer, so the rules hold the same everywhere. It
knows no Flask: the web passes the account, an audit function and the review store.

Analyses run on the whole territory with the ordinary categories by default
(``Workspace.default_filters``), so hotspot ids and review threads are the same for every role;
what a role may not see is cut from the result, never from the input.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_app.access.policy import (
    Forbidden,
    Scope,
    aggregate_filters,
    can,
    check,
    check_hotspot,
    export_mode,
    incident_access,
    needs_suppression,
    point_filters,
    proposal_categories,
    scope,
    visible_hotspots,
)
from geo_app.db import DEFAULT_STATUS, STATUSES
from geo_app.workspace import CONTEXT_KINDS
from layers.errors import NotFound, ParameterError, VigieError
from layers.filters import Filters
from layers.privacy import (
    area_classes,
    blank_small_counts,
    classes_only,
    day_window,
    lattice_cells,
    lattice_counts,
    night_class,
)

__all__ = ["EXPORTS", "Viewer"]

#: what can be exported, in the order the export page lists them
EXPORTS = ("incidents", "incidents_grid", "hotspots", "gistar", "kde", "emerging", "proposals",
           "zac", "areas", "schools", "shops", "lights", "cameras", "places", "actions")

#: the dashboard's hidden layers, computed when switched on
LAZY_LAYERS = ("kde", "emerging", "proposals")

#: point layers with more features than this are loaded per bbox by the pages, never whole
EMBED_MAX = 500

#: an action's own location lies at most this far from its place (metres)
ACTION_REACH_M = 500.0


def _as_text(value):
    """A field of a place or action as one table cell: lists as comma-separated text, a
    GeoJSON mapping as JSON text, anything else as is."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _no_audit(action: str, *, target: str = "", detail: dict | None = None) -> None:
    return None


def _clip_to_zacs(gdf, zac_layer, zacs):
    """Rows of ``gdf`` intersecting the named ZAC polygons (an own-ZAC role's view)."""
    if gdf is None or len(gdf) == 0:
        return gdf
    polys = zac_layer[zac_layer["name"].isin(zacs)]
    if len(polys) == 0:
        return gdf.iloc[0:0]
    shape = polys.to_crs(gdf.crs).union_all() if gdf.crs is not None else polys.union_all()
    out = gdf[gdf.intersects(shape)]
    out.attrs = dict(gdf.attrs)
    return out


class Viewer:
    """What ``account`` may see of ``workspace``.

    Parameters
    ----------
    workspace : geo_app.workspace.Workspace
        Pinned to one store version for a request (``Workspace.pinned()``).
    account
        An object with ``role``, ``zacs`` and ``name`` (``geo_app.auth.Account``).
    audit : callable, optional
        ``audit(action, target=, detail=)``, called for every read of point-level data.
    reviews : geo_app.db.AppDB, optional
        The review store (statuses, history, comments); without it every hotspot is new.
    """

    def __init__(self, workspace, account, *, audit: Callable | None = None, reviews=None):
        self.workspace = workspace
        self.account = account
        self._audit = audit or _no_audit
        self._reviews = reviews

    # -- the deployment, as everyone sees it ------------------------------------------------
    @property
    def taxonomy(self):
        return self.workspace.taxonomy

    @property
    def settings(self):
        return self.workspace.settings

    @property
    def tz(self) -> str:
        return self.workspace.tz

    @property
    def k(self) -> int:
        return self.workspace.k

    @property
    def version(self) -> str:
        return self.workspace.version

    def counts(self) -> dict[str, int]:
        return self.workspace.counts()

    def extent(self):
        return self.workspace.extent()

    def context(self, kind: str) -> gpd.GeoDataFrame:
        """A whole context layer (ZAC, areas, schools…; never incidents)."""
        if kind == "incidents":
            raise ParameterError("incidents are read with read() or page(), which apply the role's rules.", "kind")
        return self.workspace.frame(kind)

    def zac_names(self) -> list[str]:
        zac = self.workspace.frame("zac")
        return sorted(zac["name"].dropna().astype(str).unique()) if len(zac) else []

    @property
    def sees_points(self) -> bool:
        """May this account see some incidents as points?"""
        return incident_access(self.account, self.taxonomy).points

    def can(self, permission: str) -> bool:
        return can(self.account, permission)

    @property
    def rights(self) -> tuple:
        """What the role rules read of the account (``geo_app.access.policy`` looks at the role
        and the ZACs only): two accounts with equal ``rights`` see exactly the same results."""
        return (str(getattr(self.account, "role", "") or ""),
                tuple(sorted(str(z) for z in (getattr(self.account, "zacs", ()) or ()))))

    def cached(self, name: str, params: tuple, fn: Callable):
        """``fn()`` cached for this store version and these ``rights`` (never shared with an
        account of other rights): serialized answers built from what this viewer returns, so a
        repeated request costs a lookup. ``fn`` must itself read through this viewer, and
        ``params`` must hold everything else the answer depends on (filters, language, review
        statuses…). Audit lines are not replayed: only cache answers that write none."""
        return self.workspace.cached(f"viewer:{name}", (self.rights, *params), fn)

    # -- rules ------------------------------------------------------------------------------
    def _analysis_filters(self, filters: Filters | None) -> Filters:
        """Default categories cut to the role's aggregates; a ZAC manager's own ZAC checked
        but the analysis run on the whole territory (results are clipped afterwards)."""
        filters = self.workspace.default_filters(filters)
        cut = aggregate_filters(self.account, filters, taxonomy=self.taxonomy)
        return filters.replace(categories=cut.categories)

    def _suppress(self, filters: Filters | None) -> bool:
        """Does an aggregate for ``filters`` count incidents this account may not see as points?
        Then the aggregate model applies (README, "Privacy model"): counts on the fixed lattice
        only, none under k, classes instead of statistics, whole days."""
        return needs_suppression(self.account, self.workspace.default_filters(filters), taxonomy=self.taxonomy)

    def _classes(self, filters: Filters | None) -> bool:
        """Are analysis results (cells, hotspot areas) served as classes only? For the
        aggregate model, and for own-ZAC roles: their cells and areas also count incidents just
        outside their ZACs, which they may not see."""
        return self._suppress(filters) or self._own_zacs() is not None

    def _days(self, filters: Filters | None) -> Filters | None:
        """``filters`` whose period is widened to whole local days when the aggregate model
        applies (no window finer than a day can be differenced)."""
        if filters is None or (filters.start is None and filters.end is None) or not self._suppress(filters):
            return filters
        start, end = day_window(filters.start, filters.end, tz=self.tz)
        return filters.replace(start=start, end=end)

    def _own_zacs(self):
        return incident_access(self.account, self.taxonomy).zacs

    def _cut_cells(self, filters: Filters | None, out):
        zacs = self._own_zacs()
        if zacs is not None:
            out = _clip_to_zacs(out, self.workspace.frame("zac"), zacs)
        if self._classes(filters):
            out = classes_only(out, k=self.k)
        return out

    def _lattice(self, filters: Filters, *, bbox, night: bool) -> gpd.GeoDataFrame:
        """Counts on the fixed privacy lattice (``privacy_cell_m``, anchored at the analysis
        CRS's origin), cells under k dropped, the cells meeting ``bbox`` snapped outwards."""
        from layers.crs import to_analysis

        ws, cell = self.workspace, float(self.settings.privacy_cell_m)
        whole = filters.replace(bbox=None)

        def compute():
            cols = ws.columns()
            m = ws.mask(whole, night=night)
            return lattice_counts(cols.x[m], cols.y[m], cell_size=cell, k=self.k)

        table = ws.cached("lattice", (whole, night, cell, self.k), compute)
        crs = ws.columns().crs
        box_m = None
        if bbox is not None:
            x0, y0, x1, y1 = bbox
            corners = gpd.GeoSeries(gpd.points_from_xy([x0, x1, x0, x1], [y0, y0, y1, y1]), crs=4326)
            box_m = tuple(to_analysis(corners, crs).total_bounds)
        out = lattice_cells(table, cell_size=cell, crs=crs, bbox=box_m).to_crs(4326)
        out.attrs = {"cell_m": cell, "k": self.k, "lattice": True, "suppressed": int(table.attrs["suppressed"])}
        return out

    def _audit_points(self, target: str, filters: Filters, n: int, **extra) -> None:
        self._audit("view_points", target=target, detail={"n": int(n), "filters": filters.describe(), **extra})

    # -- points -----------------------------------------------------------------------------
    def read(self, kind: str, filters: Filters | None = None, *, night: bool = False) -> gpd.GeoDataFrame:
        """Features of ``kind``; incidents cut to the account's point rights, and audited."""
        if kind != "incidents":
            return self.workspace.read(kind, filters, night=night)
        f = point_filters(self.account, filters, taxonomy=self.taxonomy)
        if f.categories is not None and not f.categories:
            out = self.workspace.incidents_at(np.zeros(0, dtype=np.int64))
        else:
            out = self.workspace.read(kind, f, night=night)
        self._audit_points(kind, f, len(out))
        return out

    def page(self, kind: str, filters: Filters | None, *, limit: int, offset: int = 0,
             night: bool = False) -> tuple[gpd.GeoDataFrame, int]:
        """One page of features and the total matched; incidents cut and audited."""
        if kind != "incidents":
            return self.workspace.page(kind, filters, limit=limit, offset=offset, night=night)
        f = point_filters(self.account, filters, taxonomy=self.taxonomy)
        if f.categories is not None and not f.categories:
            gdf, total = self.workspace.incidents_at(np.zeros(0, dtype=np.int64)), 0
        else:
            gdf, total = self.workspace.page(kind, f, limit=limit, offset=offset, night=night)
        self._audit_points(kind, f, len(gdf))
        return self._with_nearest_address(gdf), total

    def _with_nearest_address(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Points with ``near_address`` (the numbered register address nearest each, within
        50 m: "12 Rue de la Loge") and ``near_street`` (the nearest street's name), for their
        popups; unchanged when the store has no address register."""
        if not len(gdf):
            return gdf
        near = self.workspace.reverse(gdf.geometry)
        if near is None:
            return gdf
        has_number = near["number"].notna().to_numpy()
        return gdf.assign(near_address=np.where(has_number, near["label"].to_numpy(dtype=object), None),
                          near_street=near["street"].to_numpy(dtype=object))

    def reverse(self, lon: float, lat: float, *, radius: float = 50.0) -> gpd.GeoDataFrame:
        """The register address and street nearest the point ``lon``, ``lat`` (degrees) within
        ``radius`` metres (``Workspace.reverse``): a one-row frame. The register is public
        data: every signed-in role may ask. ``InputError`` (400) saying how to get a register
        when the store has none."""
        import shapely

        return self.workspace.reverse(gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326), max_distance=radius,
                                      required=True)

    def select(self, kind: str, filters: Filters | None, pick: Callable, *, night: bool = False):
        """A client's own query over the features of ``kind`` the account may read.

        ``pick(frame, rows) -> (page, matched, ...)`` filters, sorts and pages the rows
        ``rows`` (positions; None: every row) of ``frame`` (the whole layer: do not modify
        it), which are those the account may read under ``filters`` (e.g. a CQL2 filter and a
        keyset page of OGC API – Features); its result is returned as is. For incidents
        ``frame`` is a ``geo_app.workspace.IncidentRows`` (``len``, ``frame[column]``,
        ``frame.iloc[positions]`` building those rows only), and the audit line counts the
        features of ``page``, and ``matched``.
        """
        if kind != "incidents":
            return pick(self.workspace.read(kind, filters, night=night), None)
        from geo_app.workspace import IncidentRows

        f = point_filters(self.account, filters, taxonomy=self.taxonomy)
        frame = IncidentRows(self.workspace)  # rows built when taken: no point per stored incident
        if f.categories is not None and not f.categories:
            rows = np.zeros(0, dtype=np.int64)
        else:
            rows = self.workspace.rows(f, night=night)
        result = pick(frame, rows)
        self._audit_points(kind, f, len(result[0]), matched=int(result[1]))
        return result

    # -- aggregates -------------------------------------------------------------------------
    def grid(self, kind: str, filters: Filters | None, *, bbox=None, cells: int = 48,
             night: bool = False) -> gpd.GeoDataFrame:
        """Display counts per cell; for incidents the role's categories and ZACs, cells under
        k dropped when the account may not see every counted incident as a point."""
        if kind != "incidents":
            return self.workspace.grid(kind, filters, bbox=bbox, cells=cells, night=night)
        filters = self.workspace.default_filters(filters)
        f = aggregate_filters(self.account, filters, taxonomy=self.taxonomy)
        if self._suppress(filters):  # the fixed lattice: neither bbox nor cells move it
            return self._lattice(self._days(f), bbox=bbox or f.bbox, night=night)
        return self.workspace.grid(kind, f, bbox=bbox, cells=cells, night=night)

    def key_figures(self, filters: Filters | None, *, night: bool = False):
        """The dashboard's counts; under the aggregate model a count under k is ``None`` and
        the period is whole days."""
        from dataclasses import replace

        f = aggregate_filters(self.account, self.workspace.default_filters(filters), taxonomy=self.taxonomy)
        if not self._suppress(filters):
            return self.workspace.key_figures(f, night=night)
        kf = self.workspace.key_figures(self._days(f), night=night)
        small = [v is not None and v < self.k for v in (kf.total, kf.previous, kf.simulated)]
        total, previous, simulated = (None if s else v for s, v in zip(small, (kf.total, kf.previous, kf.simulated)))
        change = None if total is None or previous is None else kf.change_pct
        return replace(kf, total=total, previous=previous, simulated=simulated, change_pct=change)

    def analysis(self, method: str, filters: Filters | None, *, night: bool = False, **params):
        """A hotspot method's cells; as classes only (``layers.privacy.classes_only``) when the
        account may not see every counted incident, and then on the shared grid only (a grid
        of another cell size, differenced with this one, would isolate parts of cells)."""
        check(self.account, "hotspots", what="hotspots")
        if self._classes(filters):
            if params.get("cell_size") is not None:
                raise ParameterError(
                    "cell_size cannot be chosen by a role that sees aggregates only: the hotspot grid "
                    f"is the shared one, and counts come on the fixed {self.settings.privacy_cell_m:g} m lattice "
                    "(/api/layers/incidents/grid).", "cell_size")
            if method == "counts":
                raise ParameterError(
                    "method=counts gives exact counts per analysis cell: your role gets counts on the "
                    f"fixed {self.settings.privacy_cell_m:g} m lattice (/api/layers/incidents/grid).", "method")
        out = self.workspace.analysis(method, self._days(self._analysis_filters(filters)), night=night, **params)
        return self._cut_cells(filters, out)

    def backtest(self, filters: Filters | None = None, *, unit: str = "grid", cell_size: float | None = None,
                 **params):
        """The backtest summary (``Workspace.backtest``): hit rate, PAI, PEI and RRI are ratios
        over the whole study area, so every role holding ``hotspots`` may read them, on the
        role's analysis categories (sensitive ones only for the police). Under the aggregate
        model the grid is the shared one (no ``cell_size``) and, when fewer than k incidents are
        counted, the ratios are ``None``; roles served classes get no count
        (``n_incidents`` dropped)."""
        check(self.account, "hotspots", what="the backtest")
        if cell_size is not None and self._classes(filters):
            raise ParameterError(
                "cell_size cannot be chosen by a role that sees aggregates only: the backtest runs on "
                "the shared hotspot grid.", "cell_size")
        f = self._days(self._analysis_filters(filters))
        out = self.workspace.backtest(f, unit=unit, cell_size=cell_size, **params).copy()  # cached: never mutated
        meta = dict(out.attrs.get("vigie", {}))
        if self._suppress(filters) and meta.get("n_incidents", 0) < self.k:
            out = out.assign(**{c: None for c in ("hit_rate", "pai", "pei", "rri")})
            meta.pop("recommended", None), meta.pop("reason", None)
        if self._classes(filters):  # a whole-city count an own-ZAC or aggregate role may not read
            meta.pop("n_incidents", None)
        out.attrs["vigie"] = meta
        return out

    def emerging(self, filters: Filters | None = None, *, night: bool = False, months: int = 24):
        check(self.account, "hotspots", what="emerging hotspots")
        out = self.workspace.emerging(self._days(self._analysis_filters(filters)), night=night, months=months)
        zacs = self._own_zacs()
        if zacs is not None:
            out = _clip_to_zacs(out, self.workspace.frame("zac"), zacs)
        if self._classes(filters):
            out = classes_only(out, k=self.k)
        return out

    def proposals(self, filters: Filters | None = None, *, night: bool = False, k: int = 5,
                  include_sensitive: bool = False):
        """Proposals never use sensitive categories (DESIGN §3) unless a police user asks
        (``include_sensitive=True``; ``Forbidden`` for any other role), which is audited."""
        check(self.account, "hotspots", what="proposals")
        usable = proposal_categories(self.account, self.taxonomy, include_sensitive=include_sensitive)
        if include_sensitive and (filters is None or filters.categories is None):
            filters = (filters or Filters()).replace(categories=tuple(sorted(usable)))
        f = self._analysis_filters(filters)
        cats = tuple(sorted(usable)) if f.categories is None else tuple(c for c in f.categories if c in usable)
        f = f.replace(categories=cats)
        out = self.workspace.proposals(f, night=night, k=k, include_sensitive=include_sensitive)
        zacs = self._own_zacs()
        if zacs is not None:
            out = _clip_to_zacs(out, self.workspace.frame("zac"), zacs)
        if include_sensitive:
            self._audit("view_points", target="proposals (sensitive categories)",
                        detail={"n": len(out), "include_sensitive": True, "filters": f.describe()})
        return out

    def lazy_layer(self, name: str, filters: Filters | None, *, night: bool = False,
                   include_sensitive: bool = False):
        """A hidden dashboard layer loaded on demand (``LAZY_LAYERS``)."""
        if name not in LAZY_LAYERS:
            raise ParameterError(f"layer must be one of {', '.join(LAZY_LAYERS)}, got '{name}'.", "layer")
        if include_sensitive and name != "proposals":
            raise ParameterError(f"sensitive=1 applies to the proposals layer only, not to '{name}'.", "sensitive")
        if name == "kde":
            return self.analysis("kde", filters, night=night)
        if name == "emerging":
            return self.emerging(filters, night=night)
        return self.proposals(filters, night=night, include_sensitive=include_sensitive)

    # -- hotspots ---------------------------------------------------------------------------
    def hotspot_areas(self, filters: Filters | None = None, *, night: bool = False) -> gpd.GeoDataFrame:
        """The hotspot areas the account may see, with their review ``status``."""
        check(self.account, "hotspots", what="hotspots")
        out = visible_hotspots(self.account, self.workspace.hotspot_areas(self._days(self._analysis_filters(filters)),
                                                                          night=night))
        if self._classes(filters):
            out = self._blank_area(out)
        status, _ = self.review_status(list(out["hotspot_id"]))
        out = out.assign(status=[status.get(h, DEFAULT_STATUS) for h in out["hotspot_id"]])
        return out

    def _blank_area(self, areas):
        """Hotspot areas as the aggregate model shows them (``layers.privacy.area_classes``):
        ``n`` under k blanked, no z, no per-category counts, the night share and the trend as
        classes only, no incident total in ``attrs``."""
        return area_classes(areas, k=self.k)

    def hotspot_detail(self, hotspot_id: str, filters: Filters | None = None, *, night: bool = False,
                       near_m: float = 200.0) -> dict:
        """What a hotspot page shows (``Workspace.hotspot_detail``), with the proposals within
        ``near_m`` metres; categories under k dropped for roles that see aggregates only."""
        check(self.account, "hotspots", what="hotspots")
        f = self._days(self._analysis_filters(filters))
        d = dict(self.workspace.hotspot_detail(hotspot_id, f, night=night, near_m=near_m))
        check_hotspot(self.account, d["area"].iloc[0])
        if self._classes(filters):
            d.update(self._blank_detail(d))
        d["proposals"], d["proposals_note"] = None, None
        try:
            props = self.proposals(filters, night=night)
            d["proposals"] = self.workspace.near(props, d["area"], near_m)
        except VigieError as e:
            if e.status >= 500:
                raise
            d["proposals_note"] = e.message
        return d

    def _blank_detail(self, d: dict) -> dict:
        """A hotspot page's figures under the aggregate model: categories and months under k
        dropped or blanked, the hour x weekday profile blanked where under k, no points."""
        import numpy as np

        k = self.k
        cats = d["categories"]
        out = {"categories": cats[cats >= k], "area": self._blank_area(d["area"]), "night_share": None,
               "night_class": night_class([d.get("night_share")])[0]}
        if d.get("monthly") is not None:
            m = d["monthly"].astype("float64")
            out["monthly"] = m.where(m >= k, np.nan)
        if d.get("profile") is not None:
            pr = d["profile"].astype("float64")
            out["profile"] = pr.where(pr >= k, np.nan)
        if d.get("incidents") is not None:
            out["incidents"] = d["incidents"].iloc[0:0]
        if d.get("simulated") is not None and d["simulated"] < k:
            out["simulated"] = True  # the banner, not the count
        return out

    def find_hotspot(self, hotspot_id: str, permission: str = "review.read", filters: Filters | None = None,
                     *, night: bool = False) -> dict | None:
        """The hotspot area ``hotspot_id`` as a dict, looked up among the areas of the default
        filters, then among those of ``filters`` (a hotspot of thefts at night exists only under
        those filters: its page posts its reviews with them), or None when it is no longer in the
        results but has a review record. ``Forbidden`` when the account may not see it,
        ``NotFound`` when it is unknown."""
        check(self.account, permission, what="reviews")
        hid = str(hotspot_id)
        tried = [(self._analysis_filters(None), False)]
        if filters is not None or night:
            tried.append((self._days(self._analysis_filters(filters)), night))
        for f, nt in tried:
            try:
                found = self.workspace.hotspot_areas(f, night=nt)
            except VigieError:
                continue
            if hid in set(found["hotspot_id"].astype(str)):
                row = found[found["hotspot_id"].astype(str) == hid].iloc[0]
                check_hotspot(self.account, row, permission)
                return {k: row[k] for k in found.columns if k != "geometry"}
        db = self._reviews
        if db is None or (db.review(hid)["updated"] is None and not db.comments(hid)):
            raise NotFound(f"no hotspot area '{hid}' (see the hotspot list).")
        if scope(self.account, permission).own_zac:
            raise Forbidden("this hotspot is no longer in the results: its ZAC cannot be checked.")
        return None

    # -- streets as micro-places ------------------------------------------------------------
    def _cut_segments(self, filters: Filters | None, seg):
        """Own-ZAC segments only; where results are served as classes (the aggregate model,
        own-ZAC roles) the counts and every statistic computed from them (n, per 100 m, z, p)
        are dropped: the segment's identity, name and Gi* class stay."""
        if seg is None:
            return None
        zacs = self._own_zacs()
        if zacs is not None:
            seg = _clip_to_zacs(seg, self.workspace.frame("zac"), zacs)
        if self._classes(filters):
            attrs = dict(seg.attrs)
            seg = seg.drop(columns=[c for c in ("n", "per_100m", "z", "p", "p_adj") if c in seg.columns])
            seg.attrs = {k: v for k, v in attrs.items() if k != "vigie"}
        return seg

    def street_segments(self, filters: Filters | None = None, *, night: bool = False):
        """Street segments as micro-places (``Workspace.street_segments``) cut for the account;
        None without streets."""
        check(self.account, "hotspots", what="street micro-places")
        seg = self.workspace.street_segments(self._analysis_filters(filters), night=night)
        return self._cut_segments(filters, seg)

    def street_concentration(self, filters: Filters | None = None, *, night: bool = False) -> dict | None:
        """The concentration curve of incidents over the street segments the account may see
        (its own ZAC's for a ZAC manager); shares only, the total dropped under k for roles
        that see aggregates."""
        check(self.account, "hotspots", what="street micro-places")
        f = self._analysis_filters(filters)
        if self._own_zacs() is None:
            out = self.workspace.street_concentration(f, night=night)
        else:
            from layers.streets import concentration

            seg = _clip_to_zacs(self.workspace.street_segments(f, night=night), self.workspace.frame("zac"),
                                self._own_zacs())
            out = concentration(seg["n"].to_numpy(float)) if seg is not None and len(seg) else None
        if out is not None and self._suppress(filters) and out["incidents"] < self.k:
            return None
        return out

    def hotspot_names(self, filters: Filters | None = None, *, night: bool = False) -> dict:
        """Name parts of the hotspot areas the account may see (``Workspace.hotspot_names``)."""
        check(self.account, "hotspots", what="hotspots")
        f = self._analysis_filters(filters)
        names = self.workspace.hotspot_names(f, night=night)
        visible = set(visible_hotspots(self.account, self.workspace.hotspot_areas(f, night=night))["hotspot_id"].astype(str))
        return {h: parts for h, parts in names.items() if h in visible}

    def micro_places(self, hotspot_id: str, filters: Filters | None = None, *, night: bool = False,
                     top: int = 10):
        """The top street segments inside hotspot area ``hotspot_id`` (``Workspace.micro_places``),
        cut for the account."""
        check(self.account, "hotspots", what="hotspots")
        f = self._analysis_filters(filters)
        row = self.workspace.hotspot(hotspot_id, f, night=night)
        check_hotspot(self.account, row.iloc[0])
        out = self.workspace.micro_places(row, f, night=night, top=top)
        if not len(out):
            return out
        return self._cut_segments(filters, out)

    # -- places followed and their actions --------------------------------------------------
    def _db(self):
        if self._reviews is None:
            raise ParameterError("places need the application database (none is attached).", "places")
        return self._reviews

    def _check_place(self, place: dict, permission: str) -> dict:
        check_hotspot(self.account, {"zac": place.get("zacs") or None}, permission)
        return place

    def places(self) -> list[dict]:
        """The places the account may see (a ZAC manager: those touching their ZAC), each with
        its review ``status`` and ``owner``."""
        check(self.account, "review.read", what="places")
        db = self._db()
        stored = db.reviews()
        out = []
        for p in db.places():
            try:
                self._check_place(p, "review.read")
            except Forbidden:
                continue
            rev = stored.get(p["place_id"], {})
            out.append({**p, "status": rev.get("status", DEFAULT_STATUS), "review_owner": rev.get("owner", "")})
        return out

    def place(self, place_id: str, permission: str = "review.read") -> dict:
        """One place, ``Forbidden`` when the account may not see it (``permission``:
        ``review.write`` to act on it), ``NotFound`` when unknown."""
        check(self.account, permission, what="places")
        return self._check_place(self._db().place(place_id), permission)

    def name_parts(self, geometry) -> dict:
        """Name parts of a geometry from the streets (``Workspace.name_parts``)."""
        check(self.account, "hotspots", what="place names")
        return self.workspace.name_parts(geometry)

    def segment(self, segment: int):
        """A street segment's geometry and name (``Workspace.segment``): no counts."""
        check(self.account, "hotspots", what="street micro-places")
        return self.workspace.segment(segment)

    def new_place_geometry(self, source: str, ref=None, geometry=None):
        """The geometry (shapely, EPSG:4326) of a place created from a hotspot area
        (``ref``: its id), a street segment (``ref``: its position; the segment with 15 m on
        each side) or a drawn polygon (``geometry``: GeoJSON); the account must see it."""
        import shapely
        from shapely.geometry import shape

        from layers.crs import to_analysis

        if source == "hotspot":
            row = self.workspace.hotspot(str(ref), self._analysis_filters(None))
            check_hotspot(self.account, row.iloc[0])
            return row.geometry.iloc[0]
        if source == "segment":
            try:
                seg = self.segment(int(ref))
            except (TypeError, ValueError):
                raise ParameterError(f"segment must be a whole number, got {ref!r}.", "ref") from None
            crs = self.settings.analysis_crs
            return to_analysis(seg, crs).buffer(15, cap_style="flat").to_crs(4326).iloc[0]
        if source == "drawn":
            try:
                g = shape(geometry if isinstance(geometry, dict) else json.loads(geometry))
            except (TypeError, ValueError, KeyError, AttributeError, IndexError, shapely.errors.GEOSException):
                raise ParameterError("geometry must be a GeoJSON Polygon in lon/lat.", "geometry") from None
            if g.geom_type not in ("Polygon", "MultiPolygon") or g.is_empty or not g.is_valid:
                raise ParameterError("geometry must be a valid GeoJSON Polygon in lon/lat.", "geometry")
            if not shapely.within(g, shapely.box(-180, -90, 180, 90)):
                raise ParameterError("geometry must be in lon/lat (EPSG:4326).", "geometry")
            return g
        raise ParameterError(f"source must be hotspot, segment or drawn, got {source!r}.", "source")

    def create_place(self, *, source: str, ref=None, geometry=None, name: str | None = None,
                     owner: str = "", start_date: str | None = None) -> dict:
        """Create a place followed (``review.write``: coordinator, police, admin, a ZAC manager
        in their ZAC). Its name defaults to the streets' (``layers.naming``); a place made from
        a hotspot area takes over the area's review status and owner."""
        from shapely.geometry import mapping

        from geo_app.i18n import place_name

        check(self.account, "review.write", what="places")
        geom = self.new_place_geometry(source, ref, geometry)
        zac = self.workspace.frame("zac")
        zacs = sorted(zac.loc[zac.intersects(geom), "name"].astype(str)) if len(zac) else []
        self._check_place({"zacs": zacs}, "review.write")
        if not (name or "").strip():
            name = place_name(self.name_parts(geom), "fr") or str(ref or "")
        db = self._db()
        if start_date:
            from layers.places import check_date

            start_date = check_date(start_date, "start_date", required=False)
        place = db.add_place(name=name, geometry=mapping(geom), source=source, source_ref=str(ref or ""),
                             created_by=self.account.name, owner=owner, zacs=zacs, start_date=start_date)
        if source == "hotspot":
            old = db.review(str(ref))
            if old.get("updated") is not None:
                db.set_review(place["place_id"], user=self.account.name, status=old["status"], owner=old["owner"])
        self._audit("place_add", target=place["place_id"], detail={"source": source, "ref": str(ref or "")})
        return place

    def place_frame(self, places: list[dict], columns=("place_id", "name", "owner", "status", "source",
                                                        "start_date")):
        """Places as a GeoDataFrame (EPSG:4326) with ``columns`` (every recorded field with
        ``columns=None``; lists as comma-separated text)."""
        from shapely.geometry import shape

        if columns is None:
            columns = list(dict.fromkeys(k for p in places for k in p if k != "geometry")) or ["place_id"]
        return gpd.GeoDataFrame({c: [_as_text(p.get(c)) for p in places] for c in columns},
                                geometry=[shape(p["geometry"]) for p in places], crs=4326)

    def places_table(self) -> gpd.GeoDataFrame:
        """The places followed the account may see, one row each with every recorded field
        (``place_id``, ``name``, ``owner``, ``status``, ``source``, ``start_date``, ``zacs``…;
        lists as comma-separated text), EPSG:4326: the export's and the OGC API's ``places``."""
        return self.place_frame(self.places() if self._reviews is not None else [], columns=None)

    def actions_table(self) -> gpd.GeoDataFrame:
        """Every action on the places the account may see, one row each with every recorded
        field (``id``, ``place_id``, ``kind``, ``technique``, dates, ``partner``, ``cost``,
        ``status``, ``categories``…; lists as text, an own ``location`` as GeoJSON text) and
        ``place_name``, drawn at its place (EPSG:4326): the export's and the OGC API's
        ``actions``."""
        places = self.places_table()
        rows, geoms = [], []
        for _, p in places.iterrows():
            for a in self.place_actions(p["place_id"]):
                rows.append({**{k: _as_text(v) for k, v in a.items()}, "place_name": p.get("name")})
                geoms.append(p.geometry)
        if not rows:
            return gpd.GeoDataFrame({"id": pd.Series([], dtype="int64")}, geometry=[], crs=4326)
        return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)

    def place_monthly(self, place_id: str):
        """Incidents per month inside a place the account may see (``Workspace.place_monthly``,
        the default filters cut to the role's categories): a Series of float indexed by month;
        where results are served as classes (aggregate model, own-ZAC roles) a month under k is
        NaN (shown blank), never its count. An own-ZAC role counts only the part of the place
        inside its ZACs: two places drawn across a ZAC boundary cannot be differenced into counts
        of incidents it may not see."""
        import shapely
        from shapely.geometry import shape

        place = self.place(place_id)
        f = self._days(self._analysis_filters(None))
        geom = shape(place["geometry"])
        zacs = self._own_zacs()
        if zacs is not None:
            # only what the account may see as points: the part of the place in its own ZACs
            zac = self.workspace.frame("zac")
            own = zac[zac["name"].isin(zacs)].to_crs(4326).union_all() if len(zac) else None
            geom = geom.intersection(own) if own is not None else shapely.Polygon()
        out = self.workspace.place_monthly(geom, f).astype("float64")
        if self._classes(None):
            out = out.where(out >= self.k)
        return out

    def micro_place_counts(self, filters: Filters | None = None, *, night: bool = False):
        """Every micro-place (segments and intersections, ``Workspace.micro_place_counts``) cut
        for the account: own-ZAC ones only; no counts where results are classes. None without
        streets."""
        check(self.account, "hotspots", what="street micro-places")
        return self._cut_segments(filters, self.workspace.micro_place_counts(self._analysis_filters(filters),
                                                                             night=night))

    def place_micro_places(self, place_id: str, *, top: int = 10):
        """The top micro-places (``Workspace.micro_places``) inside a place the account may see,
        cut for the account (counts dropped where results are classes)."""
        from shapely.geometry import shape

        place = self.place(place_id)
        check(self.account, "hotspots", what="street micro-places")
        out = self.workspace.micro_places(shape(place["geometry"]), self._analysis_filters(None), top=top)
        return self._cut_segments(None, out) if len(out) else out

    def place_layers(self) -> dict:
        """The places and actions the account may see, as map layers (EPSG:4326): ``places``
        (``place_frame`` of ``places()``) and ``actions`` (one point per action with
        ``place_id``, ``place_name``, ``kind``, ``status``, ``start_date``, ``end_date``,
        ``partner``, at the action's own ``location`` or else at a point inside its place).
        Both empty without the application database or for a role that may not read reviews."""
        from shapely.geometry import shape

        empty = gpd.GeoDataFrame({"place_id": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
        if self._reviews is None or not self.can("review.read"):
            return {"places": empty, "actions": empty}
        places = self.places()
        frame = self.place_frame(places) if places else empty
        if not places:
            return {"places": frame, "actions": empty}
        where = dict(zip(frame["place_id"], frame.geometry.representative_point()))
        names = dict(zip(frame["place_id"], frame["name"]))
        rows = [a for a in self._reviews.actions() if a["place_id"] in where]
        cols = ("place_id", "kind", "status", "start_date", "end_date", "partner")
        actions = gpd.GeoDataFrame({**{c: [a.get(c) for a in rows] for c in cols},
                                    "place_name": [names[a["place_id"]] for a in rows]},
                                   geometry=[shape(a["location"]) if a.get("location") else where[a["place_id"]]
                                             for a in rows], crs=4326)
        return {"places": frame, "actions": actions}

    def hotspot_places(self, filters: Filters | None = None, *, night: bool = False) -> dict:
        """``hotspot_id`` -> ``place_id`` of the visible hotspot areas that belong to a place
        (``layers.places.match_places``); the others are suggestions."""
        from layers.crs import to_analysis
        from layers.places import match_places

        areas = self.hotspot_areas(filters, night=night)
        places = self.places() if self._reviews is not None else []
        if not len(areas) or not places:
            return {}
        crs = self.settings.analysis_crs
        m = match_places(to_analysis(areas[["hotspot_id", "geometry"]], crs),
                         to_analysis(self.place_frame(places), crs))
        return {str(h): p for h, p in zip(m["hotspot_id"], m["place_id"]) if p is not None}

    def place_actions(self, place_id: str) -> list[dict]:
        """The actions of a place the account may see."""
        self.place(place_id)
        return self._db().actions(place_id)

    def add_action(self, place_id: str, **fields) -> dict:
        """Record an action on a place (``review.write`` on the place; fields:
        ``layers.places.action_record``)."""
        from layers.places import action_record

        place = self.place(place_id, "review.write")
        rec = action_record(situational=self.taxonomy.situational, **fields)
        if rec["location"] is not None:
            self._check_action_location(place, rec["location"])
        out = self._db().add_action(place_id, created_by=self.account.name, **rec)
        self._audit("action_add", target=place_id, detail={"action_id": out["id"], "kind": out["kind"]})
        return out

    def _check_action_location(self, place: dict, location: dict, *, within_m: float = ACTION_REACH_M) -> None:
        """An action's own location must lie within ``within_m`` metres of its place."""
        from shapely.geometry import shape

        from layers.crs import to_analysis

        crs = self.settings.analysis_crs
        both = to_analysis(gpd.GeoSeries([shape(place["geometry"]), shape(location)], crs=4326), crs)
        if both.iloc[0].distance(both.iloc[1]) > within_m:
            raise ParameterError(f"location must lie within {within_m:.0f} m of the place "
                                 f"(an action elsewhere belongs to another place).", "location")

    def action_evaluation(self, place_id: str, action: dict) -> dict:
        """The evaluation (``Workspace.action_evaluation``) of one action of a place the account
        may see, over the categories the role may see in aggregates; for roles that see
        aggregates only, the verdict without the counts."""
        from shapely.geometry import shape

        place = self.place(place_id)
        if action.get("place_id") != place["place_id"]:
            raise ParameterError("this action belongs to another place.", "action")
        allowed = set(aggregate_filters(self.account, self.workspace.default_filters(None),
                                        taxonomy=self.taxonomy).categories or ())
        cats = [c for c in action["categories"] if not allowed or c in allowed]
        ev = dict(self.workspace.action_evaluation(shape(place["geometry"]), start=action["start_date"],
                                                   end=action["end_date"], categories=cats,
                                                   night_only=action["night_only"]))
        if self._suppress(None) and ev.get("status") == "evaluated":
            ev = {k: ev[k] for k in ("status", "days", "min_days", "alpha", "before", "after", "verdict",
                                     "displacement", "change_local")}
        return ev

    def action_evaluations(self, place_id: str) -> dict:
        """``action id`` -> evaluation of each done action of the place (``action_evaluation``)."""
        self.place(place_id)
        return {a["id"]: self.action_evaluation(place_id, a)
                for a in self._db().actions(place_id) if a["status"] == "done"}

    def place_review(self, place_id: str) -> dict:
        """What a place's review panel shows: status, owner, history and thread."""
        place = self.place(place_id)
        try:
            self._check_place(place, "review.write")
            writable = can(self.account, "review.write")
        except Forbidden:
            writable = False
        db = self._db()
        return {"place_id": place_id, "review": db.review(place_id), "history": db.history(place_id),
                "comments": db.comments(place_id), "can_write": writable, "statuses": STATUSES}

    # -- reviews ----------------------------------------------------------------------------
    def review_status(self, hotspot_ids) -> tuple[dict, bool]:
        """Review status of each hotspot, and whether a review store is attached."""
        if self._reviews is None:
            return {h: DEFAULT_STATUS for h in hotspot_ids}, False
        stored = self._reviews.reviews()
        return {h: stored.get(str(h), {}).get("status", DEFAULT_STATUS) for h in hotspot_ids}, True

    def review(self, hotspot_id: str, *, area=None) -> dict:
        """What the review panel shows for one hotspot area. ``area`` (its row) is given by a
        page that found it with its own filters (a hotspot of thefts only is not among the
        default areas); without it the area is looked up among the default ones."""
        db = self._reviews
        if area is None:
            area = self.find_hotspot(hotspot_id)
        else:
            check(self.account, "review.read", what="reviews")
            check_hotspot(self.account, area, "review.read")
            area = {k: area[k] for k in area.index if k != "geometry"} if hasattr(area, "index") else dict(area)
        try:
            check_hotspot(self.account, area or {"zac": None}, "review.write")
            writable = can(self.account, "review.write")
        except Forbidden:
            writable = False
        return {
            "hotspot_id": str(hotspot_id), "area": area, "review": db.review(hotspot_id),
            "history": db.history(hotspot_id), "comments": db.comments(hotspot_id), "can_write": writable,
            "statuses": STATUSES,
        }

    def reviewed_areas(self) -> list[dict]:
        """The hotspot areas of the default filters the account may see, with their review."""
        try:
            areas = self.hotspot_areas(None)
        except VigieError:
            return []
        stored = self._reviews.reviews() if self._reviews is not None else {}
        rows = []
        for _, r in areas.iterrows():
            rev = stored.get(str(r["hotspot_id"]), {})
            rows.append({"hotspot_id": str(r["hotspot_id"]), "n": r.get("n"), "zac": r.get("zac") or "",
                         "status": rev.get("status", DEFAULT_STATUS), "owner": rev.get("owner", ""),
                         "updated": rev.get("updated")})
        return rows

    # -- the dashboard ----------------------------------------------------------------------
    def dashboard(self, filters: Filters | None, *, night: bool = False, cells: int = 60) -> dict:
        """Everything the dashboard map draws, aggregated server-side and cut for the account.

        Returns a dict: ``context`` (small layers embedded, polygons simplified), ``dynamic``
        (kinds loaded per bbox by the page), ``incident_grid``, ``gistar``, ``hotspots``,
        ``lazy`` (hidden layers loaded from ``/api/map/<name>``), ``places`` and ``actions``
        (``place_layers``: the places followed the account may see and their actions),
        ``figures``, ``counts``, ``concentration`` (``street_concentration``, None without
        streets), ``extent`` and ``notes`` (why a layer is missing).
        """
        from layers.registry import get_spec

        filters = (filters or Filters()).replace(bbox=None)
        ws = self.workspace
        counts = self.counts()
        context, dynamic = {}, (["incidents"] if self.sees_points else [])
        for kind in CONTEXT_KINDS:
            if not counts.get(kind):
                continue
            if get_spec(kind).large or counts[kind] > EMBED_MAX:
                dynamic.append(kind)
            else:
                context[kind] = ws.embedded(kind)
        out = {"context": context, "dynamic": dynamic, "incident_grid": None, "gistar": None, "hotspots": None,
               "lazy": [], "notes": [], "concentration": None, "counts": counts, "extent": self.extent(),
               "figures": self.key_figures(filters, night=night), **self.place_layers()}
        if counts.get("incidents"):
            out["incident_grid"] = self.grid("incidents", filters, bbox=self.extent(), cells=cells, night=night)
            try:
                out["gistar"] = self.analysis("gistar", filters, night=night)
                out["hotspots"] = self.hotspot_areas(filters, night=night)
                out["lazy"] = list(LAZY_LAYERS)
            except VigieError as e:  # too few incidents for these filters: say why, draw the rest
                if e.status >= 500:
                    raise
                out["notes"].append(e.message)
            if counts.get("streets"):
                try:
                    out["concentration"] = self.street_concentration(filters, night=night)
                except VigieError as e:
                    if e.status >= 500:
                        raise
        return out

    # -- exports ----------------------------------------------------------------------------
    def exportable(self) -> list[str]:
        """The layers the account may export (incident points only with point rights and full
        export rights)."""
        mode = export_mode(self.account)
        names = list(EXPORTS)
        if mode.aggregates_only or not self.sees_points:
            names.remove("incidents")
        if self._reviews is None or not self.can("review.read"):
            names = [n for n in names if n not in ("places", "actions")]
        return names

    def export_layers(self, names: list[str], filters: Filters, *, night: bool = False,
                      include_sensitive: bool = False) -> tuple[dict, dict]:
        """The GeoDataFrames to export and the facts for their provenance.

        ``include_sensitive`` lets the ``proposals`` layer use the sensitive categories (police
        only). ``Forbidden`` for a layer the role may not export, ``ParameterError`` for an
        unknown one.
        """
        from layers.privacy import aggregate_to_grid

        if include_sensitive and "proposals" not in names:
            raise ParameterError("sensitive=1 applies to the 'proposals' layer only: add layer=proposals "
                                 "or remove sensitive.", "sensitive")
        allowed = self.exportable()
        mode = export_mode(self.account)
        suppress = mode.aggregates_only or self._suppress(filters)
        whole = filters.replace(bbox=None)
        out, facts = {}, {"suppressed_cells": {}}
        for name in names:
            if name not in EXPORTS:
                raise ParameterError(f"unknown layer '{name}'; layers you may export: {', '.join(allowed)}.", "layer")
            if name not in allowed:
                raise Forbidden(f"the role '{self.account.role}' exports incidents as aggregates only: choose "
                                f"'incidents_grid' instead of '{name}'.")
            if name == "incidents":
                gdf = self.read("incidents", filters, night=night)
            elif name == "incidents_grid":
                f = aggregate_filters(self.account, self.workspace.default_filters(filters), taxonomy=self.taxonomy)
                if suppress:  # the same fixed lattice as the map's grid: a bbox selects whole cells
                    gdf = self._lattice(self._days(f), bbox=f.bbox, night=night)
                    facts["suppressed_cells"][name] = int(gdf.attrs["suppressed"])
                    facts["cell_size_m"] = gdf.attrs["cell_m"]
                    gdf = gdf.copy()
                    gdf.attrs = {}
                    out[name] = gdf
                    continue
                inc = (self.workspace.read("incidents", f, night=night) if f.categories is None or f.categories
                       else self.workspace.incidents_at(np.zeros(0, dtype=np.int64)))
                gdf = aggregate_to_grid(inc, cell_size=self.settings.privacy_cell_m,
                                        crs=self.settings.analysis_crs or 2154, k=self.k if suppress else 1)
                facts["suppressed_cells"][name] = int(gdf.attrs.get("suppressed", 0))
                facts["cell_size_m"] = gdf.attrs.get("cell_size")
            elif name == "hotspots":
                gdf = self.hotspot_areas(whole, night=night)
                gdf = area_classes(gdf, k=self.k) if suppress else gdf
            elif name in ("gistar", "kde"):
                gdf = self.analysis(name, whole, night=night)
                gdf = blank_small_counts(gdf, k=self.k) if suppress else gdf
            elif name == "emerging":
                gdf = self.emerging(whole, night=night)
            elif name == "proposals":
                gdf = self.proposals(whole, night=night, include_sensitive=include_sensitive)
                facts["proposals_sensitive_categories"] = "used" if include_sensitive else "not used"
            elif name == "places":
                gdf = self.places_table()
            elif name == "actions":
                gdf = self.actions_table()
            else:
                gdf = self.read(name, filters if filters.bbox else None)
            gdf = gdf.copy()
            gdf.attrs = {}
            out[name] = gdf.drop(columns=[c for c in ("batch_id",) if c in gdf.columns and name != "incidents"])
        return out, facts

    # -- the monthly report -----------------------------------------------------------------
    @property
    def report_audience(self) -> str:
        """``police`` for roles seeing sensitive categories as points, else ``partners``."""
        return "police" if scope(self.account, "sensitive_points") is Scope.ALL else "partners"

    def report_zac(self, zac: str | None) -> str | None:
        """The ZAC a report may cover: a ZAC manager's own (their first by default)."""
        if scope(self.account, "hotspots").own_zac:
            own = tuple(getattr(self.account, "zacs", ()) or ())
            if not own:
                raise Forbidden("your account is not attached to any ZAC: ask the administrator.")
            if zac is None:
                return own[0]
            if zac not in own:
                raise Forbidden(f"the ZAC '{zac}' is outside your ZACs ({', '.join(own)}).")
        return zac

    def report_zac_choices(self) -> tuple[list[str], bool]:
        """The ZACs the account may ask a report for, and whether the whole city is allowed."""
        if scope(self.account, "hotspots").own_zac:
            return list(getattr(self.account, "zacs", ()) or ()), False
        return self.zac_names(), True

    def _report(self, **options) -> dict:
        """``geo_app.report.build_report`` of this version, cached (a report with images
        serves its data too)."""
        from geo_app.report import build_report

        ws = self.workspace
        key = tuple(sorted((k, str(v)) for k, v in options.items()))
        if not options.get("images", True):
            with_images = tuple(sorted((k, str(v)) for k, v in {**options, "images": True}.items()))
            hit = ws.peek("report", with_images)
            if hit is not None:
                return hit
        return ws.cached("report", key, lambda: build_report(ws, **options))

    def report(self, *, month, zac: str | None = None, lang: str = "fr", images: bool = True) -> dict:
        """The monthly report for the account: the police version (points, every category)
        for roles seeing sensitive points, else the partners' version (aggregated, counts
        under k hidden), without the sensitive categories at all for roles holding no right on
        them; a ZAC manager's report covers one of their ZACs. The police version is audited."""
        check(self.account, "hotspots", what="reports")
        zac = self.report_zac(zac)
        audience = self.report_audience
        include_sensitive = scope(self.account, "sensitive_points") is not Scope.NONE
        rep = self._report(month=month, zac=zac, lang=lang, audience=audience, images=images,
                           include_sensitive=include_sensitive)
        if audience == "police":
            self._audit("view_points", target=f"report {month}", detail={"zac": zac})
        return rep
