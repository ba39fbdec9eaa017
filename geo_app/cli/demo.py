"""``geo-app demo``: build the demo city (real Montpellier layers, simulated incidents)."""

from __future__ import annotations

import click

from geo_app.cli import pass_home
from layers.simulate import DEFAULT_SEED, PLANTED

__all__ = ["COMMANDS", "demo"]


@click.command()
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed of the simulated incidents (same seed, same incidents).")
@click.option("--password", default=None,
              help="Password of the demo accounts (one per role); random ones if omitted.")
@pass_home
def demo(home, seed: int, password: str | None) -> None:
    """Build the demo city in GEO_APP_HOME (replacing what is there).

    Real open data of the Ville de Montpellier (ZAC, quartiers, schools, shops from
    OpenStreetMap, street lights, CCTV cameras; see data/README.md) and 50,000 SIMULATED
    incidents over two years.
    """
    from geo_app.demo import build_demo

    click.echo(f"Building the demo city in {home.path} …")
    summary = build_demo(home.path, seed=seed, password=password,
                         progress=lambda line: click.echo(f"  {line}"))
    click.echo("Layers (features):")
    for kind, count in summary["counts"].items():
        click.echo(f"  {kind:<10} {count:>7,}")
    click.echo(
        f"The {summary['simulated']:,} incidents are SIMULATED (layers/simulate.py, seed "
        f"{summary['seed']}); they say nothing about real delinquency in Montpellier."
    )
    click.echo("Planted patterns: " + ", ".join(
        f"{name} ({p['lon']:.4f}, {p['lat']:.4f})" for name, p in PLANTED.items()))
    if summary["accounts"]:
        shown = "the password given" if password else "these passwords"
        click.echo(f"Demo accounts ({shown}):")
        for name, pw in summary["accounts"].items():
            click.echo(f"  {name:<12} {'(as given)' if password else pw}")
    click.echo(f"Done in {summary['seconds']} s.")


COMMANDS = [demo]
