"""Layer kinds and the incident taxonomy: the one declarative table of what Vigie stores.

A new layer kind is one ``LayerSpec`` entry in ``LAYERS``; every importer, store, export and
API route reads this table. Column types are those of the stored layer (and of the
GeoDataFrames the store returns):

========  ===================================================================
type      meaning
========  ===================================================================
str       text (pandas ``object`` / string)
float     real number
int       integer
bool      boolean
datetime  timezone-aware instant, ``datetime64[ns, UTC]`` in memory
date      calendar date (``datetime64`` at midnight, naive)
========  ===================================================================

Every stored feature also carries ``batch_id`` (the import it came from); incidents carry
``simulated`` (True for the demo city's generated incidents, shown as such everywhere).

The incident taxonomy (``Taxonomy``) is a table of categories with French and English labels,
a group from the council's problem list, a sensitivity flag (never shown as points outside the
police role, never used by lighting/CCTV proposals by default) and whether situational measures
(lighting, CCTV, layout) can act on it. The default ships in ``layers/data/taxonomy.csv``; a
deployment replaces it with its own CSV of the same columns.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from layers.errors import InputError, NotFound, ParameterError

__all__ = [
    "Column",
    "LayerSpec",
    "LAYERS",
    "get_spec",
    "Category",
    "Group",
    "Taxonomy",
    "default_taxonomy",
    "load_taxonomy",
    "load_label_mapping",
    "LABEL_MAPPINGS",
]


@dataclass(frozen=True)
class Column:
    """One attribute of a layer kind.

    ``aliases`` are source column names (lower-cased, accents kept) that the importer maps onto
    this column automatically; a user overrides with ``--map FIELD=COLUMN``.
    """

    name: str
    type: str = "str"
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class LayerSpec:
    """A layer kind: its name, geometry types, columns and labels."""

    name: str
    geometry_types: tuple[str, ...]
    columns: tuple[Column, ...]
    label_fr: str
    label_en: str
    # at least one of these columns must be non-empty on every row (e.g. shops: name or kind)
    one_of: tuple[str, ...] = ()
    large: bool = False  # many features: pages load it per bbox, never whole

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def is_point(self) -> bool:
        return self.geometry_types == ("Point",)

    @property
    def is_line(self) -> bool:
        return self.geometry_types == ("LineString",)


_POLY = ("Polygon", "MultiPolygon")

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "incidents",
            ("Point",),
            (
                Column("category", "str", True, ("category", "categorie", "catégorie", "code"),
                       "taxonomy code (see Taxonomy)"),
                Column("source_label", "str", False,
                       ("crime_type", "crime type", "type", "nature", "libelle", "libellé",
                        "infraction", "primary_type", "category_label", "qualification"),
                       "the label as the source wrote it"),
                Column("occurred_from", "datetime", True,
                       ("occurred_from", "date", "date_faits", "date des faits", "datetime",
                        "date_debut", "date début", "debut", "début", "start", "month", "mois",
                        "datedecl", "date_heure"),
                       "start of the time window (or the exact time)"),
                Column("occurred_to", "datetime", False,
                       ("occurred_to", "date_fin", "date fin", "fin", "end"),
                       "end of the time window, if the time is known only as a window"),
                Column("description", "str", False, ("description", "descript", "commentaire")),
                Column("source", "str", False, ("source", "reported_by", "service")),
                Column("address", "str", False, ("address", "adresse", "location", "lieu")),
                Column("external_id", "str", False,
                       ("external_id", "id", "crime_id", "incidntnum", "numero", "numéro",
                        "case_number", "id_dmr")),
                Column("simulated", "bool", False, ("simulated",),
                       "True for generated (demo) incidents"),
                Column("geocode_precision", "str", False, ("geocode_precision", "geocode_pr"),
                       "how an address was placed: house, interpolated, street or intersection"),
                Column("geocode_score", "float", False, ("geocode_score", "geocode_sc"),
                       "street-name score of the geocoding, 0-100"),
            ),
            "Faits constatés",
            "Incidents",
            large=True,
        ),
        LayerSpec(
            "zac",
            _POLY,
            (
                Column("name", "str", True, ("name", "nom", "nomzac", "libelle", "libellé")),
                Column("manager", "str", False, ("manager", "gestionnaire", "amenageur")),
                Column("created", "str", False, ("created", "creation", "création")),
            ),
            "ZAC",
            "ZAC perimeters",
        ),
        LayerSpec(
            "areas",
            _POLY,
            (
                Column("name", "str", True,
                       ("name", "nom", "libquart", "libsquart", "quartier", "libelle")),
                Column("code", "str", False, ("code", "quartmno", "squartmno", "code_iris", "insee")),
                Column("level", "str", False, ("level", "niveau", "type"),
                       "commune, quartier, sous-quartier, iris, qpv…"),
            ),
            "Quartiers et secteurs",
            "Areas",
        ),
        LayerSpec(
            "schools",
            ("Point",),
            (
                Column("name", "str", True, ("name", "nom", "libel", "libelle", "appellation")),
                Column("level", "str", False, ("level", "niveau", "sfamille", "nature"),
                       "école, collège, lycée…"),
            ),
            "Établissements scolaires",
            "Schools",
        ),
        LayerSpec(
            "shops",
            ("Point",),
            (
                Column("name", "str", False, ("name", "nom", "enseigne")),
                Column("kind", "str", False, ("kind", "type", "shop", "amenity", "activite")),
                Column("late_alcohol", "bool", False, ("late_alcohol", "alcool_nuit"),
                       "sells alcohol late at night"),
            ),
            "Commerces",
            "Shops",
            one_of=("name", "kind"),
        ),
        LayerSpec(
            "lights",
            ("Point",),
            (
                Column("type", "str", False, ("type", "type_lante", "modele")),
                Column("status", "str", False, ("status", "etat", "état"),
                       "working or faulty (empty means working)"),
            ),
            "Éclairage public",
            "Street lights",
            large=True,
        ),
        LayerSpec(
            "cameras",
            ("Point",),
            (
                Column("name", "str", False, ("name", "nom", "numero", "numéro", "code")),
                Column("installed", "date", False,
                       ("installed", "annee", "année", "date de mise en service", "mise_en_service")),
                Column("range_m", "float", False, ("range_m", "portee", "portée"),
                       "range in metres (default 100)"),
                Column("bearing", "float", False, ("bearing", "azimut", "orientation"),
                       "direction of view, degrees clockwise from north"),
                Column("fov", "float", False, ("fov", "angle"), "field of view, degrees"),
                Column("address", "str", False, ("address", "adresse", "implantation")),
            ),
            "Vidéoprotection",
            "CCTV cameras",
        ),
        # the address register (BAN CSV of the département, or the commune's own register):
        # what layers.geocode places typed addresses on
        LayerSpec(
            "addresses",
            ("Point",),
            (
                Column("number", "int", False, ("number", "numero", "num_voi", "num", "no"),
                       "house number (0 or empty: no number)"),
                Column("suffix", "str", False, ("suffix", "rep", "suf_voi", "suffixe", "indice"),
                       "bis, ter, quater, a, b…"),
                Column("street", "str", True, ("street", "nom_voie", "lib_off", "voie", "nom_rue", "rue"),
                       "street name as written (type included: Rue de la Loge)"),
                Column("street_code", "str", False, ("street_code", "id_fantoir", "code_voie", "fantoir",
                                                     "rivoli", "code_fantoir"),
                       "street identifier (FANTOIR, or the commune's street code)"),
                Column("postcode", "str", False, ("postcode", "code_postal", "cp")),
                Column("commune", "str", False, ("commune", "nom_commune", "ville")),
                Column("source", "str", False, ("source", "source_position"),
                       "who maintains the address (commune, BAN…)"),
            ),
            "Adresses",
            "Addresses",
            large=True,
        ),
        # the street network split at intersections (filaire des voies): the micro-places
        # incidents are assigned to (layers.streets)
        LayerSpec(
            "streets",
            ("LineString",),
            (
                Column("name", "str", False, ("name", "lib_off", "nom_voie", "nom", "voie"),
                       "street name as written (type included: Rue de la Loge)"),
                Column("street_code", "str", False, ("street_code", "code_voie", "id_fantoir", "fantoir"),
                       "street identifier shared by every segment of one street (and by the addresses)"),
                Column("segment_id", "str", False, ("segment_id", "idarc", "id_arc", "id"),
                       "the source's identifier of the segment"),
                Column("type", "str", False, ("type", "typvoi", "type_voie"),
                       "RUE, AV, PL, BD, IMP…"),
                Column("zac", "str", False, ("zac",), "name of the ZAC the segment belongs to"),
                Column("ownership", "str", False, ("ownership", "domanialit", "domanialite"),
                       "public or private road"),
            ),
            "Voies (tronçons)",
            "Street segments",
            large=True,
        ),
    )
}


def get_spec(kind: str) -> LayerSpec:
    """Return the ``LayerSpec`` of ``kind`` or raise ``NotFound`` listing the known kinds."""
    try:
        return LAYERS[kind]
    except KeyError:
        raise NotFound(
            f"Unknown layer kind '{kind}'. Known kinds: {', '.join(LAYERS)}."
        ) from None


# --------------------------------------------------------------------------------------------
# Taxonomy


@dataclass(frozen=True)
class Group:
    """A problem of the council's list (errance des jeunes, alcool, atteintes aux biens…)."""

    code: str
    label_fr: str
    label_en: str


