"""Incident categories: a column of category codes, or source labels mapped to codes.

A label mapping is a shipped table (``"police_uk"``), a CSV (``source_label,category``) or a
dict. police.uk files are detected and use ``police_uk`` by default. Labels are matched
case-insensitively; a label that is itself a category code maps to it; others become ``other``
and are counted as unmapped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.errors import ParameterError
from layers.io._common import _as_text, _norm
from layers.io.readers import _Raw
from layers.registry import Taxonomy, load_label_mapping


def _categories(raw: _Raw, colmap, labels, taxonomy: Taxonomy, columns, present):
    """Incident categories from a column of codes, or from source labels through a mapping.

    Returns ``(unmapped_labels, labels_used)`` and fills ``columns``/``present`` in place.
    """
    n = len(raw.attrs)
    cat_col, lab_col = colmap.get("category"), colmap.get("source_label")
    if labels is None and _is_police_uk(raw.attrs.columns):
        labels = "police_uk"
    lookup = _label_lookup(labels, taxonomy)
    labels_used = None if labels is None else ("custom" if isinstance(labels, dict) else str(labels))
    codes = set(taxonomy.codes)
    unmapped: dict[str, int] = {}
    if cat_col is not None:
        cat_text = _as_text(raw.attrs[cat_col])
        if set(cat_text.unique()) - {""} <= codes and not lookup:
            category = cat_text
        else:
            # the "category" column holds labels (SFPD's "ROBBERY"): map them
            category, unmapped = _apply_labels(cat_text, lookup, codes)
            if lab_col is None:
                columns["source_label"] = cat_text.where(cat_text != "", None).astype("str")
                present["source_label"] = (cat_text != "").to_numpy()
    else:
        category, unmapped = _apply_labels(_as_text(raw.attrs[lab_col]), lookup, codes)
    columns["category"] = category.where(category != "", None).astype("str")
    present["category"] = (category != "").to_numpy()
    if columns.get("simulated") is None:
        columns["simulated"] = np.zeros(n, dtype=bool)
    return unmapped, labels_used


def _is_police_uk(columns) -> bool:
    n = {_norm(c) for c in columns}
    original_header = any(str(c).strip() == "Crime type" for c in columns)
    return "crime_type" in n and ("falls_within" in n or "reported_by" in n or original_header)


def _label_lookup(labels, taxonomy: Taxonomy) -> dict[str, str]:
    if labels is None:
        return {}
    if isinstance(labels, dict):
        bad = {k: v for k, v in labels.items() if v not in taxonomy}
        if bad:
            k, v = next(iter(bad.items()))
            raise ParameterError(
                f"label mapping: '{k}' -> '{v}', but '{v}' is not a category of the taxonomy "
                f"({', '.join(taxonomy.codes)}).",
                "labels",
            )
        table = labels
    else:
        table = load_label_mapping(labels, taxonomy)
    return {str(k).strip().casefold(): v for k, v in table.items()}


def _apply_labels(text: pd.Series, lookup: dict, codes: set) -> tuple[pd.Series, dict[str, int]]:
    uniq = [u for u in text.unique() if u != ""]
    to_code = {}
    unmapped_set = set()
    for u in uniq:
        code = lookup.get(u.casefold())
        if code is None and u in codes:
            code = u
        if code is None and u.casefold() in codes:
            code = u.casefold()
        if code is None:
            code = "other"
            unmapped_set.add(u)
        to_code[u] = code
    to_code[""] = ""
    category = text.map(to_code).astype("str")
    counts = {}
    if unmapped_set:
        vc = text[text.isin(list(unmapped_set))].value_counts()
        counts = {str(k): int(v) for k, v in vc.items()}
    return category, counts
