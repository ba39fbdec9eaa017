"""The dashboard's proposals layer (``Workspace.proposals``: 5 CCTV sites and 5 lamps) at 1M
incidents, beside the peer: ``layers.recommend.site_cameras`` and ``propose_lamps`` on the
filtered incidents as a GeoDataFrame (what the workspace ran before the covering models were
prepared once per store version).

Input: ``bench_web``'s (``clustered_incidents(n, seed=42)`` in memory, no lamps nor cameras: every
night incident is unlit). ``warm()`` first, which now builds the proposal models (timed apart).
For the default filters and three never-seen filter combinations, both paths run on the same
incidents and must give the same sites (rank, covered incidents, position, reasons).

    python -m bench proposals
    VIGIE_BENCH_SIZES=100000 python -m bench proposals
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_web import _MemStore
from bench.gen import clustered_incidents
from layers.errors import InputError
from layers.filters import Filters

SIZES = [int(s) for s in os.environ.get("VIGIE_BENCH_SIZES", "1000000").split(",")]
FILTERS = {
    "default": Filters(),
    "burglary, theft": Filters(categories=("burglary", "theft")),
    "3 categories, 18-23 h": Filters(categories=("theft", "damage", "drugs"), hours=tuple(range(18, 24))),
    "since 2023-06-01": Filters(start="2023-06-01"),
}
TARGET_S = 2.0


def peer(ws, filters, k=5):
    """The GeoDataFrame functions on the filtered incidents, as ``Workspace.proposals`` ran them."""
    from layers import recommend

    rows = ws.rows(filters)
    inc = ws.analysis_points(rows, darkness=True)
    cams, lights = ws.frame("cameras"), ws.frame("lights")
    kw = {"k": k, "taxonomy": ws.taxonomy, "tz": ws.tz, "crs": ws.settings.analysis_crs, "method": "greedy",
          "time_limit_s": 3.0}
    out = {}
    for kind, run in (("cctv", lambda: recommend.site_cameras(inc, existing=cams if len(cams) else None, **kw)),
                      ("lighting", lambda: recommend.propose_lamps(inc, lights, **kw))):
        try:
            out[kind] = run().to_crs(4326)
        except InputError:
            out[kind] = None
    return out


def _same(got, want) -> None:
    for kind, covered in (("cctv", "new_incidents"), ("lighting", "new_night_incidents")):
        part, ref = got[got["kind"] == kind], want[kind]
        if ref is None:
            assert not len(part), kind
            continue
        assert part["covered"].tolist() == ref[covered].tolist(), kind
        assert part["reason_en"].tolist() == ref["reason_en"].tolist(), kind
        assert np.array_equal(np.c_[part.geometry.x, part.geometry.y], np.c_[ref.geometry.x, ref.geometry.y]), kind


def main() -> None:
    os.environ["GEO_APP_HOME"] = tempfile.mkdtemp(prefix="vigie-bench-proposals-")
    from geo_app import create_app

    print(f"{'incidents':>10} {'filters':>22} {'vigie s':>8} {'peer s':>8} {'ratio':>6}  same sites")
    for n in SIZES:
        app = create_app({"TESTING": True, "STORE": _MemStore(clustered_incidents(n, seed=42)), "TILE_URL": "",
                          "SECRET_KEY": "bench", "LOGIN_DISABLED": True})
        with app.app_context():
            ws = app.extensions["vigie"]
            t = time.perf_counter()
            ws.warm()
            warm = time.perf_counter() - t
            ws.clear()  # time the models alone
            ws.columns(), ws.darkness_codes()
            t = time.perf_counter()
            models = ws.proposal_models()
            prep = time.perf_counter() - t
            print(f"{n:>10,} warm() {warm:.1f} s, of which proposal models {prep:.1f} s "
                  f"({sum(m.nbytes for m in models) / n:.0f} bytes per incident)", flush=True)
            for name, f in FILTERS.items():
                f = ws.default_filters(f)
                t = time.perf_counter()
                got = ws.proposals(f)
                ours = time.perf_counter() - t
                t = time.perf_counter()
                want = peer(ws, f)
                theirs = time.perf_counter() - t
                _same(got, want)
                ok = "✔" if ours <= TARGET_S else "✘"
                print(f"{n:>10,} {name:>22} {ours:8.2f} {theirs:8.2f} {theirs / ours:5.1f}x  yes  {ok}", flush=True)


if __name__ == "__main__":
    main()
