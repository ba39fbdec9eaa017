"""Vigie's web service: a thin Flask shell over the ``layers`` library.

``create_app(test_config=None)`` builds the application (no app is created at import time):

1. configuration: ``DEFAULTS`` below, then the ``[web]`` table of ``$GEO_APP_HOME/config.toml``
   (lower-case keys: ``tile_url = "…"``), then ``GEO_APP_<KEY>`` environment variables
   (``GEO_APP_TILE_URL``, ``GEO_APP_TILE_ATTRIBUTION``, ``GEO_APP_SECRET_KEY``…), then
   ``test_config``;
2. resources attached with ``init_app``: the workspace (``geo_app.workspace``: every read and
   analysis, cached per store version), the self-hosted assets (``geo_app.assets``), the
   translations (Flask-Babel), accounts and the request's viewer (``geo_app.auth``);
3. one blueprint per feature, registered from ``BLUEPRINTS``; a view whose store changed under
   it (an import landing mid-request: ``workspace.VersionChanged``) runs again on the new
   version;
4. one error handler mapping ``layers.errors.VigieError`` (and HTTP 404/405) to an HTML page or
   a JSON body ``{"error", "message", "param"}`` (JSON under ``/api`` or when the client
   accepts JSON only).
"""

from __future__ import annotations

import logging
import os
import secrets
from importlib import import_module

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from layers.errors import ParameterError, VigieError

__all__ = ["BLUEPRINTS", "DEFAULTS", "create_app"]

#: configuration keys, their defaults (also the keys of config.toml's [web] table, lower-case)
DEFAULTS: dict = {
    # basemap: an empty URL gives a blank basemap (closed networks)
    "TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "TILE_ATTRIBUTION": "&copy; OpenStreetMap contributors",
    "SECRET_KEY": None,  # random per process when unset (sessions then end on restart)
    "LANGUAGES": ("fr", "en"),
    "BABEL_DEFAULT_LOCALE": "fr",
    "POINTS_MIN_ZOOM": 15,  # dynamic layers draw points from this zoom level on
    "POINTS_LIMIT": 2000,  # ... and only when the view holds at most this many
    "GRID_CELLS": 60,  # dashboard incident grid: cells across the territory
    "API_DEFAULT_LIMIT": 1000,
    "API_MAX_LIMIT": 10000,
    "HOME": None,  # deployment folder; default GEO_APP_HOME or ./instance
    "STORE": None,  # a Store object replacing the home's (tests, benchmarks)
    "VENDOR_DIR": None,  # where npm installed the assets (default: node_modules/)
    "CACHE_MB": 2048,  # memory budget of the workspace's caches, MB
    "TRUSTED_PROXIES": (),  # reverse proxies whose X-Forwarded-For is read (none by default)
    "SESSION_LIFETIME_HOURS": 12,  # a server-side session record expires after this
    "LOGIN_MAX_FAILURES": 5,  # failures per account and address before the back-off
    "LOGIN_MAX_FAILURES_ACCOUNT": 20,  # failures per account from any address before the back-off
    "LOGIN_BACKOFF_SECONDS": 60,  # first wait, doubling with each further failure
    "LOGIN_WINDOW_SECONDS": 900,  # failures older than this are forgotten; the longest wait
    "ANALYSIS_MAX_CELLS": 250_000,  # most cells a chosen analysis cell size may give
    "HEAVY_ANALYSES": 2,  # analyses computed at once; the others wait, then answer 503
    "HEAVY_WAIT_SECONDS": 20,  # how long a request waits for its turn before the 503
    "IMPORT_MEMORY_MB": 4096,  # memory a web import's child process may take beyond its libraries; 0: no cap
}

#: feature blueprints, each module exposing ``bp``
BLUEPRINTS = [
    "geo_app.views.maps",
    "geo_app.views.hotspots",
    "geo_app.views.api",
    "geo_app.views.i18n",
    "geo_app.views.review",
    "geo_app.views.places",
    "geo_app.views.exports",
    "geo_app.views.admin",
    "geo_app.views.reports",
    "geo_app.views.imports",
    "geo_app.views.ogc",
    "geo_app.views.tokens",
]

