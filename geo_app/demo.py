"""The demo city: Montpellier's real layers plus simulated incidents, in a fresh deployment.

``build_demo(path)`` writes ``config.toml`` (Lambert-93, Europe/Paris, a territory box around
Montpellier, study area ``areas:commune``), imports every real layer of ``data/`` through the one
import pipeline (``geo_app.imports``), then generates the incidents with
``layers.simulate.simulate_incidents`` over the layers *as stored* and stores them as one batch
flagged as simulated. Sources, licences and traps: ``data/README.md``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from geo_app.config import Home, write_config
from layers.errors import InputError, ParameterError
from layers.simulate import DEFAULT_SEED, PLANTED, simulate_incidents

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
        (number of simulated incidents), ``planted`` (``PLANTED`` names), ``accounts``
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
    return {
        "path": str(path),
        "seed": seed,
        "counts": store.counts(),
        "imported": imported,
        "simulated": int(outcome.counts["stored"]),
        "planted": list(PLANTED),
        "accounts": accounts,
        "seconds": round(time.perf_counter() - t0, 1),
    }
