"""OGC API – Features paging over 100,000 incidents: page 1 against page 100 (limit 100).

Vigie pages ``/ogc/collections/incidents/items`` by keyset: the ``next`` link holds the last
feature id, and the next page starts at a binary search over the ids of the rows the role may
see. The peer is offset paging over the same rows (Vigie's ``/api/layers/incidents?offset=``,
what a naive OGC server does). Both page 100s are checked to hold the same features. Target:
page 100 no slower than 1.5 × page 1. Page 1 and page 100 are requested in turn ``REPEAT``
times with the workspace warm (the store version's columns cached), as a client walking the
pages sees it; the figures are medians, the ratio the median of the per-turn ratios.

    python -m bench ogc
    VIGIE_BENCH_SIZES=10000 python -m bench ogc
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_web import _MemStore
from bench.gen import clustered_incidents

SIZES = [int(s) for s in os.environ.get("VIGIE_BENCH_SIZES", "100000").split(",")]
REPEAT = int(os.environ.get("VIGIE_BENCH_REPEAT", "15"))
LIMIT = 100
PAGE = 100


def _get(client, url) -> tuple[float, dict]:
    t = time.perf_counter()
    r = client.get(url)
    dt = time.perf_counter() - t
    assert r.status_code == 200, (url, r.get_data(as_text=True)[:300])
    return dt, r.json


def _pair(client, url_a, url_b) -> tuple[float, float, float, dict, dict]:
    """Median times of ``url_a`` and ``url_b`` requested in turn (so that the load of a shared
    machine weighs on both alike), and the median of the per-turn ratios b/a."""
    ta, tb = [], []
    for _ in range(REPEAT):
        a, body_a = _get(client, url_a)
        b, body_b = _get(client, url_b)
        ta.append(a)
        tb.append(b)
    ratio = statistics.median(b / a for a, b in zip(ta, tb))
    return statistics.median(ta), statistics.median(tb), ratio, body_a, body_b


def main() -> None:
    os.environ["GEO_APP_HOME"] = tempfile.mkdtemp(prefix="vigie-bench-ogc-")
    from geo_app import create_app
    from geo_app.ogc.params import Cursor, encode_cursor

    print(f"median of {REPEAT} turns, limit={LIMIT}; page {PAGE} = features {(PAGE - 1) * LIMIT + 1}.."
          f"{PAGE * LIMIT}")
    print(f"{'incidents':>10} {'p1 ms':>7} {'p100 keyset ms':>15} {'ratio':>6} {'p100 offset ms':>15} "
          f"{'p1 filtered ms':>15} {'p100 filtered ms':>17} {'ratio':>6}")
    for n in SIZES:
        inc = clustered_incidents(n, seed=42)
        app = create_app({"TESTING": True, "STORE": _MemStore(inc), "TILE_URL": "", "SECRET_KEY": "bench",
                          "LOGIN_DISABLED": True})
        client = app.test_client()
        base = f"/ogc/collections/incidents/items?limit={LIMIT}"
        client.get(base)  # per-version preparation, as `geo-app serve` warms it
        _, b1 = _get(client, base)
        # the cursor the 99th next link carries: the id of the 9,900th feature
        before = client.get(f"/api/layers/incidents?limit={(PAGE - 1) * LIMIT}&offset=0").json["features"]
        after = int(before[-1]["properties"]["fid"])
        p1, p100, ratio, _, b100 = _pair(client, base, f"{base}&cursor={encode_cursor(Cursor(after=after))}")
        _, off, _, _, o100 = _pair(client, base, f"/api/layers/incidents?limit={LIMIT}&offset={(PAGE - 1) * LIMIT}")
        assert [f["id"] for f in b100["features"]] == [f["properties"]["fid"] for f in o100["features"]]
        # with a CQL2 filter: page 100 of the thefts and burglaries
        q = f"{base}&filter=category%20IN%20('theft','burglary','vehicle_crime','damage')"
        _, fb1 = _get(client, q)
        walk = fb1
        for _ in range(PAGE - 1):
            nxt = next(link["href"] for link in walk["links"] if link["rel"] == "next")
            walk = client.get(nxt.replace("http://localhost", "")).json
        cursor = next(link["href"] for link in walk["links"] if link["rel"] == "self").split("cursor=")[1]
        f1, f100, fratio, _, _ = _pair(client, q, f"{q}&cursor={cursor}")
        print(f"{n:>10,} {p1 * 1e3:>7.1f} {p100 * 1e3:>15.1f} {ratio:>6.2f} {off * 1e3:>15.1f} "
              f"{f1 * 1e3:>15.1f} {f100 * 1e3:>17.1f} {fratio:>6.2f}")
        assert fb1["numberMatched"] > PAGE * LIMIT


if __name__ == "__main__":
    main()
