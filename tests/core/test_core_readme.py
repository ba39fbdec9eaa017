"""The README documents every registered kind, format, setting, command and API route (STYLE 11)."""

from pathlib import Path

import pytest

from geo_app.config import SETTING_ENV

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")


def test_every_layer_kind_is_documented():
    from layers.registry import LAYERS

    for kind in LAYERS:
        assert f"| `{kind}` |" in README, f"layer kind {kind} missing from the README's table"


def test_every_export_format_is_documented():
    from layers.io import EXPORT_FORMATS

    for name in EXPORT_FORMATS:
        assert f"| `{name}` |" in README, f"format {name} missing from the README's format table"


@pytest.mark.parametrize("setting, env", sorted(SETTING_ENV.items()))
def test_every_setting_and_its_variable_is_documented(setting, env):
    assert f"`{setting}`" in README and f"`{env}`" in README


def test_every_cli_command_is_documented():
    import click

    from geo_app.cli import cli

    for name, cmd in cli.commands.items():
        assert f"geo-app {name}" in README, f"command geo-app {name} missing from the README"
        if isinstance(cmd, click.Group):
            for sub in cmd.commands:
                assert f"geo-app {name} {sub}" in README or f"{name} {sub}" in README, (
                    f"geo-app {name} {sub} missing from the README"
                )


def test_every_api_route_is_documented(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_APP_HOME", str(tmp_path))
    from geo_app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "readme"})
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api"):
            documented = rule.rule.replace("<kind>", "<kind>").replace("<key>", "<key>")
            assert f"`GET {documented}" in README, f"API route {rule.rule} missing from the README"
