"""``geo-app user …``: accounts of the web service (add, list, disable, enable, password)."""

from __future__ import annotations

import click

from geo_app import access
from geo_app.accounts import add_user, list_users, set_active, set_password
from geo_app.cli import pass_home

__all__ = ["COMMANDS", "user"]


def _ask_password(password: str | None) -> str:
    if password is not None:
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


@click.group("user")
def user() -> None:
    """Accounts of the web service (roles: coordinator, police, zac_manager, planner, admin)."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(access.ROLES), help="The account's role.")
@click.option("--zac", "zacs", multiple=True, metavar="NAME",
              help="A ZAC of the store this zac_manager looks after (repeat for several).")
@click.option("--password", default=None, help="The password (asked twice when omitted).")
@pass_home
def add(home, name, role, zacs, password):
    """Create the account NAME."""
    rec = add_user(home, name, role=role, password=_ask_password(password), zacs=zacs)
    zac_text = f" (ZAC: {', '.join(rec.zacs)})" if rec.zacs else ""
    click.echo(f"User '{rec.name}' created with role {rec.role}{zac_text}.")


@user.command("list")
@pass_home
def list_(home):
    """List the accounts."""
    users = list_users(home)
    if not users:
        click.echo("No account yet: create one with 'geo-app user add NAME --role admin'.")
        return
    click.echo(f"{'name':<20} {'role':<12} {'active':<7} {'last login':<26} zac")
    for u in users:
        click.echo(f"{u.name:<20} {u.role:<12} {'yes' if u.active else 'no':<7} "
                   f"{u.last_login or '-':<26} {', '.join(u.zacs)}")


@user.command("disable")
@click.argument("name")
@pass_home
def disable(home, name):
    """Disable the account NAME (it can no longer log in; its history is kept)."""
    set_active(home, name, False)
    click.echo(f"User '{name}' disabled.")


@user.command("enable")
@click.argument("name")
@pass_home
def enable(home, name):
    """Enable the account NAME again."""
    set_active(home, name, True)
    click.echo(f"User '{name}' enabled.")


@user.command("password")
@click.argument("name")
@click.option("--password", default=None, help="The new password (asked twice when omitted).")
@pass_home
def password(home, name, password):
    """Set a new password for NAME."""
    from geo_app.db import AppDB

    AppDB.of(home).get_user(name)  # NotFound before asking anything
    set_password(home, name, _ask_password(password))
    click.echo(f"Password of '{name}' changed.")


COMMANDS = [user]
