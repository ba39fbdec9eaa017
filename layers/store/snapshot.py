"""Arrays derived from one store version, saved next to the deployment and mapped back read-only.

A server needs, for every store version, the same derived arrays: the incident columns
(``layers.columns.IncidentColumns``), the attribute table, the darkness classes, each incident's
analysis cell and street segment. Computing them means reading and reprojecting every incident
(minutes at ten million). ``Snapshots`` saves them once per version, as one ``.npy`` file per
numeric array and one Arrow IPC file per text array, and maps them back with ``mmap``: a new
process starts in a fraction of a second, the arrays cost no private memory, and every process
on the machine shares their pages through the page cache.

Layout: ``<root>/<name>/<key>/<version>/`` holding the array files and ``meta.pickle`` (the
small non-array values, written last). A version's folder is written under a temporary name
and renamed into place, so a reader sees a whole snapshot or none; two processes saving the
same version keep the first. Only the ``keep`` newest versions of a name and key stay on disk
(a process that has older files mapped keeps reading them: Linux frees a removed file when its
last mapping goes).

A snapshot that cannot be read (truncated, removed under us, written by another format) is
deleted and reported as missing: the caller computes the value again. Nothing here decides
whether a snapshot still matches the store: callers key it by the store's version token and
check what they can (row counts).
"""

from __future__ import annotations

import dataclasses
import logging
import mmap
import os
import pickle
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMAT", "Saved", "Snapshots", "decode_dataclass", "encode_dataclass", "is_mapped", "private_nbytes"]

log = logging.getLogger(__name__)

#: bumped whenever what a snapshot holds changes meaning (older snapshots are then ignored)
FORMAT = 1


@dataclass(frozen=True)
class Saved:
    """One saved value: its store ``version``, ``arrays`` (read-only, memory-mapped NumPy
    arrays; text arrays as ``pyarrow`` arrays) and ``meta`` (everything else)."""

    version: str
    arrays: dict
    meta: dict


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(text))[:120] or "_"


class Snapshots:
    """Saved arrays of store versions in folder ``root`` (created when first written).

    Parameters
    ----------
    root : path
        The folder (``<deployment>/cache`` for a server).
    keep : int, default 2
        Versions kept per name and key; older ones are removed after a save.
    """

    def __init__(self, root, *, keep: int = 2):
        self.root = Path(root)
        self.keep = max(1, int(keep))

    def _dir(self, name: str, key: str) -> Path:
        return self.root / _safe(name) / _safe(f"f{FORMAT}-{key}")

    def load(self, name: str, key: str, version: str) -> Saved | None:
        """The value saved for ``version``, or None (never saved, or unreadable: removed)."""
        got = self._load(self._dir(name, key) / _safe(version))
        return got if got is None or got.version == version else None

    def _load(self, path: Path) -> Saved | None:
        """The snapshot in folder ``path``, or None (none there, or unreadable: removed)."""
        if not (path / "meta.pickle").exists():
            return None
        try:
            meta = pickle.loads((path / "meta.pickle").read_bytes())
            arrays = {a: _read_array(path, a, kind) for a, kind in meta["arrays"].items()}
        except Exception as e:  # noqa: BLE001 - any unreadable snapshot is recomputed
            log.warning("ignoring the unreadable snapshot %s: %s", path, e)
            shutil.rmtree(path, ignore_errors=True)
            return None
        return Saved(meta["version"], arrays, meta["meta"])

    def discard(self, name: str, key: str, version: str) -> None:
        """Remove what was saved for ``version`` (it no longer fits the store)."""
        shutil.rmtree(self._dir(name, key) / _safe(version), ignore_errors=True)

    def latest(self, name: str, key: str, *, but: str | None = None) -> Saved | None:
        """The newest readable saved version of ``name`` and ``key`` other than ``but``."""
        folder = self._dir(name, key)
        try:
            found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        except OSError:
            return None
        for path in sorted(found, key=_mtime, reverse=True):
            got = self._load(path)
            if got is not None and got.version != but:
                return got
        return None

    def save(self, name: str, key: str, version: str, arrays: dict, meta: dict) -> Saved | None:
        """Save ``arrays`` (NumPy arrays; text as ``pyarrow`` string arrays) and ``meta``
        (picklable) for ``version`` and return them mapped back from disk; None when the folder
        cannot be written (a read-only deployment: the caller keeps its own copy)."""
        final = self._dir(name, key) / _safe(version)
        if not self._publish(final, version, meta, lambda tmp: {a: _write_array(tmp, a, v) for a, v in arrays.items()}):
            return None
        return self.load(name, key, version)

    def alias(self, name: str, key: str, source: str, version: str, meta: dict) -> bool:
        """Save for ``version`` the arrays saved for ``source`` (hard links: no copy), with
        ``meta``: a version that left the value unchanged. False when ``source`` is not saved
        or the folder cannot be written."""
        src = self._dir(name, key) / _safe(source)
        try:
            kinds = pickle.loads((src / "meta.pickle").read_bytes())["arrays"]
        except Exception:  # noqa: BLE001 - not saved (or unreadable): nothing to link
            return False

        def link(tmp: Path) -> dict:
            for f in src.iterdir():
                if f.name != "meta.pickle":
                    os.link(f, tmp / f.name)
            return kinds

        return self._publish(self._dir(name, key) / _safe(version), version, meta, link)

    def _publish(self, final: Path, version: str, meta: dict, fill) -> bool:
        """Make folder ``final`` whole or not at all: ``fill(tmp)`` puts the array files in a
        temporary folder and returns their kinds, the meta file is written last, and the folder
        is renamed into place (when another process got there first, theirs is kept). Older
        versions beyond ``keep`` are then removed. False when the folder cannot be written."""
        if (final / "meta.pickle").exists():
            return True
        tmp = final.parent / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
        try:
            tmp.mkdir(parents=True)
            kinds = fill(tmp)
            (tmp / "meta.pickle").write_bytes(pickle.dumps(
                {"version": version, "arrays": kinds, "meta": meta}, protocol=pickle.HIGHEST_PROTOCOL))
            try:
                tmp.rename(final)
            except OSError:  # another process saved this version first: keep theirs
                pass
        except OSError as e:
            log.warning("cannot save the snapshot %s: %s", final, e)
            return False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._prune(final.parent)
        return True

    def _prune(self, folder: Path) -> None:
        try:
            found = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                           key=_mtime, reverse=True)
        except OSError:
            return
        for old in found[self.keep:]:
            shutil.rmtree(old, ignore_errors=True)

    def clear(self) -> None:
        """Remove every snapshot."""
        shutil.rmtree(self.root, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _write_array(folder: Path, name: str, value) -> str:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"{name}: object arrays are not saved (use a pyarrow string array)")
        np.save(folder / f"{name}.npy", np.ascontiguousarray(value), allow_pickle=False)
        return "npy"
    import pyarrow as pa

    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    with pa.OSFile(str(folder / f"{name}.arrow"), "wb") as f:
        table = pa.table({"v": value})
        with pa.ipc.new_file(f, table.schema) as writer:
            writer.write_table(table)
    return "arrow"


