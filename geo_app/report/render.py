"""HTML and PDF output of the monthly report.

The HTML is one self-contained file (CSS inline, images as ``data:`` URIs) with a print layout
(A4, page breaks before each section and each ZAC page, page numbers). The PDF is made by
WeasyPrint with a URL fetcher that refuses anything but ``data:`` and local ``file:`` URLs: a
police network has no Internet access, and a report must never leak a request.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from geo_app.i18n import label
from geo_app.style import PROPOSAL
from layers.errors import ParameterError

__all__ = ["OUTPUT_SUFFIXES", "html_to_pdf", "offline_url_fetcher", "render_html", "write_report"]

OUTPUT_SUFFIXES = (".html", ".htm", ".pdf")


class OfflineFetchError(ValueError):
    """A resource with a non-local URL was requested while making a PDF."""


def offline_url_fetcher():
    """A WeasyPrint URL fetcher allowing only ``data:`` and ``file:`` URLs.

    Any other scheme (``http``, ``https``, ``ftp``…) raises ``OfflineFetchError`` before any
    connection is attempted; WeasyPrint then leaves the resource out (and logs it), so the PDF
    is produced without network. The refused URLs are kept in the fetcher's ``refused`` list.
    """
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint < 68: a fetcher is a plain function
        from weasyprint import default_url_fetcher

        def fetcher(url, *args, **kwargs):
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme not in ("data", "file"):
                fetcher.refused.append(url)
                raise OfflineFetchError(f"refused to fetch {url!r}: the report is produced without network")
            return default_url_fetcher(url, *args, **kwargs)

        fetcher.refused = []
        return fetcher

    class OfflineURLFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme not in ("data", "file"):
                self.refused.append(url)
                raise OfflineFetchError(f"refused to fetch {url!r}: the report is produced without network")
            return super().fetch(url, headers)

    return OfflineURLFetcher()


def _env() -> Environment:
    env = Environment(loader=PackageLoader("geo_app.report", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    return env


def render_html(report: dict, *, web: bool = False, zac_choices=None, allow_whole: bool = True) -> str:
    """The report as one HTML document.

    ``web=True`` adds a bar (hidden in print) with a form to choose the month, the ZAC among
    ``zac_choices`` (plus the whole territory when ``allow_whole``) and the language, and a link
    to the PDF.
    """
    lang = report["meta"]["lang"]
    return _env().get_template("report.html").render(r=report, L=report["L"], m=report["meta"],
                                                     label=lambda vocabulary, code: label(vocabulary, code, lang),
                                                     proposal_colours=PROPOSAL,
                                                     t=report["tables"], img=report["images"],
                                                     methods=report["methods"], web=web,
                                                     zac_choices=list(zac_choices or []),
                                                     allow_whole=allow_whole)


def html_to_pdf(html: str, *, base_url: str | None = None, fetcher=None) -> bytes:
    """PDF bytes of ``html`` (WeasyPrint with :func:`offline_url_fetcher`, or ``fetcher``)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = fetcher if fetcher is not None else offline_url_fetcher()
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()


def write_report(report: dict, out: str | Path) -> Path:
    """Write ``report`` to ``out`` as HTML or PDF (chosen by the suffix)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ParameterError(f"--out must end with .html or .pdf, got '{out.name}'.", "--out")
    if out.parent and not out.parent.exists():
        raise ParameterError(f"--out: the folder {out.parent} does not exist.", "--out")
    html = render_html(report)
    if suffix == ".pdf":
        out.write_bytes(html_to_pdf(html, base_url=str(out.parent.resolve())))
    else:
        out.write_text(html, encoding="utf-8")
    return out
