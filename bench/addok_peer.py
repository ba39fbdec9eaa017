"""addok, the engine of the French national address API, as a benchmark peer of ``layers.geocode``.

addok is not a dependency of the project: it lives in its own virtual environment with its
French plugins, and needs a Redis server (Debian's ``redis-server``), used for the benchmark
only::

    apt-get install -y redis-server
    python3 -m venv /work/addok-venv      # or any path, given in VIGIE_BENCH_ADDOK_VENV
    /work/addok-venv/bin/pip install addok addok-fr addok-france

``addok_documents(register)`` turns an ``addresses`` register (``street``, ``number``,
``suffix``, ``street_code``, points) into addok's import format: one JSON document per street
(``type`` "street", its name, postcode, city, the position of its middle house) holding its
house numbers (``housenumbers``: ``{"12 bis": {"lat", "lon", "row"}}``, ``row`` being the
register row). ``run_addok(documents, queries)`` starts a private ``redis-server`` on a free
port in a temporary folder, imports the documents (``addok batch``, then ``addok ngrams``),
searches every query with addok's Python API in one process (``bench/addok_worker.py``), stops
Redis and returns the answers with the search's wall-clock and CPU seconds (addok's process
and Redis's, read from ``/proc``).

The addok configuration written here is the one the addok-fr and addok-france READMEs
describe for French addresses: France's query processors (``extract_address``,
``clean_query``, ``remove_leading_zeros``), its ordinal and house-number token processors, the
French synonyms and phonemisation, and France's labels.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: addok's virtual environment: VIGIE_BENCH_ADDOK_VENV, else ``addok-venv`` beside the checkout
VENV = Path(os.environ.get("VIGIE_BENCH_ADDOK_VENV", str(ROOT.parent / "addok-venv")))

INSTALL = ("apt-get install -y redis-server; python3 -m venv {venv}; "
           "{venv}/bin/pip install addok addok-fr addok-france")

_CONFIG = """
# written by bench/addok_peer.py: addok with its French plugins
BATCH_WORKERS = 1
EXTRA_FIELDS = [{"key": "citycode"}]
QUERY_PROCESSORS_PYPATHS = [
    "addok.helpers.text.check_query_length",
    "addok_france.extract_address",
    "addok_france.clean_query",
    "addok_france.remove_leading_zeros",
]
PROCESSORS_PYPATHS = [
    "addok.helpers.text.tokenize",
    "addok.helpers.text.normalize",
    "addok_france.glue_ordinal",
    "addok_france.fold_ordinal",
    "addok_france.flag_housenumber",
    "addok.helpers.text.synonymize",
    "addok_fr.phonemicize",
]
SEARCH_RESULT_PROCESSORS_PYPATHS = [
    "addok.helpers.results.match_housenumber",
    "addok_france.make_labels",
    "addok.helpers.results.score_by_importance",
    "addok.helpers.results.score_by_autocomplete_distance",
    "addok.helpers.results.score_by_ngram_distance",
    "addok.helpers.results.score_by_geo_distance",
    "addok.helpers.results.adjust_scores",
]
"""


def missing() -> str | None:
    """Why addok cannot run here (with the commands to install it), or ``None``."""
    if shutil.which("redis-server") is None:
        return f"redis-server is not installed. Install addok and Redis with: {INSTALL.format(venv=VENV)}"
    if not (VENV / "bin" / "addok").exists():
        return (f"addok is not installed in {VENV} (VIGIE_BENCH_ADDOK_VENV). "
                f"Install it with: {INSTALL.format(venv=VENV)}")
    return None


def addok_documents(register, *, postcode: str = "34000", city: str = "Montpellier",
                    citycode: str = "34172") -> list[dict]:
    """One addok ``street`` document per street code of ``register`` (see the module docstring).

    House numbers 0 (the register's fictitious mid-street points) are not house numbers; a
    number typed twice in a street keeps its first point. Every document gets ``postcode``,
    ``city`` and ``citycode`` (the register has no postcode column).
    """
    import numpy as np

    pts = register.geometry.to_crs(4326)
    frame = register.assign(_lon=pts.x.to_numpy(), _lat=pts.y.to_numpy(), _row=np.arange(len(register)))
    docs = []
    for code, g in frame.groupby(frame["street_code"].astype(str), sort=True):
        name = g["street"].astype(str).mode().iloc[0]
        mid = g.iloc[int(np.argmin(np.hypot(g["_lon"] - g["_lon"].median(), g["_lat"] - g["_lat"].median())))]
        houses = {}
        for num, suf, lon, lat, row in zip(g["number"], g["suffix"], g["_lon"], g["_lat"], g["_row"]):
            if not num or int(num) <= 0:
                continue
            key = f"{int(num)} {suf}" if isinstance(suf, str) and suf.strip() else str(int(num))
            houses.setdefault(key, {"lat": round(float(lat), 7), "lon": round(float(lon), 7), "row": int(row)})
        docs.append({"id": f"voie-{code}", "type": "street", "name": name, "postcode": postcode, "city": city,
                     "citycode": citycode, "lat": round(float(mid["_lat"]), 7), "lon": round(float(mid["_lon"]), 7),
                     "importance": 0.0, "housenumbers": houses})
    return docs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, proc, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server stopped at start (exit {proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("redis-server did not answer within 20 s")


def run_addok(documents: list[dict], queries: list[str]) -> tuple[list[dict], dict]:
    """Import ``documents`` into a private addok + Redis and search ``queries`` (see the module
    docstring). Returns ``(answers, timing)``; ``timing`` has ``import_s``, ``wall_s``, ``cpu_s``
    (addok's process) and ``redis_cpu_s`` (Redis during the searches), in seconds."""
    from bench.bench_load import _cpu_seconds, stop_process

    addok = VENV / "bin" / "addok"
    with tempfile.TemporaryDirectory(prefix="vigie-addok-") as tmp:
        tmp = Path(tmp)
        (tmp / "addok.conf").write_text(_CONFIG)
        with open(tmp / "documents.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in documents)
        (tmp / "queries.txt").write_text("\n".join(q.replace("\n", " ") for q in queries) + "\n", encoding="utf-8")
        port = _free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
                                  "--save", "", "--appendonly", "no", "--daemonize", "no"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            _wait_for(port, redis)
            env = {**os.environ, "ADDOK_CONFIG_MODULE": str(tmp / "addok.conf"), "REDIS_HOST": "127.0.0.1",
                   "REDIS_PORT": str(port), "ADDOK_LOG_DIR": str(tmp)}
            t = time.perf_counter()
            for cmd in ([str(addok), "batch", str(tmp / "documents.jsonl")], [str(addok), "ngrams"]):
                subprocess.run(cmd, env=env, cwd=tmp, check=True, capture_output=True, text=True)
            t_import = time.perf_counter() - t
            cpu0 = _cpu_seconds(redis.pid)
            done = subprocess.run([str(VENV / "bin" / "python"), str(Path(__file__).with_name("addok_worker.py")),
                                   str(tmp / "queries.txt"), str(tmp / "answers.jsonl")],
                                  env=env, cwd=tmp, check=True, capture_output=True, text=True)
            redis_cpu = _cpu_seconds(redis.pid) - cpu0
            timing = json.loads(done.stdout.strip().splitlines()[-1])
            with open(tmp / "answers.jsonl", encoding="utf-8") as f:
                answers = [json.loads(line) for line in f]
        finally:
            stop_process(redis, timeout=10)
    timing.update(import_s=t_import, redis_cpu_s=redis_cpu)
    return answers, timing
