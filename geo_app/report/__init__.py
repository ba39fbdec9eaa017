"""The monthly monitoring report (*cellule de veille*): figures, maps, HTML and PDF.

- ``build_report(home, month=, zac=, lang=, audience=)`` -> the report as a dict (``build.py``);
- ``render_html(report)`` / ``write_report(report, out)`` / ``html_to_pdf(html)`` (``render.py``);
- charts and static maps with matplotlib (``charts.py``, ``maps.py``), sentences in ``labels.py`` (words in the one catalogue, ``geo_app.i18n``).

The statistics come from ``layers.report`` and the other ``layers`` modules; nothing here
computes a statistic of its own.
"""

from geo_app.report.build import AUDIENCES, build_report, check_zac, to_json_summary
from geo_app.report.labels import LANGS
from geo_app.report.render import html_to_pdf, offline_url_fetcher, render_html, write_report

__all__ = [
           "AUDIENCES",
           "LANGS",
           "build_report",
           "check_zac",
           "html_to_pdf",
           "offline_url_fetcher",
           "render_html",
           "to_json_summary",
           "write_report",
]
