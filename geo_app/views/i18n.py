"""Languages: French by default, English selectable with ``?lang=en`` (kept in the session).

Flask-Babel reads the compiled catalogues of ``geo_app/translations`` (``make assets`` compiles
the ``.po`` files into ``.mo`` with pybabel). Templates turn codes into words with the ``label``
filter (``{{ status|label('status') }}``, ``geo_app.i18n.label``) and name layer kinds with
``layer_label``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request, session
from flask_babel import Babel

from geo_app import i18n

__all__ = ["bp", "current_lang", "init_app", "select_locale"]

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """``?lang=`` (remembered in the session), else the session's choice, else the default."""
    langs = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in langs:
        session["lang"] = asked
        return asked
    if session.get("lang") in langs:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_lang() -> str:
    return select_locale()


@bp.app_context_processor
def _inject_lang():
    return {"lang": current_lang(), "languages": current_app.config["LANGUAGES"],
            "layer_label": i18n.layer_label}


@bp.app_template_filter("label")
def _label(code, vocabulary: str) -> str:
    """``{{ code|label('status') }}``: the word of a code in the request's language."""
    return i18n.label(vocabulary, code)


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")
