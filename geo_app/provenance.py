"""Provenance of the files Vigie writes: which imports the data comes from, with which filters,
simulated or real.

``geo-app export`` and the analysis commands (``hotspots``, ``emerging``) pass this record to
``layers.io.write_layer``, which adds the date, format, CRS and feature counts and stores it where
the format allows (GeoPackage table, GeoJSON member, CSV sidecar…).
"""

from __future__ import annotations

__all__ = ["source_provenance"]


def source_provenance(store, kinds, *, filters=None, batch_ids=None, command: str | None = None,
                      **extra) -> dict:
    """The provenance record of data read from ``store``.

    Parameters
    ----------
    store : layers.store.base.Store
        Where the data was read.
    kinds : iterable of str or None
        Layer kinds the data comes from (``["incidents"]``); None: any kind (with
        ``batch_ids``).
    filters : layers.filters.Filters, optional
        The filters applied (``Filters.describe()`` is recorded).
    batch_ids : iterable of str, optional
        Only these batches (those of the rows actually written); default every batch of
        ``kinds``.
    command : str, optional
        The command that wrote the file (``"hotspots --method gistar"``).
    **extra
        More entries (method, cell size…), recorded as given.

    Returns
    -------
    dict
        ``command`` (if given), ``filters`` (if given), ``batches`` (``id``, ``kind``,
        ``file_name``, ``checksum``, ``created``, ``simulated`` per source import), ``simulated``
        (bool: some incidents are generated), ``data`` (``"simulated"``, ``"real"``,
        ``"mixed (simulated and real)"``, or ``"none"`` without any batch), ``store_version``,
        then ``extra``.
    """
    kinds = None if kinds is None else set(kinds)
    wanted = None if batch_ids is None else {str(b) for b in batch_ids}
    used = [b for b in store.batches() if (kinds is None or b.kind in kinds)
            and (wanted is None or b.id in wanted)]
    flags = {bool(b.simulated) for b in used}
    data = ("none" if not used else "mixed (simulated and real)" if len(flags) == 2
            else "simulated" if flags == {True} else "real")
    prov = {} if command is None else {"command": command}
    if filters is not None:
        prov["filters"] = filters.describe()
    prov.update({
        "batches": [{"id": b.id, "kind": b.kind, "file_name": b.file_name, "checksum": b.checksum,
                     "created": b.created, "simulated": bool(b.simulated)} for b in used],
        "simulated": True in flags,
        "data": data,
        "store_version": store.version,
    })
    prov.update(extra)
    return prov
