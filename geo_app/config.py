"""Where a deployment lives and how its settings are read.

The folder named by ``GEO_APP_HOME`` (default ``./instance``) holds:

- ``config.toml``: the deployment's settings (``[vigie]`` table: ``analysis_crs``,
  ``timezone``, ``territory``, ``study_area``, ``taxonomy``, ``k_anonymity``, ``street_tolerance_m``,
  ``intersection_radius_m``, ``privacy_cell_m``, ``pool_size``, the read limits ``max_uncompressed_mb``,
  ``max_features``, ``max_vertices``, ``evaluation_min_days``, ``evaluation_alpha``) and the web
  service's settings (``[web]`` table: ``tile_url``, ``tile_attribution``, ``secret_key``…);
- ``store.gpkg``: the layers (GeoPackage, opens in QGIS);
- ``app.db``: the application's own tables (users, reviews, audit), SQLite.

Each setting can be overridden by an environment variable: ``GEO_APP_ANALYSIS_CRS``,
``GEO_APP_TIMEZONE``, ``GEO_APP_TERRITORY`` (``minx,miny,maxx,maxy``), ``GEO_APP_STUDY_AREA``,
``GEO_APP_TAXONOMY``, ``GEO_APP_K_ANONYMITY``, ``GEO_APP_STORE_URL`` (``SETTING_ENV`` lists them all).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from layers.errors import ParameterError
from layers.registry import Taxonomy, load_taxonomy
from layers.settings import Settings

__all__ = ["SETTING_ENV", "Home", "write_config"]

#: setting name -> environment variable that overrides it
SETTING_ENV = {
    "analysis_crs": "GEO_APP_ANALYSIS_CRS",
    "timezone": "GEO_APP_TIMEZONE",
    "territory": "GEO_APP_TERRITORY",
    "study_area": "GEO_APP_STUDY_AREA",
    "taxonomy": "GEO_APP_TAXONOMY",
    "k_anonymity": "GEO_APP_K_ANONYMITY",
    "street_tolerance_m": "GEO_APP_STREET_TOLERANCE_M",
    "intersection_radius_m": "GEO_APP_INTERSECTION_RADIUS_M",
    "privacy_cell_m": "GEO_APP_PRIVACY_CELL_M",
    "pool_size": "GEO_APP_POOL_SIZE",
    "max_uncompressed_mb": "GEO_APP_MAX_UNCOMPRESSED_MB",
    "max_features": "GEO_APP_MAX_FEATURES",
    "max_vertices": "GEO_APP_MAX_VERTICES",
    "evaluation_min_days": "GEO_APP_EVALUATION_MIN_DAYS",
    "evaluation_alpha": "GEO_APP_EVALUATION_ALPHA",
}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def write_config(path: Path, vigie: dict, web: dict | None = None) -> None:
    """Write ``config.toml`` with a ``[vigie]`` table (and ``[web]`` if given)."""
    lines = ["# Vigie deployment settings (see README, 'Configuration')", "[vigie]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in vigie.items() if v is not None]
    if web:
        lines += ["", "[web]"] + [f"{k} = {_toml_value(v)}" for k, v in web.items() if v is not None]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Home:
    """A deployment folder (``GEO_APP_HOME``) and what it holds."""

    path: Path

    @classmethod
    def from_env(cls, path: str | Path | None = None) -> Home:
        return cls(Path(path or os.environ.get("GEO_APP_HOME") or "instance").resolve())

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def store_url(self) -> str:
        return os.environ.get("GEO_APP_STORE_URL") or str(self.path / "store.gpkg")

    @property
    def app_db(self) -> Path:
        return self.path / "app.db"

    @cached_property
    def config(self) -> dict:
        """The parsed ``config.toml`` (empty if the file does not exist)."""
        if not self.config_path.exists():
            return {}
        try:
            return tomllib.loads(self.config_path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ParameterError(f"{self.config_path} is not valid TOML: {e}", "config.toml") from None

    @cached_property
    def settings(self) -> Settings:
        """Settings from ``config.toml`` overridden by ``GEO_APP_*`` environment variables."""
        values = dict(self.config.get("vigie", {}))
        for name, env in SETTING_ENV.items():
            if os.environ.get(env):
                values[name] = os.environ[env]
        kwargs = {}
        if "analysis_crs" in values:
            v = values["analysis_crs"]
            if str(v).strip().lower() in ("", "none", "utm", "auto"):
                kwargs["analysis_crs"] = None
            else:
                try:
                    kwargs["analysis_crs"] = int(str(v).upper().removeprefix("EPSG:"))
                except ValueError:
                    raise ParameterError(
                        f"analysis_crs must be an EPSG code such as 2154, got '{v}'.", "analysis_crs"
                    ) from None
        for name in ("timezone", "study_area", "taxonomy"):
            if values.get(name):
                kwargs[name] = str(values[name])
        if values.get("territory"):
            kwargs["territory"] = values["territory"]
        if values.get("k_anonymity") is not None:
            try:
                kwargs["k_anonymity"] = int(values["k_anonymity"])
            except ValueError:
                raise ParameterError("k_anonymity must be a whole number.", "k_anonymity") from None
        if values.get("street_tolerance_m") is not None:
            try:
                kwargs["street_tolerance_m"] = float(values["street_tolerance_m"])
            except ValueError:
                raise ParameterError("street_tolerance_m must be a number of metres.",
                                     "street_tolerance_m") from None
        if values.get("intersection_radius_m") is not None:
            try:
                kwargs["intersection_radius_m"] = float(values["intersection_radius_m"])
            except ValueError:
                raise ParameterError("intersection_radius_m must be a number of metres.",
                                     "intersection_radius_m") from None
        if values.get("privacy_cell_m") is not None:
            try:
                kwargs["privacy_cell_m"] = float(values["privacy_cell_m"])
            except ValueError:
                raise ParameterError("privacy_cell_m must be a number of metres.", "privacy_cell_m") from None
        for name in ("max_uncompressed_mb", "max_features", "max_vertices"):  # checked by Settings
            if values.get(name) is not None and str(values[name]).strip() != "":
                kwargs[name] = values[name]
        if values.get("evaluation_min_days") is not None:
            try:
                kwargs["evaluation_min_days"] = int(str(values["evaluation_min_days"]).strip())
            except ValueError:
                raise ParameterError("evaluation_min_days must be a whole number of days, got "
                                     f"{values['evaluation_min_days']!r}.", "evaluation_min_days") from None
        if values.get("evaluation_alpha") is not None:
            try:
                kwargs["evaluation_alpha"] = float(values["evaluation_alpha"])
            except ValueError:
                raise ParameterError("evaluation_alpha must be a number such as 0.1, got "
                                     f"{values['evaluation_alpha']!r}.", "evaluation_alpha") from None
        if kwargs.get("taxonomy") and not Path(kwargs["taxonomy"]).is_absolute():
            kwargs["taxonomy"] = str(self.path / kwargs["taxonomy"])
        return Settings(**kwargs)

    @cached_property
    def pool_size(self) -> int:
        """Connections per process to a PostgreSQL store (``pool_size``; default
        ``layers.store.postgis.DEFAULT_POOL_SIZE``); ``ParameterError`` naming it if invalid."""
        from layers.store.postgis import check_pool_size

        return check_pool_size(os.environ.get(SETTING_ENV["pool_size"]) or
                               self.config.get("vigie", {}).get("pool_size"))

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.settings.taxonomy)

    @cached_property
    def store(self):
        from layers.store import open_store

        self.path.mkdir(parents=True, exist_ok=True)
        return open_store(self.store_url, pool_size=self.pool_size)

    def workspace(self, **options):
        """A ``geo_app.workspace.Workspace`` over this deployment, pinned to the store's current
        version (what a command or a report reads through)."""
        from geo_app.workspace import Workspace

        return Workspace(self, **options).pinned()

    def study_area(self):
        """The study-area polygons of ``Settings.study_area`` (EPSG:4326), or None
        (``layers.grid.study_area`` over the stored layer the setting names)."""
        from layers.grid import study_area
        from layers.settings import parse_study_area

        spec = self.settings.study_area
        kind, _ = parse_study_area(spec)
        return study_area(spec, **{kind: self.store.read(kind)})
