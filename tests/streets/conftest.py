"""Fixtures shared by the street, place and action tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def own_zac(demo_copy):
    """The demo ZAC manager's ZAC: ``(name, polygon in EPSG:4326)``."""
    from geo_app.accounts import _demo_zac
    from geo_app.config import Home

    home = Home(demo_copy)
    name = _demo_zac(home)
    zac = home.store.read("zac")
    return name, zac[zac["name"] == name].geometry.iloc[0]
