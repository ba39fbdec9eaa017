"""Third-party JavaScript, CSS, fonts and icons, served by Vigie itself.

Nothing is loaded from a CDN: police and town-hall networks often block them. The files come
from npm (``package.json`` at the repository root, installed by ``make assets`` into
``node_modules/``) and are served under ``/vendor/<package>/<path>`` by the blueprint of this
module. Only the packages listed in ``VENDOR_PACKAGES`` are reachable.

``FOLIUM_ASSETS`` maps the names Folium gives its default JS/CSS resources (``folium.Map``'s
``default_js`` / ``default_css`` and each plugin's) to the self-hosted file; ``self_hosted``
turns that into a ``name -> URL`` table for ``geo_app.mapping.build_map``.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

__all__ = [
    "FOLIUM_ASSETS",
    "PAGE_ASSETS",
    "VENDOR_PACKAGES",
    "bp",
    "init_app",
    "missing_assets",
    "self_hosted",
    "vendor_dir",
]

#: npm packages whose files the service may serve under /vendor/
VENDOR_PACKAGES = (
    "leaflet",
    "leaflet.markercluster",
    "leaflet.awesome-markers",
    "jquery",
    "bootstrap",
    "bootstrap-icons",
    "@fortawesome/fontawesome-free",
    "chart.js",
)

#: Folium resource name -> file under node_modules (None: not needed, dropped from the page)
FOLIUM_ASSETS: dict[str, str | None] = {
    # folium.Map.default_js
    "leaflet": "leaflet/dist/leaflet.js",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "awesome_markers": "leaflet.awesome-markers/dist/leaflet.awesome-markers.min.js",
    # folium.Map.default_css
    "leaflet_css": "leaflet/dist/leaflet.css",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    # Bootstrap 3 glyphicons do not exist in Bootstrap 5: Vigie uses Bootstrap Icons / Font Awesome
    "glyphicons_css": "bootstrap-icons/font/bootstrap-icons.min.css",
    "awesome_markers_font_css": "@fortawesome/fontawesome-free/css/all.min.css",
    "awesome_markers_css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    # folium's own rotation helper for awesome markers; Vigie never rotates icons
    "awesome_rotate_css": None,
    # folium.plugins.MarkerCluster
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
}

#: files the pages themselves use (base layout, charts)
PAGE_ASSETS = {
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "icons_css": "bootstrap-icons/font/bootstrap-icons.min.css",
    "chartjs": "chart.js/dist/chart.umd.js",
}

_REPO = Path(__file__).resolve().parent.parent


def vendor_dir(config: dict | None = None) -> Path:
    """Folder holding the npm packages: ``VENDOR_DIR`` config, ``GEO_APP_VENDOR_DIR``, the
    repository's ``node_modules/`` or ``geo_app/static/vendor/`` (first that exists)."""
    explicit = (config or {}).get("VENDOR_DIR") or os.environ.get("GEO_APP_VENDOR_DIR")
    if explicit:
        return Path(explicit)
    for candidate in (_REPO / "node_modules", Path(__file__).parent / "static" / "vendor"):
        if candidate.is_dir():
            return candidate
    return _REPO / "node_modules"


def missing_assets(folder: Path) -> list[str]:
    """Files of ``FOLIUM_ASSETS`` and ``PAGE_ASSETS`` not present under ``folder``."""
    wanted = {p for p in [*FOLIUM_ASSETS.values(), *PAGE_ASSETS.values()] if p}
    return sorted(p for p in wanted if not (folder / p).is_file())


def self_hosted(prefix: str = "/vendor/", *, drop: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Folium resource name -> self-hosted URL under ``prefix`` (``None`` drops it).

    ``drop`` names resources the embedding page already loads (e.g. Bootstrap).
    """
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    return {
        name: (None if (path is None or name in drop) else prefix + path)
        for name, path in FOLIUM_ASSETS.items()
    }


bp = Blueprint("vendor", __name__)


@bp.route("/vendor/<path:filename>")
def vendor(filename: str):
    """Serve one file of an allowed npm package (cached for a day)."""
    if not any(filename.startswith(pkg + "/") for pkg in VENDOR_PACKAGES):
        abort(404)
    return send_from_directory(
        current_app.config["VENDOR_DIR"], filename, max_age=86400
    )


def init_app(app) -> None:
    """Register the /vendor/ route; warn in the log when ``make assets`` has not been run."""
    app.config["VENDOR_DIR"] = str(vendor_dir(app.config))
    missing = missing_assets(Path(app.config["VENDOR_DIR"]))
    if missing:
        app.logger.warning(
            "Self-hosted assets missing under %s (%s…): run `make assets`.",
            app.config["VENDOR_DIR"],
            ", ".join(missing[:3]),
        )
    app.register_blueprint(bp)
