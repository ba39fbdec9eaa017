"""One vocabulary: crawl every page reachable from the navigation, as each role, in English and
in French, and look for words of the other language in the visible text.

The word lists are built from the catalogue itself: the French words are the words of the
French msgids that no English translation uses (plus every accented word), the English words
those of the English translations that no French msgid uses. Values from the data (ZAC names,
user names, hotspot ids, file names) and text inside ``<code>``, ``<script>`` and ``<style>``
are not UI words and are left out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from access_city import fill_medium_store

ROLES = ("coordinator", "police", "zac_manager", "planner", "admin")
PASSWORD = "test-password"
PO = Path(__file__).parents[2] / "geo_app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
#: words the same (or a name) in both languages, which the catalogue cannot tell apart
SHARED = {"vigie", "zac", "zacs", "clspd", "kde", "gi", "fdr", "geojson", "geopackage", "shapefile", "csv", "kml",
          "mann-kendall", "benjamini", "hochberg", "benjamini–hochberg", "epsg", "utc", "api", "pdf", "ip", "k",
          "français", "english", "fr", "en"}


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


def _vocabularies() -> tuple[set[str], set[str]]:
    from babel.messages.pofile import read_po

    with open(PO, "rb") as f:
        pairs = [(m.id, m.string) for m in read_po(f) if m.id and m.string]
    fr = set().union(*(_words(re.sub(r"%\(\w+\)s|\{\w+\}", " ", i)) for i, _ in pairs))
    en = set().union(*(_words(re.sub(r"%\(\w+\)s|\{\w+\}", " ", s)) for _, s in pairs))
    french = {w for w in fr - en - SHARED if len(w) >= 4 or not w.isascii()}
    english = {w for w in en - fr - SHARED if len(w) >= 4}
    return french, english


class _Text(HTMLParser):
    """Visible text of a page: text nodes outside script, style and code; option labels;
    the title, alt and placeholder attributes (but placeholders showing an input syntax)."""

    SKIP = frozenset({"script", "style", "code"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        for name, value in attrs:
            if name in ("title", "alt", "placeholder") and value and "=" not in value:  # not a syntax example
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.nav, self.all, self.in_nav = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "nav":
            self.in_nav += 1
        if tag == "a":
            href = dict(attrs).get("href") or ""
            (self.nav if self.in_nav else self.all).append(href)

    def handle_endtag(self, tag):
        if tag == "nav" and self.in_nav:
            self.in_nav -= 1


def _links(html: str) -> tuple[list[str], list[str]]:
    p = _Links()
    p.feed(html)
    return p.nav, p.all


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from geo_app import create_app
    from geo_app.accounts import create_demo_accounts
    from geo_app.config import Home, write_config

    path = tmp_path_factory.mktemp("vocabulary-city") / "home"
    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris", "k_anonymity": 5})
    home = Home(path)
    fill_medium_store(home)
    create_demo_accounts(home, PASSWORD)
    app = create_app({"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "test", "TILE_URL": "",
                      "WTF_CSRF_ENABLED": False})
    # a review with a history and a comment, so that the review pages show statuses and fields
    c = _login(app, "coordinator")
    first = re.search(r'href="/hotspots/([^"?]+)', c.get("/hotspots").get_data(as_text=True)).group(1)
    c.post(f"/review/{first}/status", data={"status": "in_review", "owner": "Police municipale"})
    c.post(f"/review/{first}/comments", data={"body": "vu"})
    return app


@pytest.fixture(scope="module")
def data_words(app) -> set[str]:
    """Words that come from the data, not from the UI: ZAC names and managers, user names (and
    the ``demo`` account creator), batch file names and users, comments and owners written
    above. Category labels come from the taxonomy in the page's language: see ``_taxonomy``."""
    svc = app.extensions["vigie"]
    words = set(ROLES) | {"test", "vu", "police", "municipale", "demo"}
    zac = svc.home.store.read("zac")
    for col in ("name", "manager"):
        words |= set().union(*(_words(str(v)) for v in zac[col].dropna()))
    for b in svc.home.store.batches():
        words |= _words(b.file_name) | _words(b.user) | _words(b.id)
    return {w.lower() for w in words} | {r.replace("_", "") for r in ROLES} | {"manager"}


def _taxonomy(app, lang: str) -> set[str]:
    """Words of the taxonomy's labels (categories and groups) in ``lang``: registry data."""
    tax = app.extensions["vigie"].taxonomy
    labels = [c.label(lang) for c in tax.categories] + [g.label_en if lang == "en" else g.label_fr
                                                         for g in tax.groups]
    return set().union(*(_words(t) for t in labels))


def _login(app, role):
    c = app.test_client()
    r = c.post("/login", data={"username": role, "password": PASSWORD})
    assert r.status_code == 302, (role, r.status_code)
    return c


