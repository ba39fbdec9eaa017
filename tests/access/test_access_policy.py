"""The permission table (DESIGN.md §8) and the policy functions, without Flask."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from access_city import small_incidents, small_zacs

from geo_app import access
from geo_app.access import PERMISSIONS, ROLES, Scope
from layers.errors import Forbidden, ParameterError
from layers.filters import Filters
from layers.registry import default_taxonomy

TAX = default_taxonomy()
SENSITIVE = TAX.sensitive
ORDINARY = frozenset(TAX.codes) - SENSITIVE


def user(role, zacs=()):
    return SimpleNamespace(name=role, role=role, zacs=tuple(zacs))


# DESIGN.md §8, copied by hand: a change of the table must be a change of this test too.
DESIGN_TABLE = {
    #                    coordinator   police   zac_manager            planner       admin
    "points":           ("all",        "all",   "own_zac",             "aggregates", "all"),
    "sensitive_points": ("aggregates", "all",   "none",                "none",       "aggregates"),
    "hotspots":         ("all",        "all",   "own_zac",             "all",        "all"),
    "review.read":      ("all",        "all",   "own_zac",             "all",        "all"),
    "review.write":     ("all",        "all",   "own_zac",             "none",       "all"),
    "export":           ("all",        "all",   "own_zac_aggregates",  "aggregates", "all"),
    "import":           ("none",       "none",  "none",                "none",       "all"),
    "users":            ("none",       "none",  "none",                "none",       "all"),
    "map":              ("all",        "all",   "all",                 "all",        "all"),
}


def test_permission_table_is_design_table():
    assert ROLES == ("coordinator", "police", "zac_manager", "planner", "admin")
    assert set(PERMISSIONS) == set(DESIGN_TABLE)
    for perm, row in DESIGN_TABLE.items():
        assert tuple(PERMISSIONS[perm][r].value for r in ROLES) == row, perm


def test_anonymous_and_unknown_roles_hold_nothing():
    for u in (None, user(""), user("mayor")):
        assert all(access.scope(u, p) is Scope.NONE for p in PERMISSIONS)
        with pytest.raises(Forbidden):
            access.check(u, "map")


def test_check_role():
    assert access.check_role("police") == "police"
    with pytest.raises(ParameterError, match="coordinator"):
        access.check_role("sheriff")


@pytest.mark.parametrize("role, points, aggregates", [
    ("coordinator", ORDINARY, ORDINARY | SENSITIVE),
    ("police", ORDINARY | SENSITIVE, ORDINARY | SENSITIVE),
    ("zac_manager", ORDINARY, ORDINARY),
    ("planner", frozenset(), ORDINARY),
    ("admin", ORDINARY, ORDINARY | SENSITIVE),
])
def test_incident_access(role, points, aggregates):
    acc = access.incident_access(user(role, ["Alpha"]), TAX)
    assert acc.point_categories == points
    assert acc.aggregate_categories == aggregates
    assert acc.zacs == (("Alpha",) if role == "zac_manager" else None)


def test_point_filters_remove_sensitive_except_police():
    asked = Filters(categories=("theft", "domestic_violence"))
    assert access.point_filters(user("coordinator"), asked, taxonomy=TAX).categories == ("theft",)
    assert access.point_filters(user("police"), asked, taxonomy=TAX).categories == asked.categories
    with pytest.raises(Forbidden, match="aggregates"):
        access.point_filters(user("planner"), asked, taxonomy=TAX)


def test_zac_manager_is_held_to_own_zac():
    zm = user("zac_manager", ["Alpha"])
    f = access.point_filters(zm, None, taxonomy=TAX)
    assert f.zac == ("Alpha",) and not set(f.categories) & SENSITIVE
    assert access.point_filters(zm, Filters(zac=("Alpha",)), taxonomy=TAX).zac == ("Alpha",)
    with pytest.raises(Forbidden, match="Beta"):
        access.point_filters(zm, Filters(zac=("Beta",)), taxonomy=TAX)
    with pytest.raises(Forbidden, match="Beta"):
        access.aggregate_filters(zm, Filters(zac=("Alpha", "Beta")), taxonomy=TAX)
    with pytest.raises(Forbidden, match="no ZAC"):
        access.point_filters(user("zac_manager", []), None, taxonomy=TAX)


def test_scope_incidents_on_a_frame():
    inc = small_incidents().to_crs(4326)
    zacs = small_zacs().to_crs(4326)
    police = access.scope_incidents(user("police"), inc, taxonomy=TAX)
    assert len(police) == 19
    coord = access.scope_incidents(user("coordinator"), inc, taxonomy=TAX)
    assert len(coord) == 17 and not coord["category"].isin(SENSITIVE).any()
    zm = access.scope_incidents(user("zac_manager", ["Alpha"]), inc, taxonomy=TAX, zac_layer=zacs)
    assert len(zm) == 10 and set(zm["category"]) == {"theft", "burglary"}  # 7 + 3, no DV
    with pytest.raises(Forbidden):
        access.scope_incidents(user("planner"), inc, taxonomy=TAX)


def test_needs_suppression():
    assert access.needs_suppression(user("planner"), None, taxonomy=TAX)
    assert access.needs_suppression(user("coordinator"), None, taxonomy=TAX)  # sensitive inside
    assert not access.needs_suppression(user("coordinator"), Filters(categories=("theft",)), taxonomy=TAX)
    assert not access.needs_suppression(user("police"), None, taxonomy=TAX)


def test_hotspots_of_a_zac_manager():
    import geopandas as gpd
    from shapely.geometry import Point

    areas = gpd.GeoDataFrame({"hotspot_id": ["H1", "H2", "H3"], "zac": ["Alpha", "Beta, Alpha", None]},
                             geometry=[Point(0, 0)] * 3, crs=4326)
    assert list(access.visible_hotspots(user("zac_manager", ["Alpha"]), areas)["hotspot_id"]) == ["H1", "H2"]
    assert list(access.visible_hotspots(user("zac_manager", ["Beta"]), areas)["hotspot_id"]) == ["H2"]
    assert len(access.visible_hotspots(user("planner"), areas)) == 3
    access.check_hotspot(user("zac_manager", ["Alpha"]), {"zac": "Alpha"}, "review.write")
    with pytest.raises(Forbidden, match="outside your ZAC"):
        access.check_hotspot(user("zac_manager", ["Alpha"]), {"zac": "Beta"})
    with pytest.raises(Forbidden):
        access.check_hotspot(user("planner"), {"zac": "Alpha"}, "review.write")


def test_proposals_never_use_sensitive_unless_police_asks():
    assert not access.proposal_categories(user("coordinator"), TAX) & SENSITIVE
    assert not access.proposal_categories(user("police"), TAX) & SENSITIVE
    assert SENSITIVE <= access.proposal_categories(user("police"), TAX, include_sensitive=True)
    with pytest.raises(Forbidden, match="police"):
        access.proposal_categories(user("coordinator"), TAX, include_sensitive=True)


def test_endpoint_permissions():
    assert access.permission_for_endpoint("auth.login") is None
    assert access.permission_for_endpoint("static") is None
    assert access.permission_for_endpoint("imports.index") == "import"
    assert access.permission_for_endpoint("admin.audit") == "users"
    assert access.permission_for_endpoint("review.add_comment") == "review.write"
    assert access.permission_for_endpoint("maps.dashboard") == "map"



#: Workspace methods that return no incident data a role could be denied: deployment facts,
#: context layers, plumbing used by the viewer's own methods (columns, masks, grids, points
#: indexed by already-cut filters), or results that the viewer cuts in its own method
HARMLESS = {"store", "settings", "taxonomy", "tz", "k", "version", "pinned", "cached", "default_filters",
            "warm", "counts", "extent", "study_area", "analysis_grid", "columns", "darkness_codes", "mask",
            "rows", "analysis_points", "frame", "context", "near", "embedded", "hotspot", "clear", "peek",
            "max_cells", "min_cell_size", "limit_heavy",  # resource limits: no incident data
            "proposal_models",  # plumbing of Workspace.proposals, which the viewer cuts
            "incidents_at",  # rows of frame("incidents"): the viewer's read/page/select pass cut rows
            "backtest_runs",  # plumbing of Workspace.backtest (and geo-app backtest), which the viewer cuts
            "address_index",  # the public address register: no incident data
            "incident_cells", "incident_segments",  # per-incident arrays beside columns(): cut by the viewer's rows
            "prepare", "snapshots", "saved_proposal_models", "save_in_background",
            "WARM_MODELS_MAX"}  # snapshots on disk: plumbing


def test_every_workspace_read_has_a_viewer_rule():
    """A new public method of the workspace must have its counterpart in the Viewer (where
    the role rules apply) or be reviewed as returning nothing a role may be denied."""
    from geo_app.access import Viewer
    from geo_app.workspace import Workspace

    public = {n for n in dir(Workspace) if not n.startswith("_")}
    ruled = {n for n in public if n in Viewer.__dict__}
    assert not public - ruled - HARMLESS, (
        f"Workspace methods with no role rule: {sorted(public - ruled - HARMLESS)}; add a Viewer method "
        "applying the rules, or list them in HARMLESS with a reason.")


@pytest.mark.parametrize("role", ROLES)
def test_service_proposals_never_get_sensitive_categories(role, monkeypatch, home):
    """Viewer.proposals hands the recommender situational, non-sensitive categories only,
    whatever the role (police included) and whatever was asked."""
    import geopandas as gpd

    from geo_app.access import Viewer
    from geo_app.workspace import Workspace

    seen = []

    def spy(self, filters=None, *, night=False, k=5, include_sensitive=False):
        assert include_sensitive is False  # nobody asked (sensitive=1: test_access_sensitive_proposals)
        seen.append(filters)
        return gpd.GeoDataFrame({"kind": []}, geometry=[], crs=4326)

    monkeypatch.setattr(Workspace, "proposals", spy)
    viewer = Viewer(Workspace(home).pinned(), user(role, ["Alpha"]))
    asked = Filters(categories=("theft", "domestic_violence", "weapons"))
    viewer.proposals(asked)
    viewer.proposals(None)
    for f in seen:
        assert f.categories is not None and not set(f.categories) & SENSITIVE
        assert set(f.categories) <= TAX.situational
    assert seen[0].categories == ("theft",)  # weapons is not situational
