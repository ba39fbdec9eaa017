"""docs/deploy.md is linked from the README and names only settings, commands and options
that exist (so that it cannot drift from the code)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "deploy.md").read_text("utf-8")


def test_the_readme_links_the_deployment_guide():
    assert "(docs/deploy.md)" in (ROOT / "README.md").read_text("utf-8")


def test_the_settings_it_names_exist():
    from geo_app import DEFAULTS
    from geo_app.config import SETTING_ENV

    for key in ("trusted_proxies", "secure_cookies", "tile_url"):
        assert f"{key} =" in DOC
        assert key.upper() in DEFAULTS or key == "secure_cookies", key
    assert "GEO_APP_POOL_SIZE" in DOC and SETTING_ENV["pool_size"] == "GEO_APP_POOL_SIZE"
    auth = (ROOT / "geo_app" / "auth.py").read_text("utf-8")
    assert '"SECURE_COOKIES"' in auth


def test_the_commands_and_options_it_names_exist():
    from geo_app.cli import cli

    for name in set(re.findall(r"geo-app (\w+)", DOC)):
        assert name in cli.commands, name
    serve = cli.commands["serve"]
    options = {o for p in serve.params for o in p.opts}
    for opt in set(re.findall(r"geo-app serve[^\n`]*", DOC)):
        for flag in re.findall(r"--[\w-]+", opt):
            assert flag in options, flag
