"""Web imports in a child process with a memory limit.

``run_import(home_path, kind, path, memory_mb=..., **options)`` runs
``geo_app.imports.import_file`` in a fresh Python process (``python -m geo_app.import_worker``)
and returns its ``ImportOutcome``, or raises the ``InputError`` / ``ParameterError`` it raised
(with its row problems). The child caps its address space with ``RLIMIT_AS`` at what it holds
once its libraries are loaded plus ``memory_mb``; an import that needs more (a ``MemoryError``,
or a child killed by a signal, e.g. a C library aborting on a failed allocation or the kernel's
OOM killer) raises ``ImportMemoryError`` (413) naming ``file`` and the limit. The store is then
unchanged: a store write is atomic (a killed writer leaves the old store file).

The parent and the child talk through two files of a work folder the caller owns (the upload's
temporary folder): ``job.pickle`` (the arguments) and ``result.pickle`` (what happened). The
child's ``TMPDIR`` is that folder too, so whatever temporary files the import makes go away with
it, even when the child is killed.
"""

from __future__ import annotations

import os
import pickle
import resource
import subprocess
import sys
from pathlib import Path

from layers.errors import InputError, ParameterError, RowProblem, VigieError

__all__ = ["ImportMemoryError", "run_import"]

_MB = 1024 * 1024
_JOB, _RESULT = "job.pickle", "result.pickle"
#: exit status of a child whose import ran out of memory (its result may not be writable)
_EXIT_MEMORY = 3


class ImportMemoryError(VigieError):
    """An import needed more memory than the import limit (``param`` is ``file``)."""

    status = 413

    def __init__(self, message: str, limit_mb: int):
        super().__init__(message)
        self.param = "file"
        self.limit_mb = limit_mb

    def to_dict(self) -> dict:
        return {**super().to_dict(), "param": self.param, "limit_mb": self.limit_mb}


def _memory_message(limit_mb: int, file_name: str) -> str:
    return (f"file: importing '{file_name}' needs more memory than the import limit of {limit_mb} MB "
            "([web] import_memory_mb); nothing was stored. Split the file, or import it with the command "
            "line (geo-app import).")


def run_import(home_path: str | Path, kind: str, path: str | Path, *, work: str | Path, memory_mb: int,
               **options):
    """``import_file(Home(home_path), kind, path, **options)`` in a child process capped at
    ``memory_mb`` MB more than its loaded libraries (0: no cap); ``work`` is an existing folder
    for the exchange files (see the module docstring)."""
    work = Path(work)
    (work / _JOB).write_bytes(pickle.dumps({
        "home": str(home_path), "kind": kind, "path": str(path), "memory_mb": int(memory_mb or 0),
        "options": options}))
    # glibc reserves 64 MB of address space per thread arena: a few arenas keep the cap about data
    env = {"MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **os.environ,
           "TMPDIR": str(work)}
    proc = subprocess.run([sys.executable, "-m", "geo_app.import_worker", str(work)], env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    file_name = options.get("file_name") or Path(path).name
    if proc.returncode < 0 or proc.returncode == _EXIT_MEMORY:
        raise ImportMemoryError(_memory_message(memory_mb, file_name), memory_mb)
    result_path = work / _RESULT
    if proc.returncode != 0 or not result_path.exists():
        tail = proc.stderr.decode("utf-8", "replace")[-2000:]
        raise RuntimeError(f"the import process ended with status {proc.returncode}: {tail}")
    result = pickle.loads(result_path.read_bytes())
    if result["status"] == "ok":
        return result["outcome"]
    if result["status"] == "memory":
        raise ImportMemoryError(_memory_message(memory_mb, file_name), memory_mb)
    if result["status"] == "input":
        raise InputError(result["message"], [RowProblem(*p) for p in result["problems"]])
    if result["status"] == "parameter":
        raise ParameterError(result["message"], result["param"])
    if result["status"] == "vigie":  # another refusal of the pipeline (NotFound, Forbidden…)
        err = VigieError(result["message"])
        err.status = result["http_status"]
        raise err
    raise RuntimeError(f"the import process failed: {result['message']}")


def _peak_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    return 0


def _memory_exhausted(e: BaseException, cap: int | None) -> bool:
    """Whether ``e`` comes from running out of memory: a ``MemoryError`` in its chain, or, under a
    cap, a failure once the address space came near it (a failed allocation inside a C library,
    Arrow or GDAL, surfaces as an error of its own, e.g. "Unknown error: Wrapping … failed")."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, MemoryError) or "bad_alloc" in str(e) or "Unable to allocate" in str(e):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    if cap is None:
        return False
    return _peak_bytes() >= cap - max(64 * _MB, (cap - _BASE[0]) // 8)


#: the address space when the cap was set
_BASE = [0]


def _limit_memory(memory_mb: int) -> int | None:
    """Cap the address space at its current size plus ``memory_mb`` MB; the cap in bytes."""
    if memory_mb <= 0:
        return None
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[0]) * resource.getpagesize()
    _BASE[0] = current
    cap = current + memory_mb * _MB
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return cap


def _child(work: Path) -> int:
    job = pickle.loads((work / _JOB).read_bytes())
    # the libraries first, so that the cap is what the import itself may add
    from geo_app.config import Home
    from geo_app.imports import import_file
    from layers.io import read_layer  # noqa: F401

    cap = _limit_memory(job["memory_mb"])
    try:
        outcome = import_file(Home(Path(job["home"])), job["kind"], job["path"], **job["options"])
        result = {"status": "ok", "outcome": outcome}
    except InputError as e:
        result = {"status": "memory"} if not e.problems and _memory_exhausted(e, cap) else {
            "status": "input", "message": e.message,
            "problems": [(p.row, p.field, p.message, p.severity) for p in e.problems]}
    except ParameterError as e:
        result = {"status": "parameter", "message": e.message, "param": e.param}
    except VigieError as e:
        result = {"status": "vigie", "message": e.message, "http_status": e.status}
    except MemoryError:
        return _EXIT_MEMORY
    except Exception as e:  # noqa: BLE001 - reported to the parent, which logs it
        if _memory_exhausted(e, cap):
            return _EXIT_MEMORY
        import traceback

        traceback.print_exc()
        result = {"status": "error", "message": f"{type(e).__name__}: {e}"}
    try:
        data = pickle.dumps(result)
        tmp = work / (_RESULT + ".part")
        tmp.write_bytes(data)
        tmp.replace(work / _RESULT)
    except MemoryError:
        return _EXIT_MEMORY
    return 0


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1])))
