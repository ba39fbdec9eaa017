"""Vigie's one catalogue of user-facing words, usable inside and outside a Flask request.

Every word a user reads — pages, map legends and popups, the monthly report — goes through the
Babel catalogues of ``geo_app/translations``:

- **msgids are the French source text** (French is the service's default language), as the
  views' ``_()`` calls already do; the English words live in ``en/LC_MESSAGES/messages.po`` and
  ``make assets`` compiles the ``.po`` files into ``.mo``. ``make messages`` re-extracts the
  msgids (views, templates, this module, the map builder, the report) and merges them into the
  ``.po`` files; a test fails when one has no English translation.
- **codes are not labels**: review statuses, proposal kinds, emerging-hotspot categories, trends,
  darkness classes, roles… are stable codes (``in_review``, ``lighting``, ``new_hot``) stored and
  exchanged as such; their words are looked up here with :func:`label`, their colours in
  :mod:`geo_app.style`.

Outside a request (the report, the map builder, the CLI) the language is passed explicitly;
inside a request ``lang=None`` means the request's language (``?lang=``, then the session).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from numbers import Integral
from pathlib import Path

from babel.support import NullTranslations, Translations

from layers.errors import ParameterError

__all__ = [
    "DEFAULT_LANG",
    "DEFAULT_STATUS",
    "EMERGING_CODES",
    "LANGS",
    "N_",
    "STATUSES",
    "VOCABULARIES",
    "current_lang",
    "describe_methods",
    "emerging_code",
    "evaluation_sentence",
    "french_article",
    "french_de",
    "gettext_for",
    "label",
    "labels",
    "layer_label",
    "month_name",
    "normalize_status",
    "place_name",
    "weekday_names",
]

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"
TRANSLATIONS = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    """Mark ``message`` as a msgid for extraction (``pybabel extract -k N_``) without translating it."""
    return message


# ---------------------------------------------------------------------------------------------
# Codes and their French source words

#: review statuses of a hotspot area, in workflow order
STATUSES = ("new", "in_review", "action_decided", "done", "dismissed")
DEFAULT_STATUS = STATUSES[0]

#: the French words once used as status identifiers (app databases written before the codes)
LEGACY_STATUSES = {"nouveau": "new", "en examen": "in_review", "action décidée": "action_decided",
                   "traité": "done", "classé sans suite": "dismissed"}

#: ArcGIS's emerging-hotspot categories: ``layers.spacetime`` integer code -> Vigie code
EMERGING_CODES = {
    1: "new_hot", 2: "consecutive_hot", 3: "intensifying_hot", 4: "persistent_hot",
    5: "diminishing_hot", 6: "sporadic_hot", 7: "oscillating_hot", 8: "historical_hot",
    -1: "new_cold", -2: "consecutive_cold", -3: "intensifying_cold", -4: "persistent_cold",
    -5: "diminishing_cold", -6: "sporadic_cold", -7: "oscillating_cold", -8: "historical_cold",
    0: "no_pattern",
}

#: vocabulary -> code -> French source word (the msgid)
VOCABULARIES: dict[str, dict[str, str]] = {
    "status": {
        "new": N_("nouveau"), "in_review": N_("en examen"), "action_decided": N_("action décidée"),
        "done": N_("traité"), "dismissed": N_("classé sans suite"),
    },
    "review_field": {"status": N_("statut"), "owner": N_("partenaire référent")},
    "proposal": {"cctv": N_("Vidéoprotection"), "lighting": N_("Éclairage")},
    "proposal_title": {"cctv": N_("Caméra proposée"), "lighting": N_("Point lumineux proposé")},
    "emerging": {
        "new_hot": N_("nouveau point chaud"),
        "consecutive_hot": N_("point chaud consécutif"),
        "intensifying_hot": N_("point chaud en intensification"),
        "persistent_hot": N_("point chaud persistant"),
        "diminishing_hot": N_("point chaud en diminution"),
        "sporadic_hot": N_("point chaud sporadique"),
        "oscillating_hot": N_("point chaud oscillant"),
        "historical_hot": N_("point chaud historique"),
        "new_cold": N_("nouveau point froid"),
        "consecutive_cold": N_("point froid consécutif"),
        "intensifying_cold": N_("point froid en intensification"),
        "persistent_cold": N_("point froid persistant"),
        "diminishing_cold": N_("point froid en diminution"),
        "sporadic_cold": N_("point froid sporadique"),
        "oscillating_cold": N_("point froid oscillant"),
        "historical_cold": N_("point froid historique"),
        "no_pattern": N_("pas de tendance détectée"),
    },
    "trend": {"up": N_("hausse"), "down": N_("baisse"), "stable": N_("stable")},
    "night_class": {"night": N_("surtout la nuit"), "mixed": N_("jour et nuit"), "day": N_("surtout le jour")},
    "verdict": {"up": N_("hausse significative"), "down": N_("baisse significative"),
                "stable": N_("pas de différence significative"),
                "too_few": N_("trop peu d'incidents pour conclure")},
    "darkness": {"day": N_("Jour"), "twilight": N_("Crépuscule civil"), "night": N_("Nuit")},
    "gi_bin": {"3": N_("chaud 99 %"), "2": N_("chaud 95 %"), "1": N_("chaud 90 %"), "0": N_("non significatif"),
               "-1": N_("froid 90 %"), "-2": N_("froid 95 %"), "-3": N_("froid 99 %")},
    "role": {
        "coordinator": N_("Coordinateur CLSPD"), "police": N_("Police (municipale, nationale)"),
        "zac_manager": N_("Gestionnaire de ZAC"), "planner": N_("Urbanisme, voirie, éclairage"),
        "admin": N_("Administrateur"),
    },
    "scope": {"all": N_("tout"), "own_zac": N_("sa ZAC"), "aggregates": N_("agrégats"),
              "own_zac_aggregates": N_("agrégats de sa ZAC"), "none": N_("aucun")},
    "permission": {
        "points": N_("faits en points"), "sensitive_points": N_("faits sensibles en points"),
        "hotspots": N_("points chauds, propositions, rapports"), "review.read": N_("suivi (lecture)"),
        "review.write": N_("suivi (écriture)"), "export": N_("exports"), "import": N_("imports"),
        "users": N_("comptes"), "map": N_("carte"),
    },
    "audit_action": {
        "login": N_("connexion"), "login_failed": N_("connexion refusée"), "logout": N_("déconnexion"),
        "import": N_("import"), "rollback": N_("annulation d'import"), "export": N_("export"),
        "view_points": N_("consultation de points"), "user_add": N_("création de compte"),
        "user_change": N_("modification de compte"), "review": N_("suivi"), "comment": N_("commentaire"),
        "place_add": N_("création de lieu suivi"), "action_add": N_("action enregistrée"),
        "token_create": N_("création de jeton d'accès"), "token_revoke": N_("révocation de jeton d'accès"),
    },
    "audience": {"partners": N_("Version partenaires (données agrégées, petits effectifs masqués)"),
                 "police": N_("Version police (diffusion restreinte : points d'incidents)")},
    "yes_no": {"yes": N_("oui"), "no": N_("non")},
    "action_kind": {
        "lighting": N_("Éclairage réparé ou ajouté"), "cctv": N_("Caméra installée"),
        "target_hardening": N_("Protection des commerces (durcissement des cibles)"),
        "layout": N_("Aménagement, mobilier urbain"), "presence": N_("Médiation ou présence (patrouilles)"),
        "campaign": N_("Campagne de sensibilisation"), "other": N_("Autre action"),
    },
    "action_status": {"planned": N_("prévue"), "in_progress": N_("en cours"), "done": N_("réalisée")},
    # Clarke's 25 techniques of situational prevention (Cornish & Clarke 2003)
    "technique": {
        "target_harden": N_("Durcir les cibles"), "control_access": N_("Contrôler les accès"),
        "screen_exits": N_("Filtrer les sorties"), "deflect_offenders": N_("Détourner les délinquants"),
        "control_tools": N_("Contrôler les outils et armes"),
        "extend_guardianship": N_("Renforcer la surveillance par les gardiens"),
        "natural_surveillance": N_("Faciliter la surveillance naturelle"),
        "reduce_anonymity": N_("Réduire l'anonymat"), "place_managers": N_("Mobiliser les gestionnaires des lieux"),
        "formal_surveillance": N_("Renforcer la surveillance formelle"),
        "conceal_targets": N_("Dissimuler les cibles"), "remove_targets": N_("Retirer les cibles"),
        "identify_property": N_("Marquer les biens"), "disrupt_markets": N_("Perturber les marchés"),
        "deny_benefits": N_("Supprimer les bénéfices"),
        "reduce_frustration": N_("Réduire les frustrations et le stress"), "avoid_disputes": N_("Éviter les conflits"),
        "reduce_arousal": N_("Réduire les tentations"),
        "neutralize_peer_pressure": N_("Neutraliser la pression des pairs"),
        "discourage_imitation": N_("Décourager l'imitation"),
        "set_rules": N_("Fixer des règles"), "post_instructions": N_("Afficher les consignes"),
        "alert_conscience": N_("Éveiller la conscience"), "assist_compliance": N_("Faciliter le respect des règles"),
        "control_drugs_alcohol": N_("Contrôler les drogues et l'alcool"),
    },
}

_MONTHS = (N_("janvier"), N_("février"), N_("mars"), N_("avril"), N_("mai"), N_("juin"), N_("juillet"),
           N_("août"), N_("septembre"), N_("octobre"), N_("novembre"), N_("décembre"))
_WEEKDAYS = (N_("lun"), N_("mar"), N_("mer"), N_("jeu"), N_("ven"), N_("sam"), N_("dim"))


# ---------------------------------------------------------------------------------------------
# Lookups


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ParameterError(f"unknown language '{lang}': use one of {', '.join(LANGS)}.", "lang")
    return lang


@cache
def _translations(lang: str) -> NullTranslations:
    """The compiled catalogue of ``lang`` (French, the source language, needs none)."""
    if lang == DEFAULT_LANG:
        return NullTranslations()
    t = Translations.load(str(TRANSLATIONS), [lang])
    if not isinstance(t, Translations):
        raise FileNotFoundError(f"no compiled catalogue for '{lang}' in {TRANSLATIONS}: run 'make assets'.")
    return t


def current_lang() -> str:
    """The request's language inside a Flask request, else the default (French)."""
    try:
        from flask import has_request_context
    except ImportError:  # pragma: no cover - Flask ships with Vigie
        return DEFAULT_LANG
    if has_request_context():
        from flask_babel import get_locale

        loc = get_locale()
        if loc is not None and loc.language in LANGS:
            return loc.language
    return DEFAULT_LANG


