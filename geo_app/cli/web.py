"""``geo-app serve``: the web service on waitress (a production WSGI server)."""

from __future__ import annotations

import threading

import click

from geo_app.cli import pass_home
from layers.errors import ParameterError

__all__ = ["COMMANDS", "serve"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="TCP port.")
@click.option("--threads", default=4, show_default=True, type=int, help="Worker threads of waitress.")
@click.option("--no-warm", is_flag=True, help="Do not load the layers into memory before the first request.")
@pass_home
def serve(home, host: str, port: int, threads: int, no_warm: bool) -> None:
    """Serve Vigie's pages and API on HOST:PORT with waitress."""
    import waitress

    from geo_app import create_app

    if not 1 <= port <= 65535:
        raise ParameterError(f"--port must be between 1 and 65535, got {port}.", "port")
    if threads < 1:
        raise ParameterError(f"--threads must be at least 1, got {threads}.", "threads")
    app = create_app({"HOME": str(home.path)})
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


COMMANDS = [serve]
