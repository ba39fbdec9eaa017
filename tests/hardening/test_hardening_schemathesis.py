"""Property-based fuzzing of the API from its own OpenAPI document (``/api/openapi.json``) with
Schemathesis, through the WSGI app (no network): any request the document allows, and the
negative ones it generates, must never give a server error (5xx).

Bounded (a few examples per operation, no deadline) so that it runs in seconds; the hand-written
sweep of ``test_hardening_routes.py`` holds the named-parameter checks.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install -e '.[test]' installs schemathesis")

from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error


@pytest.fixture(scope="module")
def api_app(small_demo):
    from geo_app import create_app

    # open mode (the local administrator): the fuzzer reaches every operation without a login
    app = create_app({"TESTING": False, "HOME": str(small_demo.path), "SECRET_KEY": "test", "TILE_URL": "",
                      "LOGIN_DISABLED": True})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show as a 500 answer, seen by the check
    return app


def _served_document() -> dict:
    """The document the app serves at /api/openapi.json (read through the app, not rebuilt)."""
    import tempfile

    from geo_app import create_app

    home = tempfile.mkdtemp(prefix="vigie-openapi-")  # an empty deployment: the document needs no data
    app = create_app({"TESTING": True, "HOME": home, "SECRET_KEY": "test", "TILE_URL": "",
                      "LOGIN_DISABLED": True})
    r = app.test_client().get("/api/openapi.json")
    assert r.status_code == 200, r.status_code
    return r.json


# Schemathesis' lazy fixture loader does not work with pytest 9 (``Function._nodeid``), so the
# schema is loaded at collection time from the served document and each case is sent to the
# module's app explicitly (``case.call(app=...)``).
schema = schemathesis.openapi.from_dict(_served_document())


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_answers_a_server_error(case, api_app, small_demo):
    version = small_demo.store.version
    response = case.call(app=api_app)
    case.validate_response(response, checks=[not_a_server_error])
    assert small_demo.store.version == version