def gettext_for(lang: str | None = None) -> Callable[..., str]:
    """A ``gettext`` for ``lang`` (``None``: the request's language).

    ``_ = gettext_for("en"); _("Légende")`` -> ``"Legend"``. Keyword arguments fill
    ``%(name)s`` placeholders, as Flask-Babel's ``gettext`` does.
    """
    t = _translations(_check_lang(lang or current_lang()))

    def _(message: str, **variables) -> str:
        text = t.gettext(message)
        return text % variables if variables else text

    return _


def label(vocabulary: str, code, lang: str | None = None) -> str:
    """The word of ``code`` in ``vocabulary`` (``status``, ``emerging``, ``role``…) in ``lang``.

    An unknown code is returned as given (data from outside keeps its own words). Emerging
    categories may be given as ArcGIS labels or integer codes (``emerging_code``), statuses as
    the French words of older databases (``normalize_status``).
    """
    words = VOCABULARIES[vocabulary]
    if code is None:
        return ""
    key = str(code)
    if vocabulary == "emerging":
        key = emerging_code(code) or key
    elif vocabulary == "status":
        key = LEGACY_STATUSES.get(key, key)
    if key not in words:
        return key
    return gettext_for(lang)(words[key])


def labels(vocabulary: str, lang: str | None = None) -> dict[str, str]:
    """Every code of ``vocabulary`` with its word in ``lang``, in the vocabulary's order."""
    _ = gettext_for(lang)
    return {code: _(word) for code, word in VOCABULARIES[vocabulary].items()}


