"""Who may see what: the role table (``policy``) and the ``Viewer`` that applies it.

``geo_app.access.policy`` is DESIGN.md §8 as data and pure functions; ``Viewer(workspace,
account)`` (``geo_app.access.viewer``) composes those rules over a workspace for pages, API,
exports and the report. Neither imports Flask.
"""

from geo_app.access.policy import (
    BLUEPRINT_PERMISSIONS,
    PERMISSIONS,
    PUBLIC_ENDPOINTS,
    ROLES,
    ROUTE_PERMISSIONS,
    IncidentAccess,
    Scope,
    aggregate_filters,
    can,
    check,
    check_hotspot,
    check_role,
    export_mode,
    incident_access,
    needs_suppression,
    permission_for_endpoint,
    point_filters,
    proposal_categories,
    scope,
    scope_incidents,
    visible_hotspots,
)
from geo_app.access.viewer import EXPORTS, Viewer
from layers.errors import Forbidden

__all__ = [
    "BLUEPRINT_PERMISSIONS",
    "EXPORTS",
    "PERMISSIONS",
    "PUBLIC_ENDPOINTS",
    "ROLES",
    "ROUTE_PERMISSIONS",
    "Forbidden",
    "IncidentAccess",
    "Scope",
    "Viewer",
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