_INT_KEYS = {"CACHE_MB", "POINTS_MIN_ZOOM", "POINTS_LIMIT", "GRID_CELLS", "API_DEFAULT_LIMIT", "API_MAX_LIMIT",
             "SESSION_LIFETIME_HOURS", "LOGIN_MAX_FAILURES", "LOGIN_MAX_FAILURES_ACCOUNT", "LOGIN_BACKOFF_SECONDS",
             "LOGIN_WINDOW_SECONDS", "ANALYSIS_MAX_CELLS", "HEAVY_ANALYSES", "HEAVY_WAIT_SECONDS",
             "IMPORT_MEMORY_MB"}


def _coerce(key: str, value):
    if key in _INT_KEYS:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ParameterError(f"web setting {key.lower()} must be a whole number, got '{value}'.",
                                 key.lower()) from None
    if key == "TRUSTED_PROXIES" and isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if key == "LANGUAGES" and isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return value


def _load_config(app: Flask, test_config: dict | None) -> None:
    from geo_app.config import Home

    app.config.update(DEFAULTS)
    home_path = (test_config or {}).get("HOME") or os.environ.get("GEO_APP_HOME")
    home = Home.from_env(home_path)
    for key, value in (home.config.get("web") or {}).items():
        app.config[key.upper()] = _coerce(key.upper(), value)
    for key in DEFAULTS:
        env = os.environ.get(f"GEO_APP_{key}")
        if env is not None and key not in ("STORE", "HOME"):
            app.config[key] = _coerce(key, env)
    if test_config:
        app.config.update(test_config)
    app.config["HOME"] = str(home.path) if not app.config.get("HOME") else app.config["HOME"]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        app.logger.info("No secret_key configured: using a random one (sessions end on restart).")


def wants_json() -> bool:
    """JSON answers under /api, or when the client prefers JSON to HTML."""
    if request.path.startswith("/api"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _error_response(status: int, body: dict):
    if wants_json():
        return jsonify(body), status
    return render_template("error.html", status=status, error=body), status


def _register_errors(app: Flask) -> None:
    @app.errorhandler(VigieError)
    def vigie_error(err: VigieError):
        body = err.to_dict()
        body.setdefault("param", getattr(err, "param", None))
        status = err.status
        if getattr(err, "retry_after", None):  # a full queue: the client may come back
            resp = _error_response(status, body)
            return resp[0], resp[1], {"Retry-After": str(err.retry_after)}
        if status >= 500:
            app.logger.error("%s: %s", type(err).__name__, err.message)
        return _error_response(status, body)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        body = {"error": err.name.replace(" ", ""), "message": err.description, "param": None}
        return _error_response(err.code or 500, body)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Vigie web application (see the module docstring for the configuration tiers)."""
    app = Flask(__name__)
    if not app.debug:
        app.logger.setLevel(logging.INFO)
    _load_config(app, test_config)

    from geo_app import assets, auth, tokens
    from geo_app.config import Home
    from geo_app.views import i18n
    from geo_app.workspace import Workspace

    app.extensions["vigie"] = Workspace(Home.from_env(app.config.get("HOME")), store=app.config.get("STORE"),
                                        cache_mb=app.config["CACHE_MB"])
    app.extensions["vigie"].save_in_background()
    app.extensions["vigie"].limit_heavy(int(app.config["HEAVY_ANALYSES"]), wait_s=float(app.config["HEAVY_WAIT_SECONDS"]))
    if app.config.get("ANALYSIS_MAX_CELLS"):
        app.extensions["vigie"].max_cells = int(app.config["ANALYSIS_MAX_CELLS"])
    assets.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)  # accounts, CSRF, role gate, security headers, the request's viewer
    tokens.init_app(app)  # HTTP Basic and API tokens for programs (QGIS, GDAL)
    for name in BLUEPRINTS:
        app.register_blueprint(import_module(name).bp)
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = _rerun_on_new_version(view)
    _register_errors(app)
    return app


#: how many times a view runs again when imports keep landing under it
_RERUNS = 3


def _rerun_on_new_version(view):
    """``view`` run again (on the store's new version) when the store changed under it."""
    from functools import wraps

    from geo_app.auth import forget_viewer
    from geo_app.workspace import VersionChanged

    @wraps(view)
    def wrapper(*args, **kwargs):
        for attempt in range(_RERUNS + 1):
            try:
                return view(*args, **kwargs)
            except VersionChanged:
                if attempt == _RERUNS:
                    raise
                forget_viewer()

    return wrapper