def layer_label(kind: str, lang: str | None = None) -> str:
    """The name of a layer kind (``layers.registry.LAYERS``: the registry's own data)."""
    from layers.registry import LAYERS

    spec = LAYERS.get(kind)
    if spec is None:
        return kind
    return spec.label_en if _check_lang(lang or current_lang()) == "en" else spec.label_fr


def month_name(month: int, lang: str | None = None) -> str:
    """``month`` (1..12) in words: ``janvier`` / ``January``."""
    return gettext_for(lang)(_MONTHS[month - 1])



#: gender and number of the French street types (the first word of a street name, lower case):
#: ``f`` feminine, ``m`` masculine, ``p`` plural
_FRENCH_STREET_TYPES = {
    **dict.fromkeys(
        ("rue", "avenue", "place", "allée", "impasse", "cour", "route", "esplanade", "passerelle",
         "voie", "descente", "terrasse", "rambla", "promenade", "traverse", "montée", "rocade",
         "autoroute", "cité", "résidence", "zone", "draille", "ruelle", "venelle", "corniche",
         "galerie", "halle", "île", "sente", "chaussée"), "f"),
    **dict.fromkeys(
        ("boulevard", "square", "rond-point", "chemin", "passage", "plan", "carrefour", "pont",
         "quai", "parc", "parvis", "parking", "espace", "bassin", "jardin", "tunnel", "mail",
         "cours", "étang", "enclos", "viaduc", "clos", "domaine", "faubourg", "sentier",
         "lotissement", "hameau", "giratoire", "mas", "lieu-dit"), "m"),
    **dict.fromkeys(("allées", "jardins", "quais", "terrasses", "arceaux"), "p"),
}

