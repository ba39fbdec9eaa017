"""Helpers of the OGC API – Features tests (accounts, the app factory, HTTP Basic)."""

from __future__ import annotations

import base64

PASSWORD = "test-password"
ROLES = ("coordinator", "police", "zac_manager", "planner", "admin")


def make_app(home, **extra):
    from geo_app import create_app

    cfg = {"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "test", "TILE_URL": "",
           "WTF_CSRF_ENABLED": False}
    cfg.update(extra)
    return create_app(cfg)


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
