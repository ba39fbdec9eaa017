"""A throw-away PostgreSQL + PostGIS cluster in a temporary folder, for tests and benchmarks.

``start_cluster()`` runs ``initdb`` and ``pg_ctl start`` from Debian's PostgreSQL 15
(``/usr/lib/postgresql/15/bin``, or ``VIGIE_PG_BIN``), as the ``postgres`` user when called by
root (PostgreSQL refuses to run as root), listening on a Unix socket in that folder only (no TCP
port, so no clash with another cluster), with durability switched off (``fsync=off``: the data
is thrown away). It creates a database ``vigie`` with the ``postgis`` extension and returns a
``Cluster`` whose ``url`` points at it; ``Cluster.stop()`` stops the server and removes the
folder.
"""

from __future__ import annotations

import os
import shutil
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

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            subprocess.run([*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"),
                            "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(*, shared_buffers: str = "128MB") -> Cluster:
    """Start a cluster (see the module docstring); raises RuntimeError with initdb's or
    pg_ctl's output if it cannot."""
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="vigie-pg-"))
    if _as_postgres():
        shutil.chown(root, "postgres")
    cluster = Cluster(root, "")

    def run(*cmd):
        proc = subprocess.run([*_as_postgres(), *map(str, cmd)], capture_output=True, text=True, cwd=root)
        if proc.returncode != 0:
            cluster.stop()
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}{proc.stderr}")

    data = root / "data"
    run(PG_BIN / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C")
    opts = (f"-k {root} -p 5432 -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            f"-c full_page_writes=off -c max_connections=50 -c shared_buffers={shared_buffers}")
    run(PG_BIN / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-t", "60", "-o", opts, "start")
    base = f"postgresql://postgres@/postgres?host={quote(str(root), safe='')}&port=5432"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute("CREATE DATABASE vigie")
    cluster.url = base.replace("/postgres?", "/vigie?")
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    return cluster