def _crawl(client, lang: str) -> dict[str, str]:
    """url -> HTML of every page reachable from the navigation bar, plus the first hotspot page
    and the first review page linked from the lists."""
    client.get(f"/?lang={lang}")  # the session remembers the language
    seen, todo = {}, ["/"]
    while todo:
        url = todo.pop(0)
        if url in seen:
            continue
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        html = r.get_data(as_text=True)
        seen[url] = html
        nav, body = _links(html)
        follow = list(nav)
        path = urlsplit(url).path
        if path in ("/hotspots", "/review/"):
            follow += [h for h in body if re.match(r"^/(hotspots|review)/[^/?]+", h)][:1]
        if path == "/admin/":
            follow += [h for h in body if h.startswith("/admin/audit")][:1]
        for href in follow:
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/") or "lang=" in parts.query:
                continue
            if parts.path.startswith(("/api", "/vendor", "/static", "/exports/download")) or "format=" in href:
                continue
            todo.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


EXPECTED_PAGES = {
    "coordinator": {"/", "/hotspots", "/reports", "/exports/", "/review/", "/account"},
    "police": {"/", "/hotspots", "/reports", "/exports/", "/review/", "/account"},
    "zac_manager": {"/", "/hotspots", "/reports", "/exports/", "/review/", "/account"},
    "planner": {"/", "/hotspots", "/reports", "/exports/", "/review/", "/account"},
    "admin": {"/", "/hotspots", "/reports", "/exports/", "/review/", "/account", "/admin/", "/admin/imports"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_word_of_the_other_language_on_any_page(app, data_words, role, lang):
    french, english = _vocabularies()
    foreign = french if lang == "en" else english
    pages = _crawl(_login(app, role), lang)
    paths = {urlsplit(u).path for u in pages}
    assert EXPECTED_PAGES[role] <= paths, sorted(paths)
    assert any(p.startswith("/hotspots/") for p in paths) and any(p.startswith("/review/") and p != "/review/"
                                                                   for p in paths), sorted(paths)
    if role == "admin":
        assert "/admin/audit" in paths
    found = {}
    for url, html in pages.items():
        words = _words(visible_text(html)) - data_words - _taxonomy(app, lang)
        bad = sorted(words & foreign)
        if bad:
            found[url] = bad
    assert not found, f"{lang} pages of {role} hold words of the other language: {found}"


def test_login_page_in_both_languages(app):
    french, english = _vocabularies()
    c = app.test_client()
    en = visible_text(c.get("/login?lang=en").get_data(as_text=True))
    assert "Log in" in en and not (_words(en) & french)
    bad = visible_text(c.post("/login?lang=en", data={"username": "x", "password": "y"}).get_data(as_text=True))
    assert "Wrong user name or password" in bad and not (_words(bad) & french)
    fr = visible_text(app.test_client().get("/login?lang=fr").get_data(as_text=True))
    assert "Se connecter" in fr and not (_words(fr) & english)


def test_the_word_lists_hold_the_words_that_used_to_leak(app):
    french, english = _vocabularies()
    assert {"statut", "nouveau", "examen", "gestionnaire", "coordinateur", "tendance", "hausse", "baisse",
            "nuit", "éclairage", "quartiers", "commerces"} <= french
    assert {"status", "review", "manager", "coordinator", "trend", "rising", "falling", "night"} <= english


def test_english_pages_show_codes_in_english(app):
    c = _login(app, "admin")
    c.get("/?lang=en")
    review = visible_text(c.get("/review/").get_data(as_text=True))
    assert "in review" in review and "en examen" not in review
    admin = visible_text(c.get("/admin/").get_data(as_text=True))
    assert "ZAC manager" in admin and "Gestionnaire" not in admin
    exports = visible_text(c.get("/exports/").get_data(as_text=True))
    assert "Street lights" in exports or "Schools" in exports


def _map_strings(html: str) -> set[str]:
    """Words of the map's layer names, legend entries and messages (JSON inside the scripts)."""
    import json

    out = set()
    for m in re.finditer(r'"(?:label|layer|name|loading|zoom_in|simulated|incidents)":\s*("(?:[^"\\]|\\.)*")', html):
        out |= _words(json.loads(m.group(1)))
    for m in re.finditer(r'name="overlay-name">\s*([^<]*)<', html):
        out |= _words(m.group(1))
    return out


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_map_legends_and_layer_names_speak_the_page_language(app, data_words, lang):
    french, english = _vocabularies()
    foreign = french if lang == "en" else english
    c = _login(app, "coordinator")
    c.get(f"/?lang={lang}")
    first = re.search(r'href="/hotspots/([^"?]+)', c.get("/hotspots").get_data(as_text=True)).group(1)
    found = {}
    for url in ("/", f"/hotspots/{first}"):
        words = _map_strings(c.get(url).get_data(as_text=True))
        assert words, url
        bad = sorted((words - data_words - _taxonomy(app, lang)) & foreign)
        if bad:
            found[url] = bad
    for key in ("kde", "emerging", "proposals"):
        body = c.get(f"/api/map/{key}?lang={lang}").get_json()
        words = set().union(set(), *(_words(e["label"]) for e in body.get("legend", [])))
        bad = sorted(words & foreign)
        if bad:
            found[key] = bad
    assert not found, found
