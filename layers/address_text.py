"""French address text: normalisation and parsing of what people type.

``normalize(text)`` gives the comparable form of a street name or an address: lower case,
accents dropped, apostrophes, hyphens and punctuation turned into spaces, abbreviations of street
types and common words expanded (``av`` -> ``avenue``, ``bd`` -> ``boulevard``, ``st`` ->
``saint``…). The register's names and the queries go through the same function, so
"Av. de Toulouse" and "Avenue de Toulouse" compare equal.

``parse_address(text, communes=())`` splits one typed address into a ``ParsedAddress``: the
house number and its suffix (before or after the street, ``n°`` ignored, ``12-14`` read as 12),
the street, a postcode and a commune found at the end (removed from the street), or the two
streets of an intersection ("angle A et B", "A / B", "carrefour A B", "A x B").

Pure text; no GeoPandas. ``layers.geocode`` matches the parsed parts against the register.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["STREET_TYPES", "SUFFIXES", "ParsedAddress", "normalize", "normalize_suffix", "parse_address",
           "street_key"]

#: typed abbreviation -> street type, as written in full in registers (normalised)
STREET_TYPES = {
    "rue": "rue", "r": "rue",
    "avenue": "avenue", "av": "avenue", "ave": "avenue", "avn": "avenue",
    "boulevard": "boulevard", "bd": "boulevard", "bld": "boulevard", "blvd": "boulevard", "boul": "boulevard",
    "place": "place", "pl": "place",
    "impasse": "impasse", "imp": "impasse",
    "allee": "allee", "all": "allee", "al": "allee",
    "chemin": "chemin", "ch": "chemin", "chem": "chemin", "che": "chemin",
    "route": "route", "rte": "route",
    "square": "square", "sq": "square", "squa": "square",
    "faubourg": "faubourg", "fbg": "faubourg", "fg": "faubourg",
    "quai": "quai", "qu": "quai", "qua": "quai",
    "cours": "cours", "crs": "cours", "cour": "cours",
    "passage": "passage", "pass": "passage", "pas": "passage",
    "esplanade": "esplanade", "espl": "esplanade",
    "promenade": "promenade", "prom": "promenade",
    "rond": "rond", "rdpt": "rond point", "rpt": "rond point",
    "carrefour": "carrefour", "carr": "carrefour",
    "parvis": "parvis", "plan": "plan", "parc": "parc", "pont": "pont", "voie": "voie",
    "descente": "descente", "desc": "descente", "enclos": "enclos", "encl": "enclos",
    "espace": "espace", "espa": "espace", "residence": "residence", "res": "residence",
    "lotissement": "lotissement", "lot": "lotissement", "hameau": "hameau", "ham": "hameau",
    "cite": "cite", "sentier": "sentier", "sen": "sentier", "traverse": "traverse", "tra": "traverse",
    "montee": "montee", "mte": "montee", "galerie": "galerie", "gal": "galerie",
    "porte": "porte", "pte": "porte", "villa": "villa", "clos": "clos", "mail": "mail",
    "tunnel": "tunnel", "viaduc": "viaduc", "autoroute": "autoroute", "bassin": "bassin",
}

#: common words abbreviated inside street names (never the first word, the street type)
_WORDS = {
    "st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes",
    "gal": "general", "gen": "general", "mal": "marechal", "pdt": "president",
    "dr": "docteur", "doct": "docteur", "prof": "professeur", "cdt": "commandant", "mgr": "monseigneur",
}

#: typed suffix -> register suffix (normalised)
SUFFIXES = {
    "bis": "bis", "b": "b", "ter": "ter", "t": "t", "quater": "quater", "qua": "quater", "quat": "quater",
    "quinquies": "quinquies", "qte": "quinquies", "quin": "quinquies",
}
_LONG_SUFFIXES = ("bis", "ter", "quater", "quat", "qua", "quinquies", "quin", "qte")

#: words dropped from the matching key ("rue de la loge" and "rue loge" share the key "rue loge")
_STOPWORDS = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "en", "sur"})

_PUNCT = re.compile(r"[^\w/&]+")
_SPACES = re.compile(r"\s+")
_NUMERO = re.compile(r"\b(?:n\s*[°º]|no\.?|num(?:ero)?\.?)\s*(?=\d)")
_POSTCODE = re.compile(r"\b(\d{5})\b")
_INTERSECTION_PREFIX = re.compile(
    r"^(?:a l |a |au )?(?:angle|coin|carrefour|croisement|intersection)(?: (?:de la|de l|des|de|du|d))? ")
_SEPARATORS = (" / ", " x ", " & ", " et ", " angle ", " au croisement de ", " croisement ")


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _clean(text) -> str:
    """Lower case, no accents, ``n°`` dropped, punctuation as spaces (``/`` and ``&`` kept)."""
    if text is None:
        return ""
    s = _ascii(str(text)).lower().replace("’", " ").replace("'", " ").replace("œ", "oe").replace("æ", "ae")
    s = _NUMERO.sub(" ", s)
    s = s.replace("/", " / ").replace("&", " & ")
    s = _PUNCT.sub(" ", s).replace("_", " ")
    return _SPACES.sub(" ", s).strip()


def _expand(tokens: list[str]) -> list[str]:
    if not tokens:
        return tokens
    first = STREET_TYPES.get(tokens[0])
    out = first.split() if first else [tokens[0]]
    for t in tokens[1:]:
        out.extend(_WORDS.get(t, t).split())
    return out


def normalize(text) -> str:
    """The comparable form of a street name (see the module docstring).

    Examples
    --------
    >>> normalize("Av. de l'Hôpital")
    'avenue de l hopital'
    >>> normalize("BD ST-JEAN")
    'boulevard saint jean'
    """
    return " ".join(_expand(_clean(text).split()))


def street_key(name: str) -> str:
    """A normalised name without its articles (``rue de la loge`` -> ``rue loge``)."""
    return " ".join(t for t in name.split() if t not in _STOPWORDS)


def street_type(name: str) -> str:
    """The street type of a normalised name (``''`` when its first word is not one)."""
    first = name.split(" ", 1)[0] if name else ""
    return first if first in STREET_TYPES.values() else ""


def normalize_suffix(value) -> str:
    """A register's or a query's suffix as one code: ``BIS`` -> ``bis``, ``qua`` -> ``quater``,
    ``A`` -> ``a``; empty for none."""
    if value is None:
        return ""
    s = _clean(value).replace(" ", "")
    if s in ("", "nan", "none"):
        return ""
    return SUFFIXES.get(s, s)


@dataclass(frozen=True)
class ParsedAddress:
    """One typed address split into parts (normalised text).

    ``street`` is empty for an intersection, whose streets are ``streets``; ``number`` is
    ``None`` when no house number was typed.
    """

    text: str
    street: str = ""
    number: int | None = None
    suffix: str = ""
    postcode: str | None = None
    commune: str | None = None
    streets: tuple[str, ...] = ()
    #: the street with the trailing commune name kept ("allee des hauts de montpellier"), when a
    #: commune was recognised without a postcode: the geocoder tries it first
    street_alt: str = ""

    @property
    def is_intersection(self) -> bool:
        return len(self.streets) == 2


def _take_number(tokens: list[str]) -> tuple[int | None, str, list[str]]:
    """A leading house number (and suffix) of ``tokens``, or a trailing one."""
    types = STREET_TYPES
    if tokens and re.fullmatch(r"\d{1,5}[a-z]*", tokens[0]):
        m = re.fullmatch(r"(\d+)([a-z]*)", tokens[0])
        number, suffix, rest = int(m.group(1)), m.group(2), tokens[1:]
        if suffix and suffix not in SUFFIXES and len(suffix) > 1:
            return None, "", tokens  # "12eme" and the like: not a house number
        if rest and re.fullmatch(r"\d{1,5}", rest[0]):
            rest = rest[1:]  # "12-14 rue …": the first number
        if not suffix and rest:
            word = rest[0]
            ends_or_typed = len(rest) == 1 or rest[1] in types
            if word in ("bis", "ter", "quater", "quinquies") or (word in _LONG_SUFFIXES and ends_or_typed):
                suffix, rest = word, rest[1:]
            elif len(word) == 1 and word.isalpha() and (len(rest) == 1 or (word not in types and rest[1] in types)):
                # "12 b rue …" (a letter, then the street type); "12 r foch" is "rue"
                suffix, rest = word, rest[1:]
        return number, normalize_suffix(suffix), rest
    # a number after the street: "rue de la loge 4", "rue de la loge 4 bis"
    for k in (2, 1):
        if len(tokens) > k:
            tail = tokens[-k:]
            m = re.fullmatch(r"(\d{1,5})([a-z]*)", tail[0])
            if not m:
                continue
            suffix = m.group(2) or (tail[1] if k == 2 else "")
            if k == 2 and (m.group(2) or not (tail[1] in SUFFIXES or (len(tail[1]) == 1 and tail[1].isalpha()))):
                continue
            if suffix and suffix not in SUFFIXES and len(suffix) > 1:
                continue
            return int(m.group(1)), normalize_suffix(suffix), tokens[:-k]
    return None, "", tokens


def _strip_place(tokens: list[str], communes) -> tuple[list[str], str | None, str | None]:
    """Remove a postcode (and the commune after it) and a trailing known commune name."""
    postcode = commune = None
    for i, t in enumerate(tokens):
        if re.fullmatch(r"\d{5}", t) and i > 0:
            postcode = t
            after = tokens[i + 1:]
            if after and not any(re.fullmatch(r"\d+", a) for a in after):
                commune = " ".join(after)
                tokens = tokens[:i]
            else:
                tokens = tokens[:i] + after
            break
    # "…, Montpellier Cedex, France": the country and "cedex" go with a commune before them
    tail = tokens[:-1] if tokens and tokens[-1] == "france" and (postcode or len(tokens) > 1) else tokens
    tail = tail[:-1] if tail and tail[-1] == "cedex" else tail
    for name in sorted(communes, key=len, reverse=True) if commune is None else ():
        words = name.split()
        n = len(words)
        if n and len(tail) > n and tail[-n:] == words:
            rest = [t for t in tail[:-n] if t not in _STOPWORDS and not t.isdigit()]
            if len(rest) >= 2 or (len(rest) == 1 and rest[0] not in STREET_TYPES):
                commune = commune or name
                tokens = tail[:-n]
            break
    return tokens, postcode, commune


def _no_article(part: str) -> str:
    """``de l avenue x`` -> ``avenue x`` (the articles before a street of an intersection)."""
    tokens = part.split()
    while len(tokens) > 1 and tokens[0] in _STOPWORDS:
        tokens = tokens[1:]
    return " ".join(tokens)


def _split_intersection(s: str) -> tuple[str, str] | None:
    """The two streets of an intersection, or ``None``."""
    m = _INTERSECTION_PREFIX.match(s)
    body = s[m.end():] if m else s
    for sep in _SEPARATORS:
        if sep in (" et ", " x ") and not m and sep == " et ":
            continue  # "rue pierre et marie curie": "et" separates streets only after "angle…"
        if sep in f" {body} ":
            parts = f" {body} ".split(sep)
            # prefer a split whose right side starts with a street type
            cands = [(_no_article(sep.join(parts[:i])), _no_article(sep.join(parts[i:])))
                     for i in range(1, len(parts))]
            cands = [(a, b) for a, b in cands if a and b]
            if not cands:
                continue
            typed = [(a, b) for a, b in cands if b.split()[0] in STREET_TYPES]
            return (typed or cands)[0]
    if m:  # "carrefour rue a rue b": split before the second street type
        tokens = body.split()
        for i in range(1, len(tokens)):
            if tokens[i] in STREET_TYPES and STREET_TYPES[tokens[i]] != "rond" and i < len(tokens) - 1:
                return " ".join(tokens[:i]), " ".join(tokens[i:])
    return None


def parse_address(text, communes=()) -> ParsedAddress:
    """Split a typed address into number, suffix, street, postcode and commune (normalised).

    Parameters
    ----------
    text : str
        What was typed, e.g. ``"12 bis av. de Toulouse 34070 Montpellier"``,
        ``"RUE DE LA LOGE 4"``, ``"angle rue Foch / rue Saint-Guilhem"``.
    communes : iterable of str
        Normalised commune names of the register: one of them at the end of the text is taken
        as the commune (unless removing it would leave no street name).

    Returns
    -------
    ParsedAddress

    Examples
    --------
    >>> p = parse_address("12 bis av. de Toulouse, 34070 Montpellier")
    >>> (p.number, p.suffix, p.street, p.postcode, p.commune)
    (12, 'bis', 'avenue de toulouse', '34070', 'montpellier')
    >>> parse_address("angle rue Foch / rue St-Guilhem").streets
    ('rue foch', 'rue saint guilhem')
    """
    raw = "" if text is None else str(text)
    s = _clean(raw)
    tokens, postcode, commune = _strip_place(s.split(), communes)
    s = " ".join(tokens)
    pair = _split_intersection(s)
    if pair is not None:
        a, b = (" ".join(_expand(_take_number(p.split())[2])) for p in pair)
        if a and b:
            return ParsedAddress(raw, postcode=postcode, commune=commune, streets=(a, b))
    number, suffix, rest = _take_number(tokens)
    rest = [t for t in rest if t not in ("/", "&")]
    alt = ""
    if commune and not postcode:
        kept = _take_number(tokens + commune.split())[2]
        alt = " ".join(_expand([t for t in kept if t not in ("/", "&")]))
    return ParsedAddress(raw, street=" ".join(_expand(rest)), number=number, suffix=suffix,
                         postcode=postcode, commune=commune, street_alt=alt)
