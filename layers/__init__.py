"""Vigie's GIS library: GeoDataFrames in, GeoDataFrames out.

Pure functions over GeoPandas; never imports Flask, Folium or ``geo_app``. I/O lives in
``layers.io`` and ``layers.store``; everything else takes data and keyword-only options.
"""

__version__ = "0.1.0"
