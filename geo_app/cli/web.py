"""``geo-app serve``: the web service on waitress (one process), or on gunicorn with
``--workers N`` (N processes, Linux and other POSIX systems).

Several processes share the store and the app database: each process reads the store's version
on every request (the GeoPackage file's inode and mtime, PostgreSQL's version row), so an import
through one process is seen by the others at their next request; accounts, sessions and login
throttling live in the app database. With several workers the app is built and warmed once in
the main process and then forked, so the workers start with the incident columns already in
memory, shared page by page with the main process until a new store version replaces them.
"""

from __future__ import annotations

import threading

import click

from geo_app.cli import pass_home
from layers.errors import ParameterError

__all__ = ["COMMANDS", "serve"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="TCP port.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per process.")
@click.option("--workers", default=1, show_default=True, type=int,
              help="Server processes: 1 runs waitress, more run gunicorn (POSIX only).")
@click.option("--no-warm", is_flag=True, help="Do not load the layers into memory before the first request.")
@pass_home
def serve(home, host: str, port: int, threads: int, workers: int, no_warm: bool) -> None:
    """Serve Vigie's pages and API on HOST:PORT with waitress (or gunicorn with --workers N)."""
    import waitress

    from geo_app import create_app

    if not 1 <= port <= 65535:
        raise ParameterError(f"--port must be between 1 and 65535, got {port}.", "port")
    if threads < 1:
        raise ParameterError(f"--threads must be at least 1, got {threads}.", "threads")
    if workers < 1:
        raise ParameterError(f"--workers must be at least 1, got {workers}.", "workers")
    app = create_app({"HOME": str(home.path)})
    _check_assets(app)
    if workers > 1:
        _serve_gunicorn(app, host=host, port=port, threads=threads, workers=workers, warm=not no_warm)
        return
    if not no_warm:
        def warm():
            with app.app_context():
                app.extensions["vigie"].warm()
        threading.Thread(target=warm, daemon=True).start()
    try:  # bind first: the address printed is one that is really served
        server = waitress.create_server(app, host=host, port=port, threads=threads, ident="Vigie")
    except OSError as e:
        raise ParameterError(f"cannot listen on {host}:{port} ({e.strerror or e}); choose another --port "
                             "or --host.", "port") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Vigie on http://{shown}:{port}/ (waitress, {threads} threads; Ctrl+C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        pass
    finally:
        server.close()


def _check_assets(app) -> None:
    """Refuse to serve maps that would never draw: ``VigieError`` naming the missing files and
    the command that installs them."""
    from pathlib import Path

    from geo_app.assets import missing_assets
    from layers.errors import VigieError

    folder = Path(app.config["VENDOR_DIR"])
    missing = missing_assets(folder)
    if missing:
        raise VigieError(
            f"Vigie's web assets are missing under {folder} ({', '.join(missing[:3])}"
            f"{', …' if len(missing) > 3 else ''}): maps and pages would not draw. In the repository "
            "run `make assets` (or `npm ci`); for an installed package, reinstall a wheel built with "
            "`pip wheel .` (it carries them), or point [web] vendor_dir / GEO_APP_VENDOR_DIR at a "
            "node_modules folder that has them."
        )


def _serve_gunicorn(app, *, host: str, port: int, threads: int, workers: int, warm: bool) -> None:
    """Run ``app`` on gunicorn: ``workers`` forked processes of ``threads`` threads each."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # pragma: no cover - Windows, or a trimmed installation
        raise ParameterError("--workers above 1 needs gunicorn (pip install gunicorn; POSIX systems only); "
                             "use --workers 1 to serve with waitress.", "workers") from None

    class _Server(BaseApplication):
        def load_config(self):
            bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            for key, value in {"bind": [bind], "workers": workers, "threads": threads,
                               "worker_class": "gthread", "preload_app": True, "proc_name": "vigie",
                               "timeout": 300, "graceful_timeout": 10}.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    if warm:
        with app.app_context():
            app.extensions["vigie"].warm()
    # the workers open their own store connections (a forked socket is not shareable)
    app.extensions["vigie"].store.close()
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Vigie on http://{shown}:{port}/ (gunicorn, {workers} processes × {threads} threads; "
               "Ctrl+C to stop)")
    _Server().run()


COMMANDS = [serve]
