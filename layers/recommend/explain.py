"""Plain-language reasons for each proposal, in French and English.

Every proposal (camera site, lamp position, dark hotspot) carries ``reason_fr`` and
``reason_en`` (the numbers behind it), ``technique_fr`` / ``technique_en`` (the situational
technique it serves, Cornish & Clarke 2003) and ``evidence_fr`` / ``evidence_en`` (what the
meta-analyses lead one to expect, never a promise).
"""

from __future__ import annotations

import math

from layers.recommend.techniques import EVIDENCE, technique
from layers.registry import Taxonomy, default_taxonomy

__all__ = ["category_text", "cctv_reason", "dark_reason", "lamp_reason", "technique_columns"]


def _fmt(x: float, lang: str, digits: int = 0) -> str:
    s = f"{x:,.{digits}f}"
    if lang == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


def _pct(share: float, lang: str) -> str:
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "?"
    return f"{_fmt(100 * share, lang)} %" if lang == "fr" else f"{_fmt(100 * share, lang)}%"


def category_text(top: list[tuple[str, int]], lang: str, taxonomy: Taxonomy | None = None) -> str:
    """``[("theft", 12), ("damage", 3)]`` -> "vol simple (12), dégradations… (3)"."""
    tax = taxonomy or default_taxonomy()
    parts = []
    for code, n in top:
        label = tax[code].label(lang) if code in tax else code
        parts.append(f"{label.lower() if lang == 'fr' else label} ({n})")
    return ", ".join(parts) if parts else ("aucune" if lang == "fr" else "none")


def technique_columns(kind: str) -> dict[str, str]:
    """``technique_fr``, ``technique_en``, ``evidence_fr``, ``evidence_en`` for a proposal kind."""
    t = technique(kind)
    ev = EVIDENCE.get("cctv" if kind == "cctv" else "lighting" if kind in ("lighting", "lamp") else "", {})
    return {
        "technique_fr": t.label("fr"),
        "technique_en": t.label("en"),
        "evidence_fr": ev.get("fr", ""),
        "evidence_en": ev.get("en", ""),
    }


def cctv_reason(*, rank: int, new_incidents: int, covered_incidents: int, radius_m: float,
                top: list, night_share: float | None, existing_near: int,
                taxonomy: Taxonomy | None = None) -> tuple[str, str]:
    """Reason of one proposed camera site (FR, EN)."""
    cats_fr = category_text(top, "fr", taxonomy)
    cats_en = category_text(top, "en", taxonomy)
    night_fr = f" ; {_pct(night_share, 'fr')} la nuit" if night_share is not None else ""
    night_en = f"; {_pct(night_share, 'en')} at night" if night_share is not None else ""
    cam_fr = ("aucune caméra existante à moins de " if existing_near == 0
              else f"{existing_near} caméra(s) existante(s) à moins de ")
    cam_en = ("no existing camera within " if existing_near == 0
              else f"{existing_near} existing camera(s) within ")
    fr = (
        f"Site n° {rank} : {_fmt(covered_incidents, 'fr')} faits à moins de {_fmt(radius_m, 'fr')} m, "
        f"dont {_fmt(new_incidents, 'fr')} hors de vue des caméras existantes et des sites mieux "
        f"classés ; surtout {cats_fr}{night_fr} ; {cam_fr}{_fmt(2 * radius_m, 'fr')} m."
    )
    en = (
        f"Site #{rank}: {_fmt(covered_incidents, 'en')} incidents within {_fmt(radius_m, 'en')} m, "
        f"{_fmt(new_incidents, 'en')} of them out of sight of existing cameras and higher-ranked "
        f"sites; mostly {cats_en}{night_en}; {cam_en}{_fmt(2 * radius_m, 'en')} m."
    )
    return fr, en


def dark_reason(*, n: int, n_night: int, night_share: float, dist_m: float, reach_m: float,
                lamps: int, faulty: int, top: list, taxonomy: Taxonomy | None = None) -> tuple[str, str]:
    """Reason of one dark hotspot (FR, EN)."""
    d_fr = "aucun lampadaire en service" if not math.isfinite(dist_m) else f"{_fmt(dist_m, 'fr')} m"
    d_en = "no working lamp" if not math.isfinite(dist_m) else f"{_fmt(dist_m, 'en')} m"
    fr = (
        f"{_fmt(n_night, 'fr')} faits de nuit sur {_fmt(n, 'fr')} ({_pct(night_share, 'fr')}) ; "
        f"lampadaire en service le plus proche : {d_fr} en médiane (portée retenue "
        f"{_fmt(reach_m, 'fr')} m) ; {lamps} lampadaire(s) en service et {faulty} en panne dans le "
        f"secteur ; surtout {category_text(top, 'fr', taxonomy)}."
    )
    en = (
        f"{_fmt(n_night, 'en')} of {_fmt(n, 'en')} incidents at night ({_pct(night_share, 'en')}); "
        f"nearest working lamp: {d_en} (median; assumed reach {_fmt(reach_m, 'en')} m); "
        f"{lamps} working and {faulty} faulty lamp(s) in the place; mostly "
        f"{category_text(top, 'en', taxonomy)}."
    )
    return fr, en


def lamp_reason(*, rank: int, new_night: int, reach_m: float, top: list,
                taxonomy: Taxonomy | None = None) -> tuple[str, str]:
    """Reason of one proposed lamp position (FR, EN)."""
    fr = (
        f"Point lumineux n° {rank} : éclairerait {_fmt(new_night, 'fr')} faits de nuit commis à "
        f"plus de {_fmt(reach_m, 'fr')} m de tout lampadaire en service ; surtout "
        f"{category_text(top, 'fr', taxonomy)}."
    )
    en = (
        f"Lamp #{rank}: would light {_fmt(new_night, 'en')} night-time incidents that happened "
        f"more than {_fmt(reach_m, 'en')} m from any working lamp; mostly "
        f"{category_text(top, 'en', taxonomy)}."
    )
    return fr, en
