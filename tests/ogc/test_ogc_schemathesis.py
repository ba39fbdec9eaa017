"""Property-based fuzzing of ``/ogc`` from its own OpenAPI document with Schemathesis, through
the WSGI app as the police account (HTTP Basic): any request the document allows, and the
negative ones it generates, must never give a server error."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install -e '.[test]' installs schemathesis")

from ogc_helpers import basic, make_app
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error


@pytest.fixture(scope="module")
def fuzz_app(ogc_city):
    app = make_app(ogc_city, TESTING=False)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show as a 500 answer, seen by the check
    return app


def _served_document() -> dict:
    """The document the app serves at /ogc/api (an empty deployment in open mode: every
    collection id of the local administrator)."""
    import tempfile

    from geo_app import create_app

    app = create_app({"TESTING": True, "HOME": tempfile.mkdtemp(prefix="vigie-ogc-openapi-"), "SECRET_KEY": "t",
                      "TILE_URL": "", "LOGIN_DISABLED": True})
    r = app.test_client().get("/ogc/api")
    assert r.status_code == 200, r.status_code
    doc = r.get_json(force=True)
    doc["servers"] = [{"url": "/ogc"}]
    return doc


schema = schemathesis.openapi.from_dict(_served_document())


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_ogc_never_answers_a_server_error(case, fuzz_app):
    response = case.call(app=fuzz_app, headers=basic("police"))
    case.validate_response(response, checks=[not_a_server_error])
