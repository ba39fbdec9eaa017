"""A throw-away PostgreSQL + PostGIS cluster in a temporary folder, for tests and benchmarks.

``start_cluster()`` runs ``initdb`` and ``pg_ctl start`` from Debian's PostgreSQL 15
(``/usr/lib/postgresql/15/bin``, or ``VIGIE_PG_BIN``), as the ``postgres`` user when called by
root (PostgreSQL refuses to run as root), listening on a Unix socket in that folder only (no TCP
port, so no clash with another cluster), with durability switched off (``fsync=off``: the data
is thrown away). It creates a database ``vigie`` with the ``postgis`` extension and returns a
``Cluster`` whose ``url`` points at it; ``Cluster.stop()`` stops the server and removes the
folder.

``start_cluster(root=FOLDER)`` keeps the cluster in a folder of the caller's choosing instead:
a cluster already initialised there is started again with its data (or used as it is if it is
running), and ``Cluster.stop(remove=False)`` stops it and keeps the folder — so a benchmark can
import ten million rows once and reuse them. A cluster left running there (the caller was
killed) is stopped by hand with
``runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D FOLDER/data -m fast stop``
(without ``runuser -u postgres --`` when not root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PG_BIN = Path(os.environ.get("VIGIE_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")

__all__ = ["Cluster", "missing", "start_cluster"]


def missing() -> str | None:
    """Why a cluster cannot be started here (what to install), or None."""
    for binary in ("initdb", "pg_ctl"):
        if not (PG_BIN / binary).exists():
            return (f"PostgreSQL 15 is not installed ({PG_BIN / binary} missing: "
                    "apt-get install postgresql postgresql-15-postgis-3)")
    if not POSTGIS_CONTROL.exists():
        return "PostGIS is not installed (apt-get install postgresql-15-postgis-3)"
    return None


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class Cluster:
    root: Path
    url: str  # the database "vigie", with PostGIS

    def stop(self, *, remove: bool = True) -> None:
        """Stop the server; remove its folder unless ``remove`` is false (then the next
        ``start_cluster(root=…)`` on that folder starts it again with its data)."""
        if (self.root / "data" / "postmaster.pid").exists():
            # "fast" lets a kept cluster write its last checkpoint; "immediate" is enough to discard one
            subprocess.run([*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"),
                            "-m", "immediate" if remove else "fast", "-w", "stop"],
                           capture_output=True, check=False)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def postmaster_pid(self) -> int | None:
        """The server's main process id (its backends are its children), or None if stopped."""
        pid_file = self.root / "data" / "postmaster.pid"
        try:
            return int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


def start_cluster(*, shared_buffers: str = "128MB", root: str | Path | None = None,
                  settings: dict[str, str] | None = None) -> Cluster:
    """Start a cluster (see the module docstring); raises RuntimeError with initdb's or
    pg_ctl's output if it cannot.

    Parameters
    ----------
    shared_buffers : str
        PostgreSQL's ``shared_buffers`` (its own page cache, allocated at start), e.g. ``"1GB"``.
    root : path, optional
        Folder of the cluster; a new temporary folder when omitted. A cluster already there is
        reused with its data (started if it is not running).
    settings : dict, optional
        Further server settings (``-c name=value``), e.g. ``{"maintenance_work_mem": "512MB"}``.
    """
    import psycopg

    if root is None:
        root = Path(tempfile.mkdtemp(prefix="vigie-pg-"))
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if _as_postgres():
        shutil.chown(root, "postgres")
    cluster = Cluster(root, "")
    existing = (root / "data" / "PG_VERSION").exists()

    def run(*cmd):
        # a session of its own: if we are stopped, initdb's backend goes with runuser (killing
        # runuser alone would leave initdb writing into a removed folder)
        proc = subprocess.Popen([*_as_postgres(), *map(str, cmd)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=root, start_new_session=True)
        try:
            out, err = proc.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out}{err}")

    try:  # whatever stops the start (a failure, Ctrl+C, a kill turned into SystemExit) stops the server
        data = root / "data"
        if not existing:
            run(PG_BIN / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                "--locale=C")
        opts = (f"-k {root} -p 5432 -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                f"-c full_page_writes=off -c max_connections=50 -c shared_buffers={shared_buffers}")
        opts += "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
        running = existing and subprocess.run([*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(data), "status"],
                                              capture_output=True, check=False).returncode == 0
        if not running:
            run(PG_BIN / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-t", "60", "-o", opts, "start")
        base = f"postgresql://postgres@/postgres?host={quote(str(root), safe='')}&port=5432"
        cluster.url = base.replace("/postgres?", "/vigie?")
        if not existing:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute("CREATE DATABASE vigie")
            with psycopg.connect(cluster.url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION postgis")
    except BaseException:
        cluster.stop(remove=not existing)
        raise
    return cluster
