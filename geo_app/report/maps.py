"""Static maps of the report, rendered by the service with matplotlib and geopandas.

No tile is fetched: the background is the study area's outline and the ZAC perimeters from the
store. Maps are drawn in the analysis CRS (metres) with a scale bar, and returned as PNG
``data:`` URIs. What each map may show follows the report's audience: the partners' version
draws counts in squares with the cells under k dropped, the police version the points.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path

from geo_app.i18n import emerging_code, label
from geo_app.report.charts import png_uri
from geo_app.style import EMERGING, GI_BIN, LAYER, PROPOSAL

__all__ = ["emerging_map", "hotspot_map", "proposals_map", "zac_map"]

#: hot Gi* bins drawn on the report's maps (the palette's colours, as on the web map)
BIN_COLOURS = {b: GI_BIN[b] for b in (1, 2, 3)}


def _clip(gdf, extent):
    """Rows of ``gdf`` touching the map's frame (drawing less is most of the speed)."""
    if gdf is None or not len(gdf):
        return gdf
    return gdf[gdf.intersects(shapely.box(*extent)).to_numpy()]


def _parts(geom):
    if geom is None or geom.is_empty:
        return []
    return list(getattr(geom, "geoms", [geom]))


def _fill(ax, geoms, colours, *, alpha=1.0, edgecolor="none", linewidth=0.0, zorder=2) -> None:
    """Polygons (holes kept) as one PatchCollection: much faster than GeoDataFrame.plot."""
    patches, fc = [], []
    if isinstance(colours, str):
        colours = [colours] * len(geoms)
    for g, c in zip(geoms, colours):
        for poly in _parts(g):
            if poly.geom_type != "Polygon":
                continue
            path = Path.make_compound_path(Path(np.asarray(poly.exterior.coords)[:, :2]),
                                           *[Path(np.asarray(r.coords)[:, :2]) for r in poly.interiors])
            patches.append(PathPatch(path))
            fc.append(c)
    if patches:
        ax.add_collection(PatchCollection(patches, facecolors=fc, edgecolors=edgecolor, linewidths=linewidth,
                                          alpha=alpha, zorder=zorder))


def _outline(ax, geoms, *, color, linewidth, linestyle="-", zorder=3) -> None:
    """Boundaries of polygons as one LineCollection."""
    segs = []
    for g in geoms:
        b = g.boundary if g is not None and not g.is_empty else None
        for line in _parts(b):
            segs.append(np.asarray(line.coords)[:, :2])
    if segs:
        ax.add_collection(LineCollection(segs, colors=color, linewidths=linewidth, linestyles=linestyle,
                                         zorder=zorder))


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
    ax.set_xticklabels([])
    ax.set_yticklabels([])
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
        frames = [f for f in report["data"].values() if f is not None and len(f)]
        if report.get("scope_bounds") is not None:
            minx, miny, maxx, maxy = report["scope_bounds"]
        elif frames:
            minx, miny, maxx, maxy = frames[0].total_bounds
        else:
            minx, miny, maxx, maxy = 0.0, 0.0, 1000.0, 1000.0
    w, h = maxx - minx + 2 * pad, maxy - miny + 2 * pad
    side = max(w, h)  # square frames print evenly
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def _background(ax, report, extent, *, zac_geom=None) -> None:
    area = report.get("study_area")
    if area is not None:
        _outline(ax, area.geometry.to_numpy(), color="#333", linewidth=0.6)
    z = _clip(report.get("zac_layer"), extent)
    if z is not None and len(z):
        _outline(ax, z.geometry.to_numpy(), color="#2166ac", linewidth=0.4, linestyle="--")
    if zac_geom is not None:
        _outline(ax, [zac_geom], color="#2166ac", linewidth=1.6, zorder=4)


def _incident_layer(ax, report, extent, legend: list) -> None:
    data = report["data"]
    L = report["L"]
    if report["meta"]["audience"] == "police" and data.get("points") is not None:
        pts = data["points"]
        x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
        inside = (x >= extent[0]) & (x <= extent[2]) & (y >= extent[1]) & (y <= extent[3])
        ax.scatter(x[inside], y[inside], s=0.8, color="#555", alpha=0.5, linewidths=0, zorder=1)
        legend.append(Patch(color="#555", label=f"{L['incidents']} (points)"))
    elif data.get("grid") is not None and len(data["grid"]):
        g = _clip(data["grid"], extent)
        full = data["grid"]["n"].to_numpy()
        if len(g):
            v = np.log1p(g["n"].to_numpy()) / np.log1p(full.max())
            colours = plt.get_cmap("Greys")(0.15 + 0.7 * v)
            _fill(ax, g.geometry.to_numpy(), list(colours), alpha=0.6, zorder=1)
        cell = int(data["grid"].attrs.get("cell_size", 250))
        legend.append(Patch(color="#999", label=f"{L['incidents']} / {cell} m (n ≥ {report['meta']['k']})"))


