"""Clarke's 25 techniques of situational crime prevention, and the evidence Vigie quotes.

Every proposal names the technique it serves (Cornish & Clarke 2003) and the evidence range
from the meta-analyses in DESIGN.md §6, phrased as an expectation, not a promise.

References
----------
Cornish, D. B. & Clarke, R. V. (2003). Opportunities, precipitators and criminal decisions: a
reply to Wortley's critique of situational crime prevention. *Crime Prevention Studies* 16, 41–96.
Welsh, B. C. & Farrington, D. P. (2008). Effects of improved street lighting on crime.
*Campbell Systematic Reviews* 4(1).
Welsh, B. C. & Farrington, D. P. (2009). Public area CCTV and crime prevention: an updated
systematic review and meta-analysis. *Justice Quarterly* 26(4), 716–745.
Piza, E. L., Welsh, B. C., Farrington, D. P. & Thomas, A. L. (2019). CCTV surveillance for crime
prevention: a 40-year systematic review with meta-analysis. *Criminology & Public Policy* 18(1),
135–159.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.errors import NotFound

__all__ = ["EVIDENCE", "PROPOSAL_TECHNIQUE", "TECHNIQUES", "Technique", "technique"]


@dataclass(frozen=True)
class Technique:
    """One of the 25 techniques: its number (1–25), its family and its name, FR and EN."""

    number: int
    key: str
    family_fr: str
    family_en: str
    name_fr: str
    name_en: str

    def label(self, lang: str = "fr") -> str:
        if lang == "en":
            return f"{self.family_en}: {self.name_en.lower()}"
        return f"{self.family_fr} : {self.name_fr.lower()}"


_FAMILIES = (
    ("Accroître l'effort", "Increase the effort"),
    ("Accroître les risques", "Increase the risks"),
    ("Réduire les gains", "Reduce the rewards"),
    ("Réduire les provocations", "Reduce provocations"),
    ("Supprimer les excuses", "Remove excuses"),
)

_NAMES = (
    ("target_harden", "Renforcer les cibles", "Target harden"),
    ("control_access", "Contrôler les accès", "Control access to facilities"),
    ("screen_exits", "Filtrer les sorties", "Screen exits"),
    ("deflect_offenders", "Détourner les délinquants", "Deflect offenders"),
    ("control_tools", "Contrôler les outils et les armes", "Control tools and weapons"),
    ("extend_guardianship", "Étendre la surveillance des gardiens", "Extend guardianship"),
    ("natural_surveillance", "Faciliter la surveillance naturelle", "Assist natural surveillance"),
    ("reduce_anonymity", "Réduire l'anonymat", "Reduce anonymity"),
    ("place_managers", "Mobiliser les gestionnaires des lieux", "Utilise place managers"),
    ("formal_surveillance", "Renforcer la surveillance formelle", "Strengthen formal surveillance"),
    ("conceal_targets", "Dissimuler les cibles", "Conceal targets"),
    ("remove_targets", "Retirer les cibles", "Remove targets"),
    ("identify_property", "Marquer les biens", "Identify property"),
    ("disrupt_markets", "Perturber les marchés", "Disrupt markets"),
    ("deny_benefits", "Supprimer les bénéfices", "Deny benefits"),
    ("reduce_frustration", "Réduire les frustrations et le stress", "Reduce frustrations and stress"),
    ("avoid_disputes", "Éviter les conflits", "Avoid disputes"),
    ("reduce_arousal", "Réduire les tentations et l'excitation", "Reduce emotional arousal"),
    ("peer_pressure", "Neutraliser la pression des pairs", "Neutralise peer pressure"),
    ("discourage_imitation", "Décourager l'imitation", "Discourage imitation"),
    ("set_rules", "Fixer des règles", "Set rules"),
    ("post_instructions", "Afficher les consignes", "Post instructions"),
    ("alert_conscience", "Éveiller la conscience", "Alert conscience"),
    ("assist_compliance", "Faciliter le respect des règles", "Assist compliance"),
    ("control_drugs_alcohol", "Contrôler l'alcool et les drogues", "Control drugs and alcohol"),
)

#: the 25 techniques by key, in Cornish & Clarke's order (5 families × 5)
TECHNIQUES: dict[str, Technique] = {
    key: Technique(i + 1, key, *_FAMILIES[i // 5], fr, en)
    for i, (key, fr, en) in enumerate(_NAMES)
}

#: which technique each kind of proposal serves
PROPOSAL_TECHNIQUE = {
    "cctv": "formal_surveillance",
    "lighting": "natural_surveillance",
    "lamp": "natural_surveillance",
    "shop": "target_harden",
    "bar": "control_drugs_alcohol",
    "school": "extend_guardianship",
}


def technique(key: str) -> Technique:
    """The technique named ``key`` (a key of ``TECHNIQUES`` or of ``PROPOSAL_TECHNIQUE``)."""
    key = PROPOSAL_TECHNIQUE.get(key, key)
    try:
        return TECHNIQUES[key]
    except KeyError:
        raise NotFound(
            f"Unknown prevention technique '{key}'. Known: {', '.join(TECHNIQUES)}."
        ) from None


#: evidence quoted with each kind of proposal (expectations, not promises)
EVIDENCE = {
    "cctv": {
        "fr": (
            "Ce que l'on peut attendre : d'après les méta-analyses, la vidéoprotection réduit la "
            "délinquance surtout dans les parkings (−51 % en moyenne), moins dans les transports "
            "publics (−23 %) et peu dans les centres-villes (−7 %) (Welsh & Farrington 2009) ; "
            "l'effet d'ensemble est modeste, meilleur avec un visionnage actif et des mesures "
            "combinées (Piza et al. 2019). Ce sont des moyennes, pas une garantie pour ce site."
        ),
        "en": (
            "What to expect: in the meta-analyses, CCTV reduces crime mostly in car parks (−51 % "
            "on average), less on public transport (−23 %) and little in city centres (−7 %) "
            "(Welsh & Farrington 2009); the overall effect is modest, better with active "
            "monitoring and combined measures (Piza et al. 2019). These are averages, not a "
            "guarantee for this site."
        ),
    },
    "lighting": {
        "fr": (
            "Ce que l'on peut attendre : un meilleur éclairage public a réduit la délinquance de "
            "21 % en moyenne sur 13 études (Welsh & Farrington 2008), de façon variable selon les "
            "lieux. C'est une moyenne, pas une garantie pour ce lieu."
        ),
        "en": (
            "What to expect: improved street lighting reduced crime by 21 % on average over 13 "
            "studies (Welsh & Farrington 2008), with variation between places. This is an "
            "average, not a guarantee for this place."
        ),
    },
}
