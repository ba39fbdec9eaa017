"""``layers.recommend`` is pure library: no Flask, Folium or geo_app behind it."""

import subprocess
import sys


def test_recommend_imports_no_web_code():
    code = ("import sys, layers.recommend, layers.recommend.rtm, layers.recommend.context; "
            "bad = [m for m in ('flask', 'folium', 'geo_app') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_technique_has_both_languages():
    from layers.recommend import TECHNIQUES, technique

    assert len(TECHNIQUES) == 25
    assert [t.number for t in TECHNIQUES.values()] == list(range(1, 26))
    assert technique("cctv").label("en") == "Increase the risks: strengthen formal surveillance"
    assert technique("lighting").label("en") == "Increase the risks: assist natural surveillance"
    assert technique("shop").label("en") == "Increase the effort: target harden"
    assert all(t.name_fr and t.name_en for t in TECHNIQUES.values())
