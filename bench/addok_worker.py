"""Run inside addok's own virtual environment (not the project's): search every line of a text
file with addok's Python API and write one JSON answer per line.

Usage (``bench/addok_peer.py`` runs it)::

    ADDOK_CONFIG_MODULE=addok.conf REDIS_HOST=127.0.0.1 REDIS_PORT=PORT \\
        ADDOK-VENV/bin/python bench/addok_worker.py QUERIES.txt ANSWERS.jsonl

Each answer is ``{"type", "lat", "lon", "score", "housenumber", "street_id", "row"}`` of addok's
best result (``type`` is ``housenumber`` when addok matched the typed number in the street's
house numbers, else ``street``), or ``{}`` when addok found nothing. The last line printed on
stdout is a JSON summary: ``{"n", "wall_s", "cpu_s"}``, the search loop's wall-clock and
process CPU seconds (the documents are read from Redis, another process: its CPU is measured
by the caller). Standard library and addok only: this file never imports the project.
"""

import json
import sys
import time


def main(queries_path: str, answers_path: str) -> None:
    from addok.config import config

    config.load()
    from addok.core import search

    with open(queries_path, encoding="utf-8") as f:
        queries = [line.rstrip("\n") for line in f]
    answers = []
    search(queries[0], limit=1)  # the first search loads addok's lazy caches; not timed
    t = time.perf_counter()
    c = time.process_time()
    for q in queries:
        hits = search(q, limit=1)
        if not hits:
            answers.append({})
            continue
        r = hits[0]
        answers.append({"type": r.type, "lat": float(r.lat), "lon": float(r.lon), "score": float(r.score),
                        "housenumber": r.housenumber, "street_id": r._doc.get("id"),
                        "row": r._doc.get("row") if r.type == "housenumber" else None})
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    with open(answers_path, "w", encoding="utf-8") as f:
        for a in answers:
            f.write(json.dumps(a, ensure_ascii=False) + "\n")
    print(json.dumps({"n": len(queries), "wall_s": wall, "cpu_s": cpu}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
