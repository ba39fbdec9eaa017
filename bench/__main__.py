"""Run every benchmark module ``bench/bench_*.py`` (or those named on the command line).

Each module runs Vigie and its peer on the same generated input in the same run, checks that
the results agree, and prints the figures and the ratio. ``python -m bench hotspots`` runs only
``bench/bench_hotspots.py``; options after the names go to the benchmarks
(``python -m bench scale --n 100000``).
"""

import itertools
import runpy
import sys
import time
from pathlib import Path

here = Path(__file__).parent
# names come first; what follows the first option belongs to the benchmarks
# (`python -m bench scale --store postgis` runs bench_scale only, with its options)
wanted = list(itertools.takewhile(lambda a: not a.startswith("-"), sys.argv[1:]))
modules = sorted(p for p in here.glob("bench_*.py") if not wanted or p.stem[6:] in wanted)
for path in modules:
    print(f"\n=== {path.stem} ===", flush=True)
    t = time.perf_counter()
    runpy.run_path(str(path), run_name="__main__")
    print(f"--- {path.stem} done in {time.perf_counter() - t:.1f} s", flush=True)