@dataclass(frozen=True)
class Category:
    """An incident category."""

    code: str
    label_fr: str
    label_en: str
    group: str
    sensitive: bool
    situational: bool

    def label(self, lang: str = "fr") -> str:
        return self.label_en if lang == "en" else self.label_fr


@dataclass(frozen=True)
class Taxonomy:
    """The incident categories of a deployment, with their groups."""

    categories: tuple[Category, ...]
    groups: tuple[Group, ...]
    _by_code: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_code", {c.code: c for c in self.categories})

    def __contains__(self, code: str) -> bool:
        return code in self._by_code

    def __getitem__(self, code: str) -> Category:
        try:
            return self._by_code[code]
        except KeyError:
            raise NotFound(f"Unknown incident category '{code}'.") from None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    @property
    def sensitive(self) -> frozenset[str]:
        return frozenset(c.code for c in self.categories if c.sensitive)

    @property
    def situational(self) -> frozenset[str]:
        """Categories lighting and CCTV can act on (sensitive ones excluded)."""
        return frozenset(c.code for c in self.categories if c.situational and not c.sensitive)

    def in_group(self, group: str) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories if c.group == group)

    def group_of(self, code: str) -> str:
        return self[code].group


def _read_csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(text.splitlines()))


def _bool(value: str, where: str) -> bool:
    v = str(value).strip().lower()
    if v in ("true", "1", "yes", "oui", "vrai"):
        return True
    if v in ("false", "0", "no", "non", "faux", ""):
        return False
    raise InputError(f"{where}: '{value}' is not a boolean (use true or false).")


