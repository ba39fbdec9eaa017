"""Process memory: give freed memory back to the system (issue 15, memory per server process).

A server process reads its whole incident layer once per store version (a million shapely
points and strings), keeps compact columns of it and frees the rest; each new filter then
allocates and frees arrays of a million rows. glibc's allocator keeps much of that freed memory
in its heap, so the resident memory of a process grew far beyond what its caches hold
(``bench/bench_scale.py``: at 1M incidents, about 240 bytes per incident after ``warm()`` and
about 120 more after a few filters and the proposals layer). Two glibc settings fix it:

* ``large_blocks_to_system()``: blocks of 1 MiB and more are always mapped on their own
  (``mallopt(M_MMAP_THRESHOLD)``), so freeing a million-row array returns its pages at once
  (by default glibc raises that threshold after the first large free, up to 32 MiB, and keeps
  such arrays in its heap);
* ``release_free_memory()``: ``malloc_trim(0)`` gives back the free pages of the heap.

Both do nothing where the C library is not glibc (they return False). Neither changes a result.

References
----------
mallopt(3) and malloc_trim(3), Linux man-pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["MMAP_THRESHOLD", "large_blocks_to_system", "release_free_memory"]

#: blocks of this many bytes and more are mapped on their own (returned to the system when freed)
MMAP_THRESHOLD = 1 << 20

_M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


def large_blocks_to_system(threshold: int = MMAP_THRESHOLD) -> bool:
    """Have blocks of ``threshold`` bytes and more mapped on their own, and so returned to the
    system when freed (``mallopt(M_MMAP_THRESHOLD, threshold)``, which also stops glibc from
    raising the threshold by itself). Process-wide; True when set."""
    libc = _libc()
    if libc is None:
        return False
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))


def release_free_memory() -> bool:
    """Give the free pages of the heap back to the system (``malloc_trim(0)``); True when
    glibc is there."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    libc.malloc_trim(0)
    return True
