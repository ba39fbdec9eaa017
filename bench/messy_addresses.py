"""A seeded messy address set drawn from a real register (shared by bench_geocode and the tests).

``messy_addresses(register, n, *, seed)`` draws ``n`` numbered addresses of the register and
writes each the way people type them, with one to three variations among ``VARIATIONS``:

- ``abbrev``: the street type abbreviated (av., bd, pl., r., imp., all., ch., rte, sq., fbg,
  qu., crs) and "Saint" written "St";
- ``upper``: upper case; ``accents``: accents dropped;
- ``typo``: one letter of the name (a word of 4 letters or more, never the type) replaced,
  dropped, doubled or swapped with its neighbour;
- ``number_after``: the number after the street ("RUE DE LA LOGE 4");
- ``postcode``: ", 34000 Montpellier" appended; ``numero``: "n° 4, rue …";
- ``punct``: extra commas, dots and spaces.

The answer keeps the truth of each row (``street_code``, ``number``, ``suffix``, the register's
point as ``x``/``y`` in the register's CRS, and its row) beside the typed ``text`` and the
``variations`` used.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

__all__ = ["VARIATIONS", "messy_addresses", "typed"]

VARIATIONS = ("abbrev", "upper", "accents", "typo", "number_after", "postcode", "numero", "punct")

_ABBREV = {"rue": "r.", "avenue": "av.", "boulevard": "bd", "place": "pl.", "impasse": "imp.", "allée": "all.",
           "chemin": "ch.", "route": "rte", "square": "sq.", "faubourg": "fbg", "quai": "qu.", "cours": "crs"}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _drop_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _typo(name: str, rng: np.random.Generator) -> str:
    words = name.split(" ")
    long = [i for i, w in enumerate(words) if i > 0 and len(w) >= 4 and w.isalpha()]
    if not long:
        return name
    i = long[int(rng.integers(len(long)))]
    w = words[i]
    k = int(rng.integers(1, len(w) - 1))  # never the first letter
    kind = int(rng.integers(4))
    if kind == 0:
        w = w[:k] + _LETTERS[int(rng.integers(26))] + w[k + 1:]
    elif kind == 1:
        w = w[:k] + w[k + 1:]
    elif kind == 2:
        w = w[:k] + w[k] + w[k:]
    else:
        w = w[:k] + w[k + 1] + w[k] + w[k + 2:] if k + 1 < len(w) else w[:k - 1] + w[k] + w[k - 1]
    words[i] = w
    return " ".join(words)


def typed(street: str, number: int, suffix: str, variations, rng: np.random.Generator) -> str:
    """One address written with ``variations`` (see the module docstring)."""
    name = street
    if "abbrev" in variations:
        first, _, rest = name.partition(" ")
        name = f"{_ABBREV.get(first.lower(), first)} {rest}".strip()
        name = name.replace("Saint ", "St ").replace("Sainte ", "Ste ")
    if "typo" in variations:
        name = _typo(name, rng)
    num = f"{number}{' ' + suffix if suffix else ''}"
    if "numero" in variations:
        num = f"n° {num}"
    text = f"{name} {num}" if "number_after" in variations else f"{num}, {name}"
    if "postcode" in variations:
        text += ", 34000 Montpellier"
    if "punct" in variations:
        text = text.replace(", ", " ,, ").replace(" ", "  ", 1) + "."
    if "accents" in variations:
        text = _drop_accents(text)
    if "upper" in variations:
        text = text.upper()
    return text


def messy_addresses(register, n: int, *, seed: int = 14) -> pd.DataFrame:
    """``n`` numbered addresses of ``register`` typed messily (see the module docstring).

    ``register`` has the ``addresses`` columns (``street``, ``number``, ``suffix``,
    ``street_code``) and point geometries. Returns a DataFrame with ``text``, ``variations``
    (comma-separated), ``row`` (position in ``register``), ``street_code``, ``number``,
    ``suffix``, ``x``, ``y``.
    """
    rng = np.random.default_rng(seed)
    numbered = np.flatnonzero(pd.to_numeric(register["number"], errors="coerce").fillna(0).to_numpy() > 0)
    rows = rng.choice(numbered, size=n, replace=n > len(numbered))
    out = []
    for r in rows:
        rec = register.iloc[int(r)]
        k = int(rng.integers(1, 4))
        variations = sorted(rng.choice(len(VARIATIONS), size=k, replace=False).tolist())
        names = [VARIATIONS[v] for v in variations]
        suffix = rec["suffix"] if isinstance(rec["suffix"], str) else ""
        out.append({
            "text": typed(str(rec["street"]), int(rec["number"]), suffix, names, rng),
            "variations": ",".join(names), "row": int(r), "street_code": str(rec["street_code"]),
            "number": int(rec["number"]), "suffix": suffix, "x": rec.geometry.x, "y": rec.geometry.y,
        })
    return pd.DataFrame(out)