def _parse_taxonomy(text: str, groups_text: str, origin: str) -> Taxonomy:
    rows = _read_csv_rows(text)
    needed = {"code", "label_fr", "label_en", "group", "sensitive", "situational"}
    if not rows or not needed <= set(rows[0]):
        raise InputError(
            f"Taxonomy file {origin} must have the columns {', '.join(sorted(needed))}."
        )
    groups = tuple(Group(r["code"], r["label_fr"], r["label_en"]) for r in _read_csv_rows(groups_text))
    known_groups = {g.code for g in groups}
    cats = []
    for i, r in enumerate(rows, start=1):
        if r["group"] not in known_groups:
            raise InputError(
                f"Taxonomy file {origin}, row {i}: group '{r['group']}' is not one of "
                f"{', '.join(sorted(known_groups))}."
            )
        cats.append(
            Category(
                r["code"].strip(),
                r["label_fr"].strip(),
                r["label_en"].strip(),
                r["group"].strip(),
                _bool(r["sensitive"], f"Taxonomy file {origin}, row {i}, field 'sensitive'"),
                _bool(r["situational"], f"Taxonomy file {origin}, row {i}, field 'situational'"),
            )
        )
    if "other" not in {c.code for c in cats}:
        raise InputError(f"Taxonomy file {origin} must contain the category 'other'.")
    return Taxonomy(tuple(cats), groups)


def _data_text(name: str) -> str:
    return resources.files("layers").joinpath("data", *name.split("/")).read_text("utf-8")


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """The taxonomy shipped with Vigie (``layers/data/taxonomy.csv``)."""
    return _parse_taxonomy(_data_text("taxonomy.csv"), _data_text("groups.csv"), "taxonomy.csv")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a deployment's taxonomy CSV (same columns as the default), or the default."""
    if path is None:
        return default_taxonomy()
    p = Path(path)
    if not p.exists():
        raise InputError(f"Taxonomy file {p} does not exist.")
    return _parse_taxonomy(p.read_text("utf-8"), _data_text("groups.csv"), str(p))


#: label-mapping tables shipped with Vigie: name -> file under layers/data/mappings
LABEL_MAPPINGS = {"police_uk": "mappings/police_uk.csv"}


def load_label_mapping(name_or_path: str | Path, taxonomy: Taxonomy | None = None) -> dict[str, str]:
    """Read a source-label -> category mapping (CSV with ``source_label,category``).

    ``name_or_path`` is a shipped table's name (``police_uk``) or a CSV path. Every target must
    be a category of the taxonomy.
    """
    taxonomy = taxonomy or default_taxonomy()
    if str(name_or_path) in LABEL_MAPPINGS:
        text = _data_text(LABEL_MAPPINGS[str(name_or_path)])
        origin = str(name_or_path)
    else:
        p = Path(name_or_path)
        if not p.exists():
            raise ParameterError(
                f"labels: label mapping '{name_or_path}' is neither a shipped table "
                f"({', '.join(LABEL_MAPPINGS)}) nor an existing CSV file.",
                "labels",
            )
        text, origin = p.read_text("utf-8"), str(p)
    mapping = {}
    for i, r in enumerate(_read_csv_rows(text), start=1):
        if "source_label" not in r or "category" not in r:
            raise InputError(f"Label mapping {origin} needs the columns source_label,category.")
        if r["category"] not in taxonomy:
            raise InputError(
                f"Label mapping {origin}, row {i}: category '{r['category']}' is not in the taxonomy."
            )
        mapping[r["source_label"].strip()] = r["category"].strip()
    return mapping
