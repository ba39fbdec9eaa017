"""Vigie's geocoder against addok, the engine of the French national address API
(https://github.com/addok/addok, with its ``addok-fr`` and ``addok-france`` plugins).

Both engines get the same register — Montpellier's whole address register (data/, 36,395
points) — and the same 10,000 messy addresses (``bench/messy_addresses.py``, seed 20240614, the
set of ``bench_geocode``). addok gets the register as one document per street with its house
numbers (``bench.addok_peer.addok_documents``), imported into a private Redis started for the
run; it is searched through its Python API (``addok.core.search``, best result), in one process
(``bench/addok_worker.py``). Vigie runs ``layers.geocode.build_index`` then ``geocode``.

Figures for each engine, over the 10,000 rows: share placed within 30 m of the register's point
of the typed address, share at a wrong house (a house of the register that is not the typed one),
share not found, and addresses per second (wall clock of the search loop, one process; for addok
the CPU of its process and of Redis during the loop is printed too). addok always answers with
its best result; the line "addok, score >= 0.5" counts its answers below that score as not found,
the way its users commonly filter its batch output.

Targets: Vigie at least as accurate as addok (within 30 m), no more wrong houses, and >= 2,000
addresses per second on one core. Needs addok in its own virtual environment and Debian's
``redis-server`` (see ``bench/addok_peer.py``); without them the benchmark says how to install
them and stops. Run: ``python -m bench addok`` (``VIGIE_BENCH_N`` changes 10,000).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N = int(os.environ.get("VIGIE_BENCH_N", "10000"))
SEED = 20240614
CUTOFF = 0.5


def _shares(house, same, within30, found) -> dict:
    import numpy as np

    n = len(house)
    return {"within30": float(np.mean(within30)), "right": float(np.mean(house & same)),
            "wrong": int((house & ~same).sum()), "wrong_share": float((house & ~same).sum() / n),
            "not_found": float(np.mean(~found))}


def _line(name: str, s: dict, rate: float) -> str:
    return (f"{name}: within 30 m {s['within30']:.2%}, right house {s['right']:.2%}, "
            f"wrong houses {s['wrong']} ({s['wrong_share']:.2%}), not found {s['not_found']:.2%}, "
            f"{rate:,.0f} addresses/s")


def main() -> None:
    import geopandas as gpd
    import numpy as np

    from bench.addok_peer import VENV, addok_documents, missing, run_addok
    from bench.bench_geocode import messy_set, run_vigie
    from bench.messy_addresses import VARIATIONS
    from layers.address_text import normalize_suffix

    why = missing()
    if why:
        print(f"SKIPPED: addok cannot run here: {why}")
        return
    register, messy = messy_set(N, SEED)
    truth = gpd.GeoSeries(gpd.points_from_xy(messy.x, messy.y), crs=register.crs)
    t_code = messy["street_code"].to_numpy()
    t_num = messy["number"].to_numpy()
    t_suf = messy["suffix"].map(normalize_suffix).to_numpy()

    # Vigie
    out, t_index, t_vigie = run_vigie(register, messy["text"])
    v_house = (out["precision"] == "house").to_numpy()
    v_same = ((out["street_code"].astype(object).to_numpy() == t_code)
              & (out["number"].astype(object).where(out["number"].notna(), None).to_numpy() == t_num)
              & (np.array([normalize_suffix(s) for s in out["suffix"].fillna("")]) == t_suf))
    v_d = out.to_crs(register.crs).geometry.distance(truth).to_numpy()
    v_found = (out["precision"] != "not_found").to_numpy()
    v = _shares(v_house, v_same, np.nan_to_num(v_d, nan=np.inf) <= 30, v_found)
    print(f"Vigie: index {t_index:.2f} s; {out['precision'].value_counts().to_dict()}")

    # addok
    t = time.perf_counter()
    docs = addok_documents(register)
    t_docs = time.perf_counter() - t
    answers, timing = run_addok(docs, messy["text"].tolist())
    rows = register.reset_index(drop=True)
    a_found = np.array([bool(a) for a in answers])
    a_house = np.array([a.get("type") == "housenumber" for a in answers])
    a_row = np.array([a["row"] if a.get("type") == "housenumber" and a.get("row") is not None else -1
                      for a in answers])
    r = np.maximum(a_row, 0)
    a_same = ((a_row >= 0) & (rows["street_code"].astype(str).to_numpy()[r] == t_code)
              & (rows["number"].to_numpy()[r] == t_num)
              & (np.array([normalize_suffix(s or "") for s in rows["suffix"].to_numpy()[r]]) == t_suf))
    a_pts = gpd.GeoSeries(gpd.points_from_xy([a.get("lon", np.nan) for a in answers],
                                             [a.get("lat", np.nan) for a in answers]), crs=4326).to_crs(register.crs)
    a_d = np.nan_to_num(a_pts.distance(truth).to_numpy(), nan=np.inf)
    a = _shares(a_house, a_same, a_d <= 30, a_found)
    score = np.array([x.get("score", 0.0) for x in answers])
    keep = a_found & (score >= CUTOFF)
    a_cut = _shares(a_house & keep, a_same, (a_d <= 30) & keep, keep)
    types = {"housenumber": int(a_house.sum()), "street": int((a_found & ~a_house).sum()),
             "none": int((~a_found).sum())}
    print(f"addok ({VENV}): documents {t_docs:.1f} s, import (addok batch + ngrams) {timing['import_s']:.1f} s; "
          f"{types}; search loop {timing['wall_s']:.2f} s wall, {timing['cpu_s']:.2f} s CPU in addok's process "
          f"+ {timing['redis_cpu_s']:.2f} s in Redis")

    v_rate, a_rate = N / t_vigie, N / timing["wall_s"]
    print(_line("Vigie", v, v_rate))
    print(_line("addok", a, a_rate))
    print(_line(f"addok, score >= {CUTOFF}", a_cut, a_rate))
    print("within 30 m by variation typed (rows with it): Vigie / addok")
    for name in VARIATIONS:
        has = messy["variations"].str.split(",").map(lambda vs, n=name: n in vs).to_numpy()
        print(f"  {name:13s} ({has.sum():5,}): {np.mean(np.nan_to_num(v_d[has], nan=np.inf) <= 30):7.2%} / "
              f"{np.mean(a_d[has] <= 30):7.2%}")
    wrong = a_house & ~a_same
    typo = messy["variations"].str.contains("typo").to_numpy()
    print(f"addok's wrong houses: {wrong.sum()}, of which {(wrong & typo).sum()} typed with a typo; "
          f"on another street than the typed one: {(wrong & (rows['street_code'].astype(str).to_numpy()[r] != t_code)).sum()}")
    print(f"addok counting CPU only (its process + Redis): "
          f"{N / (timing['cpu_s'] + timing['redis_cpu_s']):,.0f} addresses/s")
    both = v_house & a_house
    print(f"ratio: Vigie {v_rate / a_rate:.1f}x addok's throughput; where both give a house ({both.sum():,} rows) "
          f"they agree on {np.mean(v_same[both] == a_same[both]):.2%}")
    assert v["within30"] >= a["within30"], "Vigie is less accurate than addok"
    assert v["wrong"] <= a_cut["wrong"], "Vigie places more addresses at a wrong house than addok"
    assert v_rate >= 2000, "below 2,000 addresses per second"


if __name__ == "__main__":
    main()
