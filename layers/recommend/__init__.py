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
``solve_max_cover``           the covering core (exact HiGHS MIP or lazy greedy, with bound)
============================  =============================================================
"""

from layers.recommend.cctv import coverage_matrix, site_cameras
from layers.recommend.covering import CoverResult, solve_max_cover
from layers.recommend.techniques import EVIDENCE, TECHNIQUES, technique

__all__ = [
    "site_cameras",
    "coverage_matrix",
    "solve_max_cover",
    "CoverResult",
    "TECHNIQUES",
    "EVIDENCE",
    "technique",
]
