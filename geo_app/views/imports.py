"""The import page (admin role only, permission ``import``): upload a file as one batch, list
the batches, roll one back.

- ``GET /admin/imports``: the batches, newest first (id, kind, file, sha256 prefix, user, date,
  rows read / stored / rejected, simulated), each with a rollback button, and the upload form;
- ``POST /admin/imports``: form fields ``kind`` (a kind of ``layers.registry.LAYERS``),
  ``file`` (the upload), ``crs``, ``layer``, ``labels`` (empty or a shipped table of
  ``LABEL_MAPPINGS``), ``date_format``, ``mapping`` (``FIELD=COLUMN`` lines), ``constants``
  (``FIELD=VALUE`` lines given to every row, e.g. ``level=quartier``), ``geocode`` (a column of
  addresses: rows without a point are placed on the address register), ``skip_invalid``,
  ``dry_run`` and ``drop_duplicates`` (checkboxes). The upload is saved in a temporary folder of the deployment
  under its sanitised name and passed to ``geo_app.imports.import_file`` (THE import pipeline,
  which validates, stores one batch and writes the audit record), run in a child process (see
  below). The page shows the report:
  counts, column mapping, the first ``REPORT_ROWS`` problems with row and field, unmapped
  labels. A rejected file or a bad field answers 400 with the report or the message naming the
  field, and the store is unchanged;
- ``POST /admin/imports/<batch_id>/rollback``: remove a batch (404 for an unknown id).

Uploads larger than ``MAX_CONTENT_LENGTH`` (default ``MAX_UPLOAD_BYTES``, 200 MB; ``[web]
max_content_length`` in config.toml) are refused with 413 and a message saying so.

The import runs in a child process (``geo_app.import_worker``) whose memory is capped at
``[web] import_memory_mb`` more than its libraries; an import needing more answers 413 naming
``file`` and the limit, the store unchanged. The upload's folder (``<home>/uploads/import-*``) is
removed whatever happens, the child killed included; one left by a killed server is removed by a
later upload once it is older than ``STALE_UPLOAD_SECONDS`` and no import holds its lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from geo_app.auth import audit, current_account, get_workspace
from geo_app.import_worker import ImportMemoryError, run_import
from layers.errors import InputError, ParameterError
from layers.registry import LABEL_MAPPINGS, LAYERS

__all__ = ["MAX_UPLOAD_BYTES", "REPORT_ROWS", "STALE_UPLOAD_SECONDS", "bp", "parse_mapping"]

bp = Blueprint("imports", __name__, url_prefix="/admin/imports")

_MB = 1024 * 1024
MAX_UPLOAD_BYTES = 200 * _MB
REPORT_ROWS = 50
#: an upload folder older than this, whose import holds no lock, was left by a killed server
STALE_UPLOAD_SECONDS = 3600
_LOCK = ".lock"
_TRUE, _FALSE = ("1", "on", "true", "yes", "oui"), ("", "0", "off", "false", "no", "non")

#: the CLI options named in the pipeline's messages -> the fields of this form
_WEB_WORDS = {
    "(--skip-invalid)": "(« ignorer les lignes invalides »)",
    "pass --drop-duplicates": "check « supprimer les lignes identiques »",
    "(--drop-duplicates)": "(« supprimer les lignes identiques »)",
    "--map FIELD=COLUMN": "mapping FIELD=COLUMN",
    "--map": "mapping",
    "--set": "constants",
    "--crs": "crs",
    "--date-format": "date_format",
    "--labels": "labels",
    "--layer": "layer",
    "--geocode": "geocode",
}


@bp.record_once
def _upload_limit(state) -> None:
    """A request-size limit for uploads unless the deployment set one (Flask's default is none)."""
    if state.app.config.get("MAX_CONTENT_LENGTH") is None:
        state.app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES


def _size(n: int) -> str:
    return f"{n / _MB:.0f} MB" if n >= _MB else f"{n} bytes"


@bp.errorhandler(413)
def _too_large(_err):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or MAX_UPLOAD_BYTES
    if request.content_length is not None and request.content_length > limit:
        body = {"error": "RequestEntityTooLarge", "param": "file",
                "message": f"the file is larger than the upload limit of {_size(limit)}: split it, or import it "
                           "with the command line (geo-app import), or raise [web] max_content_length in "
                           "config.toml."}
    else:  # werkzeug's limit on the text fields (MAX_FORM_MEMORY_SIZE)
        fields = current_app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000
        body = {"error": "RequestEntityTooLarge", "param": "mapping",
                "message": f"a text field of the form (mapping, constants…) is longer than {_size(fields)}: "
                           "give only the lines needed."}
    from geo_app import wants_json

    if wants_json():
        return jsonify(body), 413
    return render_template("error.html", status=413, error=body), 413


# ------------------------------------------------------------------------------------------
# Form parsing (each helper raises ParameterError naming its field)


#: the pipeline's parameter names -> the fields of this form
_FORM_FIELDS = {"map": "mapping", "set": "constants"}


def parse_mapping(text: str, *, param: str = "mapping", example: str = "occurred_from=DATE_FAITS") -> dict[str, str]:
    """``FIELD=COLUMN`` (or ``FIELD=VALUE``) lines, blank lines ignored -> ``{field: text}``;
    ``ParameterError(param)`` naming the bad line."""
    pairs: dict[str, str] = {}
    for i, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        field, sep, value = line.partition("=")
        if not sep or not field.strip() or not value.strip():
            raise ParameterError(
                f"{param}, line {i}: write FIELD={'COLUMN' if param == 'mapping' else 'VALUE'} (e.g. {example}), "
                f"got '{line.strip()[:80]}'.", param)
        pairs[field.strip()] = value.strip()
    return pairs


def _kind(value: str | None) -> str:
    kind = (value or "").strip()
    if kind not in LAYERS:
        raise ParameterError(f"kind: choose a layer kind among {', '.join(LAYERS)}, got '{kind[:40]}'.", "kind")
    return kind


def _labels(value: str | None) -> str | None:
    # only the shipped tables: a path typed in a web form must never be read on the server
    name = (value or "").strip()
    if not name or name == "none":
        return None
    if name not in LABEL_MAPPINGS:
        raise ParameterError(f"labels: choose none or one of {', '.join(LABEL_MAPPINGS)}, got '{name[:40]}'.",
                             "labels")
    return name


def _date_format(value: str | None) -> str | None:
    fmt = (value or "").strip()
    if not fmt:
        return None
    try:
        sample = dt.datetime(2024, 5, 31, 14, 30).strftime(fmt)
        dt.datetime.strptime(sample, fmt)
    except ValueError as e:
        raise ParameterError(f"date_format: '{fmt[:40]}' is not a valid strftime format ({e}); "
                             "e.g. %d/%m/%Y %H:%M.", "date_format") from None
    return fmt


def _flag(name: str) -> bool:
    v = (request.form.get(name) or "").strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ParameterError(f"{name} must be checked or not (1 or 0), got '{v[:20]}'.", name)


def _text(name: str) -> str | None:
    v = (request.form.get(name) or "").strip()
    if len(v) > 200:
        raise ParameterError(f"{name} is too long (200 characters at most).", name)
    return v or None


def _options() -> dict:
    """The import options of the form (everything but the file)."""
    return {
        "kind": _kind(request.form.get("kind")),
        "crs": _text("crs"),
        "layer": _text("layer"),
        "labels": _labels(request.form.get("labels")),
        "date_format": _date_format(request.form.get("date_format")),
        "mapping": parse_mapping(request.form.get("mapping", "")),
        "constants": parse_mapping(request.form.get("constants", ""), param="constants",
                                   example="level=quartier") or None,
        "skip_invalid": _flag("skip_invalid"),
        "dry_run": _flag("dry_run"),
        "drop_duplicates": _flag("drop_duplicates"),
        "geocode": _text("geocode"),
    }


def _upload():
    """``(FileStorage, safe file name)`` of the form's ``file`` field."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ParameterError("file: choose a file to import (GeoJSON, GeoPackage, zipped Shapefile, CSV, KML).",
                             "file")
    name = secure_filename(upload.filename)
    if not name or "." not in name.strip("."):
        raise ParameterError(f"file: the name '{upload.filename[:80]}' has no usable name and extension "
                             "(e.g. incidents.csv); rename the file.", "file")
    return upload, name


def _web_words(message: str) -> str:
    """A pipeline message in the words of this form (its field names rather than CLI options)."""
    for cli, web in _WEB_WORDS.items():
        message = message.replace(cli, web)
    return message


def _web_error(e: ParameterError) -> dict:
    return {"message": _web_words(e.message), "param": _FORM_FIELDS.get(e.param, e.param)}


def _web_problems(problems) -> list[dict]:
    return [{"row": p["row"], "field": p["field"], "message": _web_words(p["message"]), "severity": p["severity"]}
            for p in problems]


# ------------------------------------------------------------------------------------------
# Upload folders


def _remove_stale_uploads(folder: Path) -> None:
    """Remove the ``import-*`` folders a killed server left (old enough and unlocked)."""
    now = time.time()
    for tmp in folder.glob("import-*"):
        try:
            if not tmp.is_dir() or tmp.is_symlink() or now - tmp.stat().st_mtime < STALE_UPLOAD_SECONDS:
                continue
            lock_path = tmp / _LOCK
            if lock_path.exists():
                with open(lock_path, "rb") as f:
                    try:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:  # an import still running
                        continue
            shutil.rmtree(tmp, ignore_errors=True)
        except OSError:  # removed meanwhile by another request
            continue


def _upload_folder(home_path) -> tuple[Path, int]:
    """A new ``uploads/import-*`` folder and the descriptor of its held lock (close it when done)."""
    folder = Path(home_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_uploads(folder)
    tmp = Path(tempfile.mkdtemp(prefix="import-", dir=folder))
    fd = os.open(tmp / _LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return tmp, fd


# ------------------------------------------------------------------------------------------
# Views


def _page(status: int = 200, **context):
    ws = get_workspace()
    batches = sorted(ws.home.store.batches(), key=lambda b: (b.created, b.id), reverse=True)
    context.setdefault("form", request.form if request.method == "POST" else {})
    return render_template("imports.html", batches=batches, kinds=list(LAYERS), label_tables=list(LABEL_MAPPINGS),
                           report_rows=REPORT_ROWS, max_mb=(current_app.config.get("MAX_CONTENT_LENGTH")
                                                            or MAX_UPLOAD_BYTES) / _MB, **context), status


@bp.get("")
def index():
    """The batches and the upload form."""
    return _page()


@bp.post("")
def upload():
    """Import the uploaded file (see the module docstring); 400 with the report when rejected."""
    ws = get_workspace()
    try:
        options = _options()
        upload, name = _upload()
    except ParameterError as e:
        return _page(400, error=_web_error(e))
    tmp, lock = _upload_folder(ws.home.path)
    try:
        path = tmp / name
        upload.save(path)
        outcome = run_import(ws.home.path, options.pop("kind"), path, work=tmp,
                             memory_mb=int(current_app.config.get("IMPORT_MEMORY_MB") or 0),
                             user=current_account().name, file_name=name, **options)
    except ImportMemoryError as e:
        return _page(413, error={"message": e.message, "param": "file", "limit_mb": e.limit_mb}, file_name=name)
    except ParameterError as e:
        return _page(400, error=_web_error(e))
    except InputError as e:
        problems = _web_problems({"row": p.row, "field": p.field, "message": p.message, "severity": p.severity}
                                 for p in e.problems)
        return _page(400, error={**_web_error(ParameterError(e.message)), "param": "file"}, problems=problems,
                     file_name=name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        os.close(lock)
    return _page(200, outcome=outcome, problems=_web_problems(outcome.report), file_name=name)


@bp.post("/<batch_id>/rollback")
def rollback(batch_id: str):
    """Remove every feature of a batch (``NotFound`` -> 404 for an unknown id)."""
    if len(batch_id) > 100:
        raise ParameterError("batch_id is too long: copy the id from the list of batches.", "batch_id")
    b = get_workspace().home.store.rollback(batch_id)
    audit("rollback", target=b.id, detail={"kind": b.kind, "file": b.file_name, "removed": b.n_stored})
    flash(_("Lot %(id)s annulé : %(n)s objet(s) « %(kind)s » retiré(s) (%(file)s).", id=b.id, n=b.n_stored,
            kind=b.kind, file=b.file_name), "success")
    return redirect(url_for("imports.index"))
