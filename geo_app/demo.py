"""The demo city: Montpellier's real layers plus simulated incidents, in a fresh deployment.

``build_demo(path)`` writes ``config.toml`` (Lambert-93, Europe/Paris, a territory box around
Montpellier, study area ``areas:commune``), imports every real layer of ``data/`` through the one
import pipeline (``geo_app.imports``), then generates the incidents with
``layers.simulate.simulate_incidents`` over the layers *as stored* and stores them as one batch
flagged as simulated, then records the demo's story: two places followed, each with a done action
(``PLANTED_ACTIONS``: a lighting repair that worked, a placebo). Sources, licences and traps:
``data/README.md``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geo_app.config import Home, write_config
from layers.errors import InputError, ParameterError
from layers.simulate import (
    DEFAULT_SEED,
    PLANTED,
    PLANTED_ACTIONS,
    action_centre,
    action_dates,
    simulate_incidents,
)

__all__ = ["DATA_DIR", "DEMO_SETTINGS", "DEMO_SOURCES", "build_demo"]

#: the demo city's files (repository folder ``data/``)
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

#: settings of the demo deployment (``[vigie]`` table of config.toml)
DEMO_SETTINGS = {
    "analysis_crs": 2154,
    "timezone": "Europe/Paris",
    # the commune (lon 3.807..3.927, lat 43.567..43.653) and its street lights, with a margin
    "territory": [3.78, 43.55, 3.96, 43.67],
    "study_area": "areas:commune",
}

#: simulation period of the demo city
DEMO_START = "2023-11-01"
DEMO_MONTHS = 24
DEMO_N = 50_000


@dataclass(frozen=True)
class _Source:
    """One real file of ``data/`` and how its columns map onto the kind's fields."""

    kind: str
    file: str
    mapping: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)  # field -> same value on every row (--set)


#: the real layers, in import order (see data/README.md for sources and licences)
DEMO_SOURCES = (
    # the commune file has only ID, AREA, LEN: its name, code and level are given
    _Source("areas", "VilleMTP_MTP_LimiteCommune.geojson", {},
            {"name": "Montpellier", "code": "34172", "level": "commune"}),
    _Source("areas", "VilleMTP_MTP_Quartiers.geojson",
            {"name": "LIBQUART", "code": "QUARTMNO"}, {"level": "quartier"}),
    _Source("areas", "VilleMTP_MTP_SousQuartiers.geojson",
            {"name": "LIBSQUART", "code": "SQUARTMNO"}, {"level": "sous-quartier"}),
    _Source("zac", "VilleMTP_MTP_ZAC.zip", {"name": "NOMZAC", "created": "CREATION"}),
    _Source("schools", "VilleMTP_MTP_Ecoles.geojson", {"name": "LIBEL", "level": "DELTA_SSCA"}),
    _Source("shops", "OSM_MTP_Commerces.geojson", {"name": "name", "kind": "type"}),
    _Source("lights", "VilleMTP_MTP_EclairagePublic.zip", {"type": "type_lante"}),
    _Source("cameras", "VilleMTP_MTP_CameraSurv.zip",
            {"name": "Nom", "address": "Adresse", "installed": "Année"}),
    # the city's address register: what incidents recorded by address are geocoded on
    _Source("addresses", "VilleMTP_MTP_PointAdresse.zip",
            {"street": "LIB_OFF", "number": "NUM_VOI", "suffix": "SUF_VOI", "street_code": "CODE_VOIE"},
            {"commune": "Montpellier", "source": "Ville de Montpellier"}),
    # the street centrelines split at intersections: the micro-places (layers.streets)
    _Source("streets", "VilleMTP_MTP_FilaireVoies.zip",
            {"segment_id": "IDARC", "street_code": "CODE_VOIE", "name": "LIB_OFF", "type": "TYPVOI",
             "ownership": "DOMANIALIT", "zac": "ZAC"}),
)


def _import_source(home: Home, src: _Source, data_dir: Path) -> dict:
    """Import one real file through the import pipeline; returns its counts (``read``,
    ``stored``, ``rejected``)."""
    from geo_app.imports import import_file

    path = data_dir / src.file
    if not path.exists():
        raise InputError(f"The demo file {path} is missing: restore data/ from the repository.")
    outcome = import_file(home, src.kind, path, mapping=src.mapping or None,
                          constants=src.constants or None, user="demo")
    return outcome.counts


def _create_demo_accounts(home: Home, password: str | None) -> dict | None:
    """One demo account per role, if the accounts feature is installed; ``None`` otherwise."""
    try:
        from geo_app.accounts import create_demo_accounts
    except ImportError:
        return None
    return create_demo_accounts(home, password)


#: review status and owner of the places of the planted actions
_DEMO_PLACE_REVIEW = {
    "lighting_repair": ("done", "Police municipale"),
    "placebo": ("action_decided", "Mairie de quartier"),
}


