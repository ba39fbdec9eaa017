"""Which files of the npm packages in ``node_modules/`` a built wheel carries.

Pure data, without imports, so that the in-tree build backend (``build_backend/vigie_build.py``)
reads it without installing Flask. Each entry is a file or a folder under ``node_modules/``;
a folder is copied whole except source maps and sources (``SKIPPED_SUFFIXES``). Besides these,
each package's top-level licence file (``LICENSE*``, ``LICENCE*``, ``MIT-LICENCE*``) is
copied. Every file the pages and the maps load (``geo_app.assets.FOLIUM_ASSETS`` and
``PAGE_ASSETS``) must be covered, with what their CSS loads (fonts, marker images): a test
checks the first, a browser test of the installed wheel the second.
"""

SHIPPED = (
    "leaflet/dist/leaflet.js",
    "leaflet/dist/leaflet.css",
    "leaflet/dist/images",
    "leaflet.markercluster/dist",
    "leaflet.awesome-markers/dist",
    "jquery/dist/jquery.min.js",
    "bootstrap/dist/css/bootstrap.min.css",
    "bootstrap/dist/js/bootstrap.bundle.min.js",
    "bootstrap-icons/font/bootstrap-icons.min.css",
    "bootstrap-icons/font/fonts",
    "@fortawesome/fontawesome-free/css/all.min.css",
    "@fortawesome/fontawesome-free/webfonts",
    "chart.js/dist/chart.umd.js",
)

SKIPPED_SUFFIXES = (".map", ".scss", ".less", ".ts", "-src.js")
