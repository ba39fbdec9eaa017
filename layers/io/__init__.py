"""Read any supported file into a validated layer; write every export format.

``read_layer(path, kind, *, settings, ...)`` reads one file into a ``ReadResult``: the valid rows
as a GeoDataFrame in EPSG:4326 with exactly the columns of the kind's ``LayerSpec`` (plus
``source_row``), and the row-level report (``RowProblem`` errors and warnings). It never decides
whether to store: the caller raises ``InputError(message, result.problems)`` when
``result.errors`` is not empty and ``--skip-invalid`` was not given. Problems with the whole file
(unreadable, empty, truncated, several layers and none chosen, a zip member escaping the archive,
missing required columns, a CRS trap, ambiguous dates) raise ``InputError`` at once, before any
row is checked, so nothing can have been written.

``EXPORT_FORMATS`` is the one registry of export formats; ``write_layers`` / ``write_layer``
write one or several layers with their provenance.

Modules, one job each:

=============  ==================================================================================
readers        one reader per format (GeoJSON, GeoPackage, Shapefile and zip, CSV, KML) into raw
               columns and geometries; ``READ_FORMATS``
columns        which source column feeds which field: ``--map``, ``--set``, aliases, coordinate
               columns of a CSV, required fields
dates          date and time parsing into time windows
labels         incident categories from codes or source labels (label mappings)
locate         the source CRS, coordinate checks and reprojection to lon/lat
pipeline       ``read_layer``: read -> map -> locate -> convert -> validate; ``ReadResult``
writers        ``EXPORT_FORMATS``, ``write_layers``, ``write_layer``
=============  ==================================================================================
"""

from layers.io.columns import SHP_FIELD_NAMES
from layers.io.pipeline import ReadResult, read_layer
from layers.io.readers import READ_FORMATS
from layers.io.writers import (
    EXPORT_FORMATS,
    ExportFormat,
    get_export_format,
    write_layer,
    write_layers,
)

__all__ = [
    "EXPORT_FORMATS",
    "READ_FORMATS",
    "SHP_FIELD_NAMES",
    "ExportFormat",
    "ReadResult",
    "get_export_format",
    "read_layer",
    "write_layer",
    "write_layers",
]
