"""Static maps of the report, rendered by the service with matplotlib and geopandas.

No tile is fetched: the background is the study area's outline and the ZAC perimeters from the
store. Maps are drawn in the analysis CRS (metres) with a scale bar, and returned as PNG
``data:`` URIs. What each map may show follows the report's audience: the partners' version
draws counts in squares with the cells under k dropped, the police version the points.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from geo_app.report.charts import png_uri  # noqa: E402
from geo_app.report.labels import emerging_label  # noqa: E402

__all__ = ["hotspot_map", "emerging_map", "zac_map"]

BIN_COLOURS = {1: "#fcbba1", 2: "#fb6a4a", 3: "#a50f15"}
EMERGING_COLOURS = {
    "new hot spot": "#1a9850", "consecutive hot spot": "#e08214", "intensifying hot spot": "#d73027",
    "persistent hot spot": "#762a83", "diminishing hot spot": "#9970ab", "sporadic hot spot": "#fdae61",
    "oscillating hot spot": "#f46d43", "historical hot spot": "#bababa",
}


def _scale_bar(ax, extent) -> None:
    minx, miny, maxx, maxy = extent
    width = maxx - minx
    length = 10 ** np.floor(np.log10(width / 4))
    if width / length > 8:
        length *= 2
    x0, y0 = minx + 0.04 * width, miny + 0.04 * (maxy - miny)
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=2)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0 + 0.015 * (maxy - miny), label, ha="center", fontsize=7)


def _frame(ax, extent) -> None:
    minx, miny, maxx, maxy = extent
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    _scale_bar(ax, extent)


def _extent(report, geom=None, pad: float = 300.0):
    if geom is not None:
        minx, miny, maxx, maxy = geom.bounds
    elif report.get("zac_geometry") is not None:
        minx, miny, maxx, maxy = report["zac_geometry"].bounds
    elif report.get("study_area") is not None:
        minx, miny, maxx, maxy = report["study_area"].total_bounds
        pad = 200.0
    else:
        minx, miny, maxx, maxy = report["data"]["gistar"].total_bounds
    w, h = maxx - minx + 2 * pad, maxy - miny + 2 * pad
    side = max(w, h)  # square frames print evenly
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def _background(ax, report, *, zac_geom=None) -> None:
    area = report.get("study_area")
    if area is not None:
        area.boundary.plot(ax=ax, color="#333", linewidth=0.6)
    z = report.get("zac_layer")
    if z is not None and len(z):
        z.boundary.plot(ax=ax, color="#2166ac", linewidth=0.4, linestyle="--")
    if zac_geom is not None:
        import geopandas as gpd

        gpd.GeoSeries([zac_geom], crs=report["study_area"].crs if area is not None else None).boundary.plot(
            ax=ax, color="#2166ac", linewidth=1.6)


def _incident_layer(ax, report, legend: list) -> None:
    data = report["data"]
    L = report["L"]
    if report["meta"]["audience"] == "police" and data.get("points") is not None:
        pts = data["points"]
        ax.scatter(pts.geometry.x, pts.geometry.y, s=0.6, color="#555", alpha=0.5, linewidths=0)
        legend.append(Patch(color="#555", label=f"{L['incidents']} (points)"))
    elif data.get("grid") is not None and len(data["grid"]):
        g = data["grid"]
        g.plot(ax=ax, column="n", cmap="Greys", alpha=0.55, linewidth=0)
        cell = int(g.attrs.get("cell_size", 250))
        legend.append(Patch(color="#999", label=f"{L['incidents']} / {cell} m (n ≥ {report['meta']['k']})"))


def _hot_layer(ax, report, legend: list) -> None:
    gi = report["data"].get("gistar")
    ha = report["data"].get("hotspots")
    if gi is not None and len(gi):
        for b, colour in BIN_COLOURS.items():
            cells = gi[gi["bin"] == b]
            if len(cells):
                cells.plot(ax=ax, color=colour, linewidth=0, alpha=0.85)
                legend.append(Patch(color=colour, label=f"Gi* {[90, 95, 99][b - 1]} %"))
    if ha is not None and len(ha):
        ha.boundary.plot(ax=ax, color="black", linewidth=0.8)
        for _, r in ha.iterrows():
            pt = r.geometry.representative_point()
            ax.annotate(str(int(r["number"])), (pt.x, pt.y), fontsize=6, ha="center", va="center",
                        color="black", fontweight="bold",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


def hotspot_map(report: dict) -> str:
    """The month's hot cells (Gi* bins) and numbered hotspot areas over the incident layer."""
    fig, ax = plt.subplots(figsize=(7.0, 7.0))
    extent = _extent(report)
    legend: list = []
    _incident_layer(ax, report, legend)
    _background(ax, report, zac_geom=report.get("zac_geometry"))
    _hot_layer(ax, report, legend)
    _frame(ax, extent)
    if legend:
        ax.legend(handles=legend, fontsize=7, loc="upper right", framealpha=0.8)
    return png_uri(fig)


def emerging_map(report: dict) -> str:
    """Cells of the hot emerging categories (last 24 months)."""
    lang = report["meta"]["lang"]
    cells = report["data"].get("emerging")
    fig, ax = plt.subplots(figsize=(7.0, 7.0))
    extent = _extent(report)
    _background(ax, report, zac_geom=report.get("zac_geometry"))
    legend = []
    if cells is not None and len(cells):
        for cat, colour in EMERGING_COLOURS.items():
            sub = cells[cells["category"] == cat]
            if len(sub):
                sub.plot(ax=ax, color=colour, linewidth=0.2, edgecolor="white")
                legend.append(Patch(color=colour, label=emerging_label(cat, lang)))
    _frame(ax, extent)
    if legend:
        ax.legend(handles=legend, fontsize=7, loc="upper right", framealpha=0.8)
    return png_uri(fig)


def zac_map(report: dict, geom) -> str:
    """One ZAC: its perimeter, the incident layer and the hot cells around it."""
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    extent = _extent(report, geom)
    legend: list = []
    _incident_layer(ax, report, legend)
    _background(ax, report, zac_geom=geom)
    _hot_layer(ax, report, legend)
    _frame(ax, extent)
    if legend:
        ax.legend(handles=legend, fontsize=6, loc="upper right", framealpha=0.8)
    return png_uri(fig, dpi=100)
