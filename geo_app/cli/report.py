"""``geo-app report``: the monthly monitoring report as HTML or PDF."""

from __future__ import annotations

import time

import click

from geo_app.cli import pass_home
from geo_app.cli.options import out_path
from layers.report import parse_month

__all__ = ["COMMANDS", "report"]


@click.command("report")
@click.option("--month", "month", required=True, help="The month, YYYY-MM (e.g. 2025-10).")
@click.option("--zac", default=None, help="Only this ZAC (its name as stored): figures and one ZAC page.")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--audience", type=click.Choice(["partners", "police"]), default="partners", show_default=True,
              help="partners: aggregated, no point, counts under k hidden; police: points and every category.")
@click.option("--sensitive/--no-sensitive", default=True, show_default=True,
              help="partners: keep the sensitive categories as suppressed aggregates, or leave them out "
                   "(for ZAC managers and planners).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output file: .html or .pdf.")
@pass_home
def report(home, month, zac, lang, audience, sensitive, out):
    """Write the monthly report (cellule de veille) of MONTH to --out (HTML or PDF).

    Exit 2 for a bad option (month not YYYY-MM, unknown ZAC, output not .html/.pdf); exit 1 when
    the store holds no incident in the month.
    """
    from geo_app.report import build_report, check_zac, write_report

    p = parse_month(month, param="--month")
    path = out_path(out, (".html", ".htm", ".pdf"))
    check_zac(home, zac, param="--zac")
    t0 = time.perf_counter()
    rep = build_report(home, month=p, zac=zac, lang=lang, audience=audience, include_sensitive=sensitive)
    t1 = time.perf_counter()
    write_report(rep, path)
    t2 = time.perf_counter()
    meta = rep["meta"]
    ch = rep["methods"]["choices"]
    click.echo(f"report {meta['month']} ({audience}, {lang}{', ' + zac if zac else ''}): "
               f"{meta['n_month']:,} incidents, {len(rep['tables']['hotspots'])} hotspots, "
               f"{len(rep['tables']['zacs'])} ZAC pages")
    click.echo(f"automatic choices: Gi* cell {ch['cell_size']} m"
               f"{' (automatic)' if ch['cell_size_auto'] else ''}, neighbourhood {ch['neighbourhood']}, "
               f"{ch['correction']}; emerging cube {ch['emerging_periods']} months x "
               f"{ch['emerging_cell_size']} m cells; k = {ch['k'] or '-'}")
    click.echo(f"wrote {path} (built in {t1 - t0:.1f} s, written in {t2 - t1:.1f} s)")


COMMANDS = [report]
