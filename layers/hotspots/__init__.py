"""Hotspot statistics on a grid: counts, KDE, Gi* with FDR, local Moran, scale, hotspot areas.

Every function takes incidents (a GeoDataFrame of points) and keyword-only options. The
incidents may be in any CRS when a grid or a study area in metres is given: only their
coordinate arrays are transformed to the grid's CRS (pyproj), which is much faster than
reprojecting a million geometries; without a grid or study area they must already be in a
metric CRS (``layers.crs.to_analysis``). Each function returns a GeoDataFrame of grid cells
(from ``layers.grid.make_grid``) with documented columns. Automatic choices (cell size,
bandwidth, distance band) are returned in ``result.attrs["vigie"]``, never silently.

The array primitives ``gistar_z``, ``bh_adjust`` and ``fdr_bins`` work on plain NumPy arrays and
a sparse weights matrix, so the space-time cube can call them once per period.

Modules, one statistic or job each:

=======  ========================================================================================
counts   ``count_incidents``, ``count_xy``, ``count_cells``: incidents per cell
gistar   ``gistar``, ``gistar_counts`` and the array primitives ``gistar_z``, ``bh_adjust``,
         ``fdr_bins``
kde      ``kde``, ``kde_xy``, ``kde_at``, ``dual_kde``, ``silverman_bandwidth``
lisa     ``lisa``, ``local_moran_arrays`` (conditional permutations)
scale    ``choose_scale``: incremental spatial autocorrelation (automatic distance band)
areas    ``hotspot_areas``: adjacent hot cells merged into numbered hotspots
change   ``change`` between two periods, ``sensitivity`` to the cell size and origin
=======  ========================================================================================
"""

from layers.hotspots.areas import hotspot_areas
from layers.hotspots.change import change, sensitivity
from layers.hotspots.counts import count_cells, count_incidents, count_xy
from layers.hotspots.gistar import bh_adjust, fdr_bins, gistar, gistar_counts, gistar_z
from layers.hotspots.kde import dual_kde, kde, kde_at, kde_xy, silverman_bandwidth
from layers.hotspots.lisa import lisa, local_moran_arrays
from layers.hotspots.scale import choose_scale

__all__ = [
    "bh_adjust",
    "change",
    "choose_scale",
    "count_cells",
    "count_incidents",
    "count_xy",
    "dual_kde",
    "fdr_bins",
    "gistar",
    "gistar_counts",
    "gistar_z",
    "hotspot_areas",
    "kde",
    "kde_at",
    "kde_xy",
    "lisa",
    "local_moran_arrays",
    "sensitivity",
    "silverman_bandwidth",
]