def _read_array(folder: Path, name: str, kind: str):
    if kind == "npy":
        out = np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        return np.asarray(out)  # a plain read-only ndarray over the mapping
    import pyarrow as pa

    with pa.memory_map(str(folder / f"{name}.arrow")) as source:
        return pa.ipc.open_file(source).read_all().column("v").combine_chunks()


def encode_dataclass(obj, *, refs: dict | None = None, prefix: str = "") -> tuple[dict, dict]:
    """A dataclass instance as ``(arrays, meta)`` for ``Snapshots.save``: NumPy arrays and
    SciPy sparse matrices (their ``data``/``indices``/``indptr``) become arrays, nested
    dataclasses are encoded in turn, a field whose value *is* one of ``refs`` (by identity)
    is recorded by its name there, everything else goes to ``meta`` as it is."""
    from scipy import sparse

    refs = refs or {}
    arrays, meta = {}, {"__class__": type(obj)}
    for f in dataclasses.fields(obj):
        value, name = getattr(obj, f.name), prefix + f.name
        ref = next((r for r, v in refs.items() if v is value), None)
        if ref is not None:
            meta[f.name] = ("ref", ref)
        elif isinstance(value, np.ndarray):
            arrays[name] = value
            meta[f.name] = ("array", name)
        elif sparse.issparse(value):
            m = value.tocsr()
            for part in ("data", "indices", "indptr"):
                arrays[f"{name}.{part}"] = getattr(m, part)
            meta[f.name] = ("csr", name, m.shape, bool(m.has_sorted_indices), bool(m.has_canonical_format))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            a, m = encode_dataclass(value, refs=refs, prefix=name + ".")
            arrays.update(a)
            meta[f.name] = ("dataclass", m)
        else:
            meta[f.name] = ("value", value)
    return arrays, meta


def decode_dataclass(arrays: dict, meta: dict, *, refs: dict | None = None) -> Any:
    """The dataclass instance ``encode_dataclass`` described, its arrays those of ``arrays``."""
    from scipy import sparse

    refs = refs or {}
    cls, kwargs = meta["__class__"], {}
    for field, spec in meta.items():
        if field == "__class__":
            continue
        how = spec[0]
        if how == "ref":
            kwargs[field] = refs[spec[1]]
        elif how == "array":
            kwargs[field] = arrays[spec[1]]
        elif how == "csr":
            name, shape, is_sorted, canonical = spec[1:]
            m = sparse.csr_matrix(shape, dtype=arrays[f"{name}.data"].dtype)
            m.data, m.indices, m.indptr = (arrays[f"{name}.{p}"] for p in ("data", "indices", "indptr"))
            # the arrays are read-only: never let SciPy sort them in place
            m.has_sorted_indices, m.has_canonical_format = is_sorted, canonical
            kwargs[field] = m
        elif how == "dataclass":
            kwargs[field] = decode_dataclass(arrays, spec[1], refs=refs)
        else:
            kwargs[field] = spec[1]
    return cls(**kwargs)


def is_mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is a view of a memory-mapped file (its pages belong to the page cache,
    shared by every process mapping the file, not to this process)."""
    base = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def private_nbytes(value) -> int | None:
    """Bytes of ``value``'s arrays held in this process's own memory (mapped ones count 0):
    for a NumPy array, a SciPy sparse matrix, or a dataclass of them (nested dataclasses,
    shared with their owner, are not counted); None for anything else."""
    from scipy import sparse

    if isinstance(value, np.ndarray):
        return 0 if is_mapped(value) else int(value.nbytes)
    if sparse.issparse(value):
        return sum(private_nbytes(getattr(value, p)) for p in ("data", "indices", "indptr"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        total = 0
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if isinstance(v, np.ndarray) or sparse.issparse(v):
                total += private_nbytes(v)
        return total
    return None
