"""Fixtures of the OGC API – Features tests: the access tests' medium city (two ZACs, 500
incidents, hotspots in each ZAC) with one account per role, and Basic-auth clients."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "access"))

PASSWORD = "test-password"
ROLES = ("coordinator", "police", "zac_manager", "planner", "admin")


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


def make_app(home, **extra):
    from geo_app import create_app

    cfg = {"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "test", "TILE_URL": "",
           "WTF_CSRF_ENABLED": False}
    cfg.update(extra)
    return create_app(cfg)


@pytest.fixture(scope="session")
def ogc_app(ogc_city):
    return make_app(ogc_city)


def basic(user: str, password: str = PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class BasicClient:
    """A Flask test client sending HTTP Basic credentials with every request."""

    def __init__(self, app, user, password=PASSWORD):
        self.client = app.test_client()
        self.headers = basic(user, password)

    def get(self, url, **kw):
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.get(url, headers=headers, **kw)


@pytest.fixture
def as_role(ogc_app):
    """``as_role("police")`` -> a client authenticated with HTTP Basic."""
    return lambda role, password=PASSWORD: BasicClient(ogc_app, role, password)
