"""The report's charts, drawn with matplotlib (Agg backend) and returned as PNG ``data:`` URIs.

Images are embedded in the HTML so that the document (and the PDF made from it) needs no file
and no network.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from geo_app.i18n import weekday_names

__all__ = ["darkness_chart", "groups_chart", "heatmap", "png_uri"]

#: the report's colours: month, previous month, a year earlier
COLOURS = ("#b2182b", "#8c8c8c", "#d9d9d9")
DPI = 130


def png_uri(fig, *, dpi: int = DPI) -> str:
    """Render a matplotlib figure to a ``data:image/png;base64,...`` URI and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def groups_chart(fig_data: dict, *, lang: str, k: int | None, L: dict) -> str:
    """Horizontal bars per problem group: the month, the previous month, a year earlier.

    For partners (``k`` given) a count from 1 to k-1 is drawn as an empty bar (hatched) with no
    value, so the chart discloses no more than the table.
    """
    g = fig_data["groups"]
    g = g[(g["n"] + g["n_prev"] + g["n_year"]) > 0].iloc[::-1]
    labels = list(g["label_en" if lang == "en" else "label_fr"])
    y = np.arange(len(g))
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * max(len(g), 3) + 0.9))
    h = 0.27
    for i, (col, name) in enumerate((("n", L["month"]), ("n_prev", L["previous"]), ("n_year", L["year_ago"]))):
        v = g[col].to_numpy().astype(float)
        small = (v > 0) & (v < k) if k else np.zeros(len(v), dtype=bool)
        shown = np.where(small, 0.0, v)
        ax.barh(y + (1 - i) * h, shown, height=h, color=COLOURS[i], label=name, edgecolor="#555", linewidth=0.3)
        if small.any():
            ax.barh(y[small] + (1 - i) * h, np.full(small.sum(), float(k)), height=h, fill=False,
                    hatch="///", edgecolor="#999", linewidth=0.3)
        if i == 0:
            for yy, vv, s in zip(y, v, small):
                ax.text(vv if not s else k, yy + h, f" {int(vv)}" if not s else f" < {k}", va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel(L["incidents"], fontsize=8)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return png_uri(fig)


def heatmap(prof: dict, *, L: dict, lang: str = "fr", k: int | None = None) -> str:
    """Hour x weekday heatmap of the month (aoristic weights).

    For partners (``k`` given) a cell holding more than 0 and less than ``k`` (weighted)
    incidents is masked (light grey), like any count under k.
    """
    m = prof["profile"].to_numpy()
    shown = np.ma.masked_where((m > 0) & (m < k), m) if k else m
    cmap = plt.get_cmap("YlOrRd").with_extremes(bad="#e6e6e6")
    fig, ax = plt.subplots(figsize=(7.2, 2.3))
    im = ax.imshow(shown, aspect="auto", cmap=cmap, interpolation="nearest")
    ax.set_yticks(range(7), weekday_names(lang), fontsize=7)
    ax.set_xticks(range(0, 24, 2), [f"{h}h" for h in range(0, 24, 2)], fontsize=7)
    ax.set_xlabel(L["hour"], fontsize=8)
    cb = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
    cb.ax.tick_params(labelsize=6)
    cb.set_label(L["incidents"], fontsize=7)
    return png_uri(fig)


def darkness_chart(prof: dict, *, L: dict, k: int | None = None) -> str:
    """Incidents by hour of the day (sum over weekdays); for partners an hour holding more than
    0 and less than ``k`` incidents is drawn as an empty hatched bar of height k."""
    by_hour = np.asarray(prof["by_hour"], dtype=float)
    small = (by_hour > 0) & (by_hour < k) if k else np.zeros(24, dtype=bool)
    fig, ax = plt.subplots(figsize=(7.2, 1.9))
    ax.bar(np.arange(24), np.where(small, 0.0, by_hour), color="#4a4a8a", width=0.85)
    if small.any():
        ax.bar(np.arange(24)[small], np.full(small.sum(), float(k)), width=0.85, fill=False, hatch="///",
               edgecolor="#999", linewidth=0.3)
    ax.set_xticks(range(0, 24, 2), [f"{h}h" for h in range(0, 24, 2)], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_ylabel(L["incidents"], fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return png_uri(fig)
