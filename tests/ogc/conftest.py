"""Fixtures of the OGC API – Features tests: the access tests' medium city (two ZACs, 440
incidents, hotspots in each ZAC) with one account per role, and Basic-auth clients."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ogc_helpers import PASSWORD, BasicClient, make_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "access"))


@pytest.fixture(scope="session")
def ogc_city(tmp_path_factory):
    from access_city import fill_medium_store

    from geo_app.accounts import create_demo_accounts
    from geo_app.config import Home, write_config

    path = tmp_path_factory.mktemp("ogc-city") / "home"
    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris", "k_anonymity": 5})
    home = Home(path)
    fill_medium_store(home)
    create_demo_accounts(home, PASSWORD)
    return home


@pytest.fixture(scope="session")
def ogc_app(ogc_city):
    return make_app(ogc_city)


@pytest.fixture
def as_role(ogc_app):
    """``as_role("police")`` -> a client authenticated with HTTP Basic."""
    return lambda role, password=PASSWORD: BasicClient(ogc_app, role, password)
