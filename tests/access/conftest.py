"""Fixtures of the access tests (the small city is described in ``access_city``)."""

from __future__ import annotations

import pytest
from access_city import fill_store


@pytest.fixture
def small_home(home):
    """An empty deployment (``home``) holding the small city."""
    fill_store(home)
    return home
