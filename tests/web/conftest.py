"""Fixtures of the web tests: an app over a small in-memory city, its client."""

from __future__ import annotations

import pytest
from web_fakes import MemoryStore, small_city


@pytest.fixture(scope="session")
def city():
    return small_city()


@pytest.fixture
def store(city):
    return MemoryStore(city)


@pytest.fixture
def app(home, store):
    from geo_app import create_app

    # pages are tested as the local administrator (LOGIN_DISABLED); roles are tests/access's
    return create_app({"TESTING": True, "STORE": store, "TILE_URL": "", "SECRET_KEY": "test",
                       "LOGIN_DISABLED": True})


@pytest.fixture
def client(app):
    return app.test_client()