def _create_demo_places(home: Home) -> list[dict]:
    """A place followed and a done action for each of ``PLANTED_ACTIONS`` (the lighting
    repair at the night-time bars, the placebo), named from the streets like any place;
    returns ``[{"place_id", "action_id", "planted"}]``."""
    import geopandas as gpd
    from shapely.geometry import mapping

    from geo_app.db import AppDB
    from geo_app.i18n import place_name
    from layers.places import action_record

    db = AppDB.of(home)
    ws = home.workspace()
    crs = home.settings.analysis_crs
    zac = home.store.read("zac")
    out = []
    for name, spec in PLANTED_ACTIONS.items():
        lon, lat = action_centre(name)
        disk = gpd.GeoSeries.from_xy([lon], [lat], crs=4326).to_crs(crs).buffer(spec["radius_m"], 32)
        geom = disk.to_crs(4326).iloc[0]
        start, end = action_dates(name, DEMO_START)
        zacs = sorted(zac.loc[zac.intersects(geom), "name"].astype(str)) if len(zac) else []
        status, owner = _DEMO_PLACE_REVIEW[name]
        place = db.add_place(name=place_name(ws.name_parts(geom), "fr") or name, geometry=mapping(geom),
                             source="drawn", created_by="coordinator", owner=owner, zacs=zacs,
                             start_date=(pd.Timestamp(start) - pd.DateOffset(months=2)).strftime("%Y-%m-%d"))
        pid = place["place_id"]
        db.set_review(pid, user="coordinator", status=status, owner=owner)
        db.add_comment(pid, author="coordinator", body=spec["place_note"])
        rec = action_record(kind=spec["kind"], start_date=start, end_date=end, status="done",
                            partner=spec["partner"], cost=spec["cost"], night_only=spec["night_only"],
                            notes=spec["notes"], situational=home.taxonomy.situational)
        action = db.add_action(pid, created_by="coordinator", **rec)
        db.audit("place_add", user="demo", role="admin", target=pid, detail={"source": "drawn", "planted": name})
        out.append({"place_id": pid, "action_id": action["id"], "planted": name})
    return out


def build_demo(
    path: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    password: str | None = None,
    data_dir: str | Path | None = None,
    n: int = DEMO_N,
    progress=None,
) -> dict:
    """Build the demo deployment in ``path`` (removed first if it exists).

    Parameters
    ----------
    path : str or Path
        The deployment folder (``GEO_APP_HOME``). An existing folder is replaced whole.
    seed : int
        Seed of the simulated incidents (``layers.simulate.simulate_incidents``).
    password : str, optional
        Password of the demo accounts (one per role) when the accounts feature is installed;
        a random one per account otherwise.
    data_dir : str or Path, optional
        Folder of the real files (default: the repository's ``data/``).
    n : int
        Number of simulated incidents (default 50,000).
    progress : callable(str), optional
        Called with a line of text after each step.

    Returns
    -------
    dict
        ``path``, ``seed``, ``counts`` (features per kind, from the store), ``imported`` (per
        file: ``kind``, ``file``, ``read``, ``valid``, ``stored``, ``rejected``), ``simulated``
        (number of simulated incidents), ``planted`` (``PLANTED`` names), ``prevented``
        (incidents the planted lighting repair prevented), ``places`` (the places of the
        ``PLANTED_ACTIONS``: ``place_id``, ``action_id``, ``planted``), ``accounts``
        (name -> password, or ``None`` without the accounts feature), ``seconds``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ParameterError(f"seed must be a whole number, got {seed!r}.", "seed")
    t0 = time.perf_counter()
    say = progress or (lambda line: None)
    path = Path(path).resolve()
    data_dir = Path(data_dir) if data_dir else DATA_DIR
    if path.exists():
        if not path.is_dir():
            raise ParameterError(f"{path} exists and is not a folder.", "path")
        shutil.rmtree(path)
    write_config(path / "config.toml", dict(DEMO_SETTINGS))
    home = Home(path)

    imported = []
    for src in DEMO_SOURCES:
        counts = _import_source(home, src, data_dir)
        imported.append({"kind": src.kind, "file": src.file, **counts})
        dropped = counts["read"] - counts["stored"]
        note = (f" of {counts['read']:,} read ({dropped:,} dropped, see the batch report)"
                if dropped else "")
        say(f"{src.kind:<9} {counts['stored']:>7,}  {src.file}{note}")

    store = home.store
    areas = store.read("areas")
    incidents = simulate_incidents(
        shops=store.read("shops"),
        schools=store.read("schools"),
        lights=store.read("lights"),
        areas=areas[areas["level"] != "commune"],
        zac=store.read("zac"),
        study_area=home.study_area(),
        seed=seed,
        start=DEMO_START,
        months=DEMO_MONTHS,
        n=n,
        tz=home.settings.timezone,
        analysis_crs=home.settings.analysis_crs,
    )
    from geo_app.imports import import_frame

    outcome = import_frame(
        home, "incidents", incidents.drop(columns=["pattern"]),
        file_name=f"simulated-incidents-seed-{seed}", user="demo", simulated=True,
        options={"generator": "layers.simulate.simulate_incidents", "seed": seed,
                 "start": DEMO_START, "months": DEMO_MONTHS, "n": n},
    )
    say(f"incidents {outcome.counts['stored']:>7,}  SIMULATED (layers/simulate.py, seed {seed})")
    accounts = _create_demo_accounts(home, password)
    places = _create_demo_places(home)
    from geo_app.imports import prepare_snapshots

    prepare_snapshots(home)  # `geo-app serve` then maps the incident arrays at start
    say(f"places   {len(places):>7,}  followed, each with a done action (planted: "
        f"{', '.join(p['planted'] for p in places)})")
    return {
        "path": str(path),
        "seed": seed,
        "counts": store.counts(),
        "imported": imported,
        "simulated": int(outcome.counts["stored"]),
        "planted": list(PLANTED),
        "prevented": int(incidents.attrs.get("prevented", 0)),
        "places": places,
        "accounts": accounts,
        "seconds": round(time.perf_counter() - t0, 1),
    }