#: initial letters that take the elided article (h excluded: "du hameau", h aspiré)
_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûü")


def french_article(name: str) -> str:
    """``name`` with its French definite article, as it is read in running text ("entre la
    place de la Comédie et la rue Jacques Cœur"): "la rue Foch", "l'avenue de Lodève", "le
    boulevard du Jeu de Paume", "les allées Paul Boulet", "la Grand-Rue Jean Moulin".

    A known street type (rue, avenue, boulevard, place, allée, impasse, chemin, route, quai,
    cours, esplanade…) becomes a common noun in lower case, as French typography writes it in
    running text (Lexique des règles typographiques en usage à l'Imprimerie nationale, "rue");
    its gender and number give the article, elided before a vowel ("l'impasse"; not before an
    aspirated h: "le hameau"). A name that starts with its own article keeps it, in lower case
    ("Le Triangle" -> "le Triangle"); any other name ("Odysseum") is returned as it is.

    Parameters
    ----------
    name : str
        A street or place name as the register spells it ("Rue de la Loge").

    Returns
    -------
    str
        The name with its article (or alone); ``""`` for an empty name.

    Examples
    --------
    >>> french_article("Impasse Tandon"), french_article("Cours Gambetta")
    ("l'impasse Tandon", 'le cours Gambetta')
    """
    name = " ".join(str(name or "").split())
    if not name:
        return ""
    first, _sep, rest = name.partition(" ")
    low = first.lower()
    kind = _FRENCH_STREET_TYPES.get(low)
    if kind is not None:
        noun = f"{low} {rest}".strip()
        if kind == "p":
            return f"les {noun}"
        if low[0] in _VOWELS:
            return f"l'{noun}"
        return f"la {noun}" if kind == "f" else f"le {noun}"
    if low in ("grand-rue", "grand'rue", "grand’rue"):
        return f"la {name}"  # a proper name: keeps its capital
    if low in ("le", "la", "les") and rest:
        return f"{low} {rest}"
    if low.startswith(("l'", "l’")) and len(name) > 2:
        return f"l'{name[2:]}"
    return name


def french_de(name: str) -> str:
    """``name`` preceded by the French preposition *de* and its article, as a name is read
    after "carrefour" or "près": "de la rue Foch", "de l'avenue de Lodève", "du boulevard du
    Jeu de Paume", "des allées Paul Boulet", "de la Grand-Rue Jean Moulin".

    The article is :func:`french_article`'s, contracted with *de* ("du", "des"); a name
    without an article takes "de", or "d'" before a vowel ("d'Odysseum").

    Parameters
    ----------
    name : str
        A street or place name as the register spells it ("Rue de la Loge").

    Returns
    -------
    str
        The name with its preposition and article; ``""`` for an empty name.

    Examples
    --------
    >>> french_de("Allée Jules Milhau"), french_de("Boulevard Henri IV")
    ("de l'allée Jules Milhau", 'du boulevard Henri IV')
    """
    named = french_article(name)
    if not named:
        return ""
    if named.startswith("le "):
        return "du " + named[3:]
    if named.startswith("les "):
        return "des " + named[4:]
    if named.startswith(("la ", "l'")):
        return "de " + named
    return f"d'{named}" if named[0].lower() in _VOWELS else f"de {named}"


