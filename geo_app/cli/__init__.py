"""The ``geo-app`` command line.

One click group; each feature adds its commands in its own module of this package (a module
exposes ``COMMANDS``, a list of click commands; it is found automatically). Exit codes:
0 done, 1 input rejected (bad file, bad data), 2 usage (bad option or argument).
"""

from __future__ import annotations

import functools
import pkgutil
import sys
from importlib import import_module

import click

from geo_app.config import Home
from layers.errors import InputError, NotFound, ParameterError, VigieError

__all__ = ["cli", "main", "pass_home"]

#: modules under geo_app.cli that contribute commands (every module of the package)
COMMAND_MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__)))

_pass_home_object = click.make_pass_decorator(Home)

#: commands that run without an existing deployment (they create it)
_NO_DEPLOYMENT_NEEDED = {"init", "demo"}


def pass_home(f):
    """Pass the deployment (``Home``) as the command's first argument. Commands other than
    ``init`` and ``demo`` refuse a folder without config.toml (a mistyped --home or
    GEO_APP_HOME must not silently start a new, empty deployment)."""

    @functools.wraps(f)
    def checked(home, *args, **kwargs):
        name = click.get_current_context().command.name
        if name not in _NO_DEPLOYMENT_NEEDED and not home.config_path.exists():
            raise click.UsageError(
                f"no deployment in {home.path} (no config.toml): check --home / GEO_APP_HOME, or "
                f"create one with: geo-app --home {home.path} init --crs EPSG --timezone ZONE"
            )
        return f(home, *args, **kwargs)

    return _pass_home_object(checked)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    envvar="GEO_APP_HOME",
    default="instance",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Deployment folder holding config.toml, the store and the app database.",
)
@click.pass_context
def cli(ctx: click.Context, home: str) -> None:
    """Vigie: incidents, hotspots and situational-prevention proposals for a CLSPD."""
    ctx.obj = Home.from_env(home)


for _name in COMMAND_MODULES:
    for _cmd in import_module(f"geo_app.cli.{_name}").COMMANDS:
        cli.add_command(_cmd)


def _echo_problems(err: InputError) -> None:
    for p in err.problems[:50]:
        click.echo(f"  - {p}", err=True)
    if len(err.problems) > 50:
        click.echo(f"  … and {len(err.problems) - 50} more problems", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``geo-app`` console script; returns the exit code."""
    try:
        cli.main(args=argv, prog_name="geo-app", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.UsageError as e:
        e.show()
        return 2
    except click.exceptions.Exit as e:
        return e.exit_code
    except ParameterError as e:
        click.echo(f"Error: {e.message}", err=True)
        return 2
    except InputError as e:
        click.echo(f"Rejected: {e.message}", err=True)
        _echo_problems(e)
        return 1
    except NotFound as e:
        click.echo(f"Error: {e.message}", err=True)
        return 1
    except VigieError as e:
        click.echo(f"Error: {e.message}", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
