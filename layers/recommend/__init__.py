"""Situational-prevention proposals: CCTV siting, lighting gaps, context, explanations.

============================  =============================================================
function                      what it gives
============================  =============================================================
``site_cameras``              new CCTV sites (maximal covering, existing cameras locked in)
``dark_hotspots``             places with mostly night-time incidents and few working lamps
``propose_lamps``             lamp positions covering the most unlit night-time incidents
``context_schools``           incidents near each school, in and out of school hours
``context_shops``             incidents near each shop, bars and late alcohol apart
``zone_summary``              counts and trends per ZAC and per area, with a test
``risk_terrain``              relative risks of places near shops, bars, schools, lamps (RTM)
``risk_surface``              the risk terrain map: each cell's relative risk score
``solve_max_cover``           the covering core (exact HiGHS MIP or lazy greedy, with bound)
``prepare_cameras``           CCTV and lamp covering models built once for many selections
``prepare_lamps``             (``site_cameras_prepared``, ``propose_lamps_prepared``)
============================  =============================================================
"""

from layers.recommend.cctv import coverage_matrix, site_cameras
from layers.recommend.context import context_schools, context_shops, zone_summary
from layers.recommend.covering import CoverResult, solve_max_cover
from layers.recommend.lighting import dark_hotspots, propose_lamps
from layers.recommend.prepared import (
    PreparedCameras,
    PreparedLamps,
    prepare_cameras,
    prepare_lamps,
    propose_lamps_prepared,
    site_cameras_prepared,
)
from layers.recommend.rtm import risk_surface, risk_terrain
from layers.recommend.techniques import EVIDENCE, TECHNIQUES, technique

__all__ = [
    "EVIDENCE",
    "TECHNIQUES",
    "CoverResult",
    "PreparedCameras",
    "PreparedLamps",
    "context_schools",
    "context_shops",
    "coverage_matrix",
    "dark_hotspots",
    "prepare_cameras",
    "prepare_lamps",
    "propose_lamps",
    "propose_lamps_prepared",
    "risk_surface",
    "risk_terrain",
    "site_cameras",
    "site_cameras_prepared",
    "solve_max_cover",
    "technique",
    "zone_summary",
]
