"""Vigie's build backend: setuptools', plus the web assets a wheel must carry.

``pip install .`` / ``pip wheel .`` call this module (``[build-system] build-backend`` with
``backend-path`` in pyproject.toml). Before setuptools builds a wheel (or an sdist, which then
carries the copies so that a wheel builds from it without npm; that path is not tested) it

1. runs ``npm ci`` when ``node_modules/`` is missing or older than ``package-lock.json`` (a clear
   error if npm is not installed, unless a complete copy is already in place, as in an sdist);
2. copies the files the service serves under ``/vendor/`` — ``geo_app.vendor_files.SHIPPED``
   and each package's licence — from ``node_modules/`` into ``geo_app/static/vendor/`` (git
   ignores that folder: third-party files are never committed; it is removed again after the
   build while ``node_modules/`` exists), which ``geo_app.assets.vendor_dir`` uses when there
   is no ``node_modules/`` beside the package, as in an installed wheel;
3. compiles the translations (``geo_app/translations/*/LC_MESSAGES/messages.po`` into ``.mo``)
   with Babel, failing on a catalogue that does not parse.

Editable installs (``pip install -e .``, what ``make install`` does) are left to setuptools:
they serve ``node_modules/`` from the repository directly.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403 - the hooks not overridden below

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "geo_app" / "static" / "vendor"
NODE_MODULES = ROOT / "node_modules"
_LICENCE_PREFIXES = ("license", "licence", "mit-licence", "mit-license")


class AssetsError(RuntimeError):
    """The web assets cannot be gathered; the message says what to install or run."""


def _manifest() -> tuple[tuple[str, ...], tuple[str, ...]]:
    ns = runpy.run_path(str(ROOT / "geo_app" / "vendor_files.py"))
    return tuple(ns["SHIPPED"]), tuple(ns["SKIPPED_SUFFIXES"])


def _complete(folder: Path, shipped) -> bool:
    return all((folder / p).exists() for p in shipped)


def _npm_ci() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(
            "Building Vigie needs its web assets (Leaflet, Bootstrap…) from npm, and npm is not "
            "installed: install Node.js and npm (Debian: apt-get install npm), or run `npm ci` "
            "in the repository on a machine that has it, then build again."
        )
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise AssetsError(f"`npm ci` failed in {ROOT} (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def copy_vendor_files() -> Path:
    """Copy the served npm files into ``geo_app/static/vendor/`` (running ``npm ci`` first if
    needed); returns that folder. ``AssetsError`` saying what to do if it cannot."""
    shipped, skipped = _manifest()
    lock = ROOT / "package-lock.json"
    stamp = NODE_MODULES / ".package-lock.json"
    if lock.exists() and (not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime):
        if not NODE_MODULES.exists() and _complete(VENDOR, shipped):
            return VENDOR  # an sdist (or an earlier build) brought them
        _npm_ci()
    elif not NODE_MODULES.exists():
        if _complete(VENDOR, shipped):
            return VENDOR
        raise AssetsError(f"No node_modules/ and no package-lock.json in {ROOT}: the web assets cannot be gathered.")
    missing = [p for p in shipped if not (NODE_MODULES / p).exists()]
    if missing:
        raise AssetsError(f"node_modules/ lacks {', '.join(missing)}: run `npm ci` (or `make assets`) and build again.")
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    packages = set()
    for rel in shipped:
        src, dst = NODE_MODULES / rel, VENDOR / rel
        parts = Path(rel).parts
        packages.add(Path(*parts[:2]) if parts[0].startswith("@") else Path(parts[0]))
        if src.is_dir():
            shutil.copytree(src, dst, ignore=lambda _d, names: [n for n in names if n.endswith(skipped)])
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    for package in packages:
        for f in (NODE_MODULES / package).iterdir():
            if f.is_file() and f.name.lower().startswith(_LICENCE_PREFIXES):
                shutil.copy2(f, VENDOR / package / f.name)
    return VENDOR


def compile_translations() -> list[Path]:
    """Compile every ``messages.po`` into ``messages.mo`` beside it; returns the ``.mo`` files.
    ``AssetsError`` naming the catalogue if one does not parse."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    out = []
    for po in sorted((ROOT / "geo_app" / "translations").glob("*/LC_MESSAGES/messages.po")):
        try:
            with po.open("rb") as f:
                catalog = read_po(f, abort_invalid=True)
        except Exception as e:  # noqa: BLE001 - Babel raises several kinds
            raise AssetsError(f"{po} does not parse: {e}") from None
        mo = po.with_suffix(".mo")
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        os.replace(tmp, mo)  # a running app or test never reads a half-written catalogue
        out.append(mo)
    return out


def _prepare() -> None:
    copy_vendor_files()
    compile_translations()


def _with_assets(build):
    """Run ``build`` with the assets in place; then remove the copies when ``node_modules/`` can
    give them again (a source checkout keeps no third-party files outside ``node_modules/``;
    an sdist, which has no ``node_modules/``, keeps its copies)."""
    _prepare()
    try:
        return build()
    finally:
        if NODE_MODULES.exists():
            shutil.rmtree(VENDOR, ignore_errors=True)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _with_assets(lambda: _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory, config_settings=None):
    return _with_assets(lambda: _setuptools.build_sdist(sdist_directory, config_settings))