def _hot_layer(ax, report, extent, legend: list) -> None:
    gi = _clip(report["data"].get("gistar"), extent)
    ha = _clip(report["data"].get("hotspots"), extent)
    if gi is not None and len(gi):
        hot = gi[gi["bin"] >= 1]
        if len(hot):
            _fill(ax, hot.geometry.to_numpy(), [BIN_COLOURS[int(b)] for b in hot["bin"]], alpha=0.85, zorder=2)
        for b, colour in BIN_COLOURS.items():
            if (hot["bin"] == b).any():
                legend.append(Patch(color=colour, label=f"Gi* {[90, 95, 99][b - 1]} %"))
    if ha is not None and len(ha):
        _outline(ax, ha.geometry.to_numpy(), color="black", linewidth=0.8)
        for _, r in ha.iterrows():
            pt = r.geometry.representative_point()
            ax.annotate(str(int(r["number"])), (pt.x, pt.y), fontsize=6, ha="center", va="center",
                        color="black", fontweight="bold", zorder=6,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


def hotspot_map(report: dict) -> str:
    """The month's hot cells (Gi* bins) and numbered hotspot areas over the incident layer."""
    fig, ax = plt.subplots(figsize=(7.0, 7.0))
    extent = _extent(report)
    legend: list = []
    _incident_layer(ax, report, extent, legend)
    _background(ax, report, extent, zac_geom=report.get("zac_geometry"))
    _hot_layer(ax, report, extent, legend)
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
    _background(ax, report, extent, zac_geom=report.get("zac_geometry"))
    legend = []
    if cells is not None and len(cells):
        cells = _clip(cells, extent)
        codes = [emerging_code(c) or "no_pattern" for c in cells["category"]]
        _fill(ax, cells.geometry.to_numpy(), [EMERGING[c] for c in codes], edgecolor="white", linewidth=0.2)
        for code, colour in EMERGING.items():
            if code in codes:
                legend.append(Patch(color=colour, label=label("emerging", code, lang)))
    _frame(ax, extent)
    if legend:
        ax.legend(handles=legend, fontsize=7, loc="upper right", framealpha=0.8)
    return png_uri(fig)


def zac_map(report: dict, geom) -> str:
    """One ZAC: its perimeter, the incident layer and the hot cells around it."""
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    extent = _extent(report, geom, pad=500.0)
    legend: list = []
    _incident_layer(ax, report, extent, legend)
    _background(ax, report, extent, zac_geom=geom)
    _hot_layer(ax, report, extent, legend)
    _frame(ax, extent)
    if legend:
        ax.legend(handles=legend, fontsize=6, loc="upper right", framealpha=0.8)
    return png_uri(fig, dpi=100)


def proposals_map(report: dict) -> str | None:
    """Proposed CCTV sites (triangles) and lamps (stars), numbered by rank, over
    the month's hotspot areas. ``None`` when nothing is proposed."""
    frames = {k: v for k, v in (report.get("proposals") or {}).items() if v is not None and len(v)}
    if not frames:
        return None
    fig, ax = plt.subplots(figsize=(7.0, 7.0))
    extent = _extent(report)
    _background(ax, report, extent, zac_geom=report.get("zac_geometry"))
    ha = report["data"].get("hotspots")
    if ha is not None and len(ha):
        _fill(ax, ha.geometry.to_numpy(), LAYER["hotspots"], alpha=0.3)
        _outline(ax, ha.geometry.to_numpy(), color=LAYER["hotspots"], linewidth=0.6)
    legend = []
    style = {"cctv": ("^", "C"), "lighting": ("*", "L")}
    for kind, sites in frames.items():
        (marker, prefix), colour = style.get(kind, ("o", "?")), PROPOSAL.get(kind, "black")
        ax.scatter(sites.geometry.x, sites.geometry.y, marker=marker, s=70, color=colour,
                   edgecolor="black", linewidths=0.5, zorder=5)
        for x, y, r in zip(sites.geometry.x, sites.geometry.y, sites["rank"]):
            ax.annotate(f"{prefix}{int(r)}", (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7,
                        fontweight="bold", zorder=6)
        legend.append(plt.Line2D([], [], marker=marker, color=colour, linestyle="", markeredgecolor="black",
                                 label=label("proposal", kind, report["meta"]["lang"])))
    # zoom on the proposals when they are gathered
    import numpy as np

    xs = np.concatenate([f.geometry.x.to_numpy() for f in frames.values()])
    ys = np.concatenate([f.geometry.y.to_numpy() for f in frames.values()])
    span = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1500.0
    if span < extent[2] - extent[0]:
        cx, cy = (xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2
        extent = (cx - span / 2, cy - span / 2, cx + span / 2, cy + span / 2)
    _frame(ax, extent)
    ax.legend(handles=legend, fontsize=7, loc="upper right", framealpha=0.8)
    return png_uri(fig)