def place_name(parts: Mapping | None, lang: str | None = None) -> str:
    """The human name of a place from its parts (``layers.naming``: ``kind``, ``street``,
    ``from``, ``to``): "Rue de la Loge, entre la place de la Comédie et la rue Jacques Cœur"
    (:func:`french_article`; English "Rue de la Loge, between Place de la Comédie and Rue
    Jacques Cœur"), "Rue Foch, près de la rue de la Loge",
    "Place Jean Jaurès et abords", "Carrefour de la rue Foch et de la rue de la Loge"
    (:func:`french_de`; English "Intersection of Rue Foch and Rue de la Loge"),
    "autour du 12 Rue de la Loge"; ``""`` without parts."""
    if not parts:
        return ""
    _ = gettext_for(lang)
    kind = parts.get("kind")
    street, a, b = parts.get("street"), parts.get("from"), parts.get("to")
    # French reads the cross streets with their article ("entre la place…", "près de la rue…");
    # the English messages take the names as they are
    fr = _check_lang(lang or current_lang()) == "fr"
    if kind == "between" and street and a and b:
        # TRANSLATORS: in French the cross streets arrive with their article: "la rue Foch"
        return _("%(street)s, entre %(a)s et %(b)s", street=street,
                 a=french_article(a) if fr else a, b=french_article(b) if fr else b)
    if kind in ("between", "near") and street and a:
        # TRANSLATORS: in French the cross street arrives as "de la rue Foch"
        return _("%(street)s, près %(a)s", street=street, a=french_de(a) if fr else a)
    if kind == "around" and street:
        return _("%(street)s et abords", street=street)
    if kind == "address" and street:
        return _("autour du %(address)s", address=street)
    if kind == "intersection" and street and a:
        # French names each street with its article ("de la rue…", "de l'avenue…", "du
        # boulevard…"); the English message takes the names as they are
        names = [street, a, b] if b else [street, a]
        if fr:
            names = [french_de(n) for n in names]
        if b:
            # TRANSLATORS: in French each name arrives with its article: "de la rue Foch"
            return _("Carrefour %(street)s, %(a)s et %(b)s", street=names[0], a=names[1], b=names[2])
        # TRANSLATORS: in French each name arrives with its article: "de la rue Foch"
        return _("Carrefour %(street)s et %(a)s", street=names[0], a=names[1])
    if kind == "intersection" and street:
        return _("%(street)s (embranchement)", street=street)
    if street:
        return str(street)
    return _("lieu sans nom de voie")


def evaluation_sentence(ev: Mapping | None, lang: str | None = None) -> str:
    """A plain sentence of an action's evaluation (``layers.effect.evaluate_place``): "Les faits
    ciblés ont baissé de 38 % de plus que dans la zone de comparaison ; pas de signe de
    déplacement."; ``""`` without an evaluation."""
    if not ev:
        return ""
    _ = gettext_for(lang)
    if ev.get("status") != "evaluated":
        if ev.get("min_days"):
            return _("Trop tôt pour évaluer : %(days)s jours de recul depuis l'action, il en faut %(min)s.",
                     days=ev.get("days", 0), min=ev["min_days"])
        return _("Trop tôt pour évaluer : %(days)s jours depuis l'action.", days=ev.get("days", 0))
    change = ev.get("change_local")
    pct = None if change is None else abs(round(100 * change))
    verdict = ev.get("verdict")
    if verdict == "down":
        head = (_("Les faits ciblés ont baissé de %(pct)s %% de plus que dans la zone de comparaison", pct=pct)
                if pct is not None else _("Les faits ciblés ont baissé plus que dans la zone de comparaison"))
    elif verdict == "up":
        head = (_("Les faits ciblés ont augmenté de %(pct)s %% de plus que dans la zone de comparaison", pct=pct)
                if pct is not None else _("Les faits ciblés ont augmenté plus que dans la zone de comparaison"))
    else:
        head = _("Pas de différence significative avec la zone de comparaison")
    tail = {"displacement": _("signe de déplacement vers les rues voisines"),
            "diffusion": _("les rues voisines en profitent aussi (diffusion des bénéfices)")}.get(
        ev.get("displacement"), _("pas de signe de déplacement"))
    sep = "; " if (lang or current_lang()) == "en" else " ; "  # French puts a space before ';'
    return f"{head}{sep}{tail}."


def weekday_names(lang: str | None = None) -> list[str]:
    """Short weekday names, Monday first."""
    _ = gettext_for(lang)
    return [_(d) for d in _WEEKDAYS]


def normalize_status(value: str | None) -> str | None:
    """A review status code from a code or from the French word of older forms and databases;
    ``ParameterError`` naming the codes for anything else (``None`` stays ``None``)."""
    if value is None:
        return None
    code = LEGACY_STATUSES.get(value, value)
    if code not in STATUSES:
        raise ParameterError(f"unknown status '{value}'; choose one of: {', '.join(STATUSES)}.", "status")
    return code


