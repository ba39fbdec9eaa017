"""``geo-app user …`` and the demo accounts."""

from __future__ import annotations

import sqlite3

import pytest

from geo_app.cli import main
from geo_app.db import AppDB


def run(home, *args):
    return main(["--home", str(home.path), *args])


def test_add_list_disable_password(small_home, capsys):
    h = small_home
    assert run(h, "user", "add", "j.martin", "--role", "coordinator", "--password", "s3cret-pass") == 0
    assert run(h, "user", "add", "z.gest", "--role", "zac_manager", "--zac", "Alpha",
               "--password", "s3cret-pass") == 0
    capsys.readouterr()
    assert run(h, "user", "list") == 0
    out = capsys.readouterr().out
    assert "j.martin" in out and "coordinator" in out and "Alpha" in out
    # stored hashed with argon2id, never in clear
    con = sqlite3.connect(h.app_db)
    hashes = [r[0] for r in con.execute("SELECT password_hash FROM users")]
    con.close()
    assert all(x.startswith("$argon2id$") for x in hashes)
    assert all("s3cret-pass" not in x for x in hashes)
    assert run(h, "user", "disable", "j.martin") == 0
    assert not AppDB(h.app_db).get_user("j.martin").active
    old = AppDB(h.app_db).password_hash("z.gest")
    assert run(h, "user", "password", "z.gest", "--password", "another-pass") == 0
    assert AppDB(h.app_db).password_hash("z.gest") != old
    actions = [a["action"] for a in AppDB(h.app_db).audit_log()]
    assert actions.count("user_add") == 2 and actions.count("user_change") == 2


def test_password_asked_twice(small_home, monkeypatch):
    from click.testing import CliRunner

    from geo_app.cli import cli

    r = CliRunner().invoke(cli, ["--home", str(small_home.path), "user", "add", "p", "--role", "police"],
                           input="long-password\nlong-password\n")
    assert r.exit_code == 0, r.output
    assert r.output.count("assword") >= 2
    r = CliRunner().invoke(cli, ["--home", str(small_home.path), "user", "add", "q", "--role", "police"],
                           input="long-password\nother-password\n")
    assert r.exit_code != 0  # mismatch, then end of input
    assert AppDB(small_home.app_db).find_user("q") is None


@pytest.mark.parametrize("args, code, message", [
    (["user", "add", "x", "--role", "sheriff", "--password", "long-password"], 2, "sheriff"),
    (["user", "add", "x", "--role", "police", "--password", "short"], 2, "at least 8"),
    (["user", "add", "x", "--role", "zac_manager", "--password", "long-password"], 2, "--zac"),
    (["user", "add", "x", "--role", "zac_manager", "--zac", "Gamma", "--password", "long-password"], 2, "Gamma"),
    (["user", "add", "x", "--role", "planner", "--zac", "Alpha", "--password", "long-password"], 2, "only for"),
    (["user", "add", "two words", "--role", "police", "--password", "long-password"], 2, "no spaces"),
    (["user", "disable", "nobody"], 1, "nobody"),
    (["user", "password", "nobody", "--password", "long-password"], 1, "nobody"),
])
def test_bad_input(small_home, capsys, args, code, message):
    assert run(small_home, *args) == code
    captured = capsys.readouterr()
    assert message in captured.err + captured.out
    assert AppDB(small_home.app_db).find_user("x") is None


def test_duplicate_name_is_refused(small_home, capsys):
    assert run(small_home, "user", "add", "a", "--role", "admin", "--password", "long-password") == 0
    assert run(small_home, "user", "add", "a", "--role", "police", "--password", "long-password") == 2
    assert "already exists" in capsys.readouterr().err
    assert AppDB(small_home.app_db).get_user("a").role == "admin"


def test_zac_manager_needs_a_store_with_zacs(home, capsys):
    assert run(home, "user", "add", "z", "--role", "zac_manager", "--zac", "Alpha",
               "--password", "long-password") == 1
    assert "import the ZAC layer" in capsys.readouterr().err


def test_demo_accounts(small_home):
    from geo_app.accounts import create_demo_accounts
    from geo_app.auth import verify_password

    creds = create_demo_accounts(small_home, "demo-password")
    assert creds == {r: "demo-password" for r in ("coordinator", "police", "zac_manager", "planner", "admin")}
    db = AppDB(small_home.app_db)
    zm = db.get_user("zac_manager")
    assert zm.role == "zac_manager" and zm.zacs == ("Alpha",)  # Alpha holds 12 incidents, Beta 6
    assert verify_password(db.password_hash("police"), "demo-password")
    again = create_demo_accounts(small_home)  # random passwords, accounts reset
    assert len(set(again.values())) == 5 and all(len(p) >= 8 for p in again.values())
    assert verify_password(db.password_hash("police"), again["police"])
    assert not verify_password(db.password_hash("police"), "demo-password")
    assert len(db.users()) == 5


@pytest.mark.slow
def test_demo_command_prints_working_credentials(tmp_path):
    """``geo-app demo`` (what ``make demo`` runs) prints one random password per role, and
    each works."""
    import re

    from click.testing import CliRunner

    from geo_app.auth import verify_password
    from geo_app.cli import cli

    home = tmp_path / "demo"
    r = CliRunner().invoke(cli, ["--home", str(home), "demo"])
    assert r.exit_code == 0, r.output
    creds = dict(re.findall(r"^\s+(coordinator|police|zac_manager|planner|admin)\s+(\S+)\s*$", r.output, re.MULTILINE))
    assert set(creds) == {"coordinator", "police", "zac_manager", "planner", "admin"}
    db = AppDB(home / "app.db")
    for name, pw in creds.items():
        assert verify_password(db.password_hash(name), pw), name
    assert db.get_user("zac_manager").zacs  # a real ZAC of the demo city


def test_cli_export_and_rollback_are_audited(small_home, tmp_path):
    out = tmp_path / "zac.geojson"
    assert run(small_home, "export", "zac", "--format", "geojson", "--out", str(out)) == 0
    assert run(small_home, "rollback", "test-zac") == 0
    log = AppDB(small_home.app_db).audit_log()
    export = next(a for a in log if a["action"] == "export")
    assert export["user"] == "cli" and export["target"] == "zac" and export["detail"]["features"] == 2
    assert any(a["action"] == "rollback" and a["target"] == "test-zac" for a in log)


@pytest.mark.parametrize("name", ["../admin", "a/b", "<b>x</b>", "_hidden", "x" * 65, ""])
def test_user_names_are_url_safe(small_home, capsys, name):
    assert run(small_home, "user", "add", name, "--role", "police", "--password", "long-password") == 2
    assert "letters, digits" in capsys.readouterr().err
    assert AppDB(small_home.app_db).users() == []