@cache
def _arcgis_names() -> dict[str, str]:
    """ArcGIS's category labels (``layers.spacetime.EMERGING_CATEGORIES``) -> Vigie's codes."""
    from layers.spacetime import EMERGING_CATEGORIES

    return {name: EMERGING_CODES[k] for k, name in EMERGING_CATEGORIES.items()} | {"no pattern": "no_pattern"}


def emerging_code(value) -> str | None:
    """Vigie's code of an emerging category given as a code (``new_hot``), an ArcGIS label
    (``"new hot spot"``, ``layers.spacetime.EMERGING_CATEGORIES``) or its integer code; ``None``
    when it is none of these."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Integral):
        return EMERGING_CODES.get(int(value))
    text = str(value)
    if text in VOCABULARIES["emerging"]:
        return text
    return _arcgis_names().get(text.strip().lower())


# ---------------------------------------------------------------------------------------------
# The methods panel: automatic choices as sentences


def _num(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{f:g}" if f != int(f) else f"{int(f)}"


def describe_methods(vigie: Mapping | None, lang: str | None = None) -> list[str]:
    """The automatic choices of a hotspot analysis (``attrs["vigie"]`` of ``layers.hotspots``
    and ``geo_app.workspace``) as sentences a coordinator reads, in ``lang``.

    Keys read: ``cell_size``, ``cell_size_auto``, ``shape`` (the grid), ``neighbourhood``
    (``"queen"`` or a distance in metres) and ``distance_auto``, ``fdr`` / ``correction``
    (significance), ``min_bin`` (the confidence of the cells merged into areas),
    ``n_incidents`` / ``n_outside``, ``trend``. Other keys are left out: the panel speaks to
    people, the API keeps the raw values.

    Examples
    --------
    >>> describe_methods({"cell_size": 200.0, "cell_size_auto": True}, "en")
    ['Cells of 200 m, chosen automatically (about 50 cells across the study area’s shorter side).']
    """
    _ = gettext_for(lang)
    v = dict(vigie or {})
    out: list[str] = []
    cell = v.get("cell_size")
    if cell is not None:
        if str(v.get("shape", "square")).startswith("hex"):
            text = (_("Hexagones de %(m)s m, choisis automatiquement (environ 50 cellules sur le plus petit "
                      "côté de la zone d’étude).", m=_num(cell)) if v.get("cell_size_auto")
                    else _("Hexagones de %(m)s m, taille choisie par l’utilisateur.", m=_num(cell)))
        else:
            text = (_("Cellules de %(m)s m, choisies automatiquement (environ 50 cellules sur le plus petit "
                      "côté de la zone d’étude).", m=_num(cell)) if v.get("cell_size_auto")
                    else _("Cellules de %(m)s m, taille choisie par l’utilisateur.", m=_num(cell)))
        out.append(text)
    neigh = v.get("neighbourhood")
    if neigh == "queen":
        out.append(_("Voisins : les 8 cellules adjacentes et la cellule elle-même."))
    elif neigh is not None:
        how = _("choisie automatiquement (pic d’autocorrélation spatiale)") if v.get("distance_auto") \
            else _("choisie par l’utilisateur")
        out.append(_("Voisins : les cellules à moins de %(m)s m et la cellule elle-même, distance %(how)s.",
                     m=_num(neigh), how=how))
    if "fdr" in v:
        out.append(_("Significativité : taux de fausses découvertes de Benjamini–Hochberg à 5 %.") if v["fdr"]
                   else _("Significativité : seuil de 5 % par cellule, sans correction des tests multiples."))
    if v.get("min_bin") is not None:
        conf = {1: "90", 2: "95", 3: "99"}.get(int(v["min_bin"]), "95")
        out.append(_("Zones : cellules chaudes adjacentes à %(c)s %% de confiance réunies en zones numérotées.",
                     c=conf))
    if v.get("n_outside"):
        out.append(_("%(n)s faits hors de la zone d’étude ne sont pas comptés.", n=_num(v["n_outside"])))
    trend = v.get("trend")
    if trend:
        import re

        months = re.search(r"(\d+) months", str(trend))
        out.append(_("Tendance : test de Mann-Kendall sur les faits par mois (%(n)s mois) ; hausse ou baisse "
                     "quand p < 5 %%, sinon stable.", n=months.group(1)) if months
                   else _("Tendance : test de Mann-Kendall sur les faits par mois ; hausse ou baisse quand "
                          "p < 5 %, sinon stable."))
    return out
