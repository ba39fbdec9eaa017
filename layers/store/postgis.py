"""The server store: PostgreSQL + PostGIS, for several server processes or large cities.

Selected by ``open_store("postgresql://user@host:port/dbname")`` (``GEO_APP_STORE_URL``). The
database must have the ``postgis`` extension (``CREATE EXTENSION postgis;``, once, by its owner
or a superuser); Vigie creates its tables itself on first use, in the first schema of the
connection's ``search_path`` (``current_schema()``), so several deployments can share one
database with ``?options=-csearch_path%3Dcouncil_a,public``.

Layout
------
- one table per layer kind (``incidents``, ``zac``…): ``fid bigint`` identity primary key, the
  kind's columns (``text``, ``double precision``, ``bigint``, ``boolean``, ``timestamptz``,
  ``date``), ``batch_id``, and ``geometry``: ``geometry(Point, 4326)`` for point kinds,
  ``geometry(Geometry, 4326)`` restricted to areal geometries for the others (Polygons and
  MultiPolygons side by side, each returned as it was written). Each has a GiST index on
  ``geometry``; incidents also a B-tree on ``occurred_from``. PostGIS registers the typed columns in
  ``geometry_columns``, so QGIS lists and opens the tables directly;
- ``vigie_batches``: one row per import (as in the GeoPackage; options and report as JSON);
- ``vigie_store``: one row, ``store_id`` (random, set at creation) and ``version`` (bigint).

Writes and versions
-------------------
An import is one transaction: it first bumps ``vigie_store.version`` (whose row lock makes
writers queue, as the GeoPackage's lock file does), checks the batch id, ``COPY``\\ s the rows
(CSV made by Arrow; geometries as hex EWKB), inserts the batch row and commits. Any error, an
exception raised by ``progress`` or a killed process rolls everything back, version included;
readers see the old state until the commit. A rollback deletes the batch's rows and its row in
one transaction the same way. ``version`` is ``"<store_id>-<version>"`` read from the database,
so every process sees every other process's writes; each write also sends
``NOTIFY vigie_store, '<version>'`` at commit for processes that prefer to listen.

Large imports
-------------
A batch of at least ``_REBUILD_MIN_ROWS`` rows and at least as many as the layer holds rebuilds
the table inside the import's transaction: stored rows and new ones into a new table without
indexes, indexes built once, the old table dropped and the new one renamed in its place (its
identity continuing the old one). A GiST built in bulk costs a fraction of one insertion per
row; readers keep the old table until the commit. Other batches ``COPY`` into the indexed table.

Connections
-----------
Each process has one pool (``psycopg_pool.ConnectionPool``) per URL, of at most ``pool_size``
connections, shared by every store object of that URL and by the app tables
(``geo_app.db``). A connection is checked before it is handed out (a closed one is replaced);
a forked child forgets the parent's pools and opens its own on first use.

Reads and pushdown
------------------
Every filter is SQL with bound parameters, with the semantics of ``layers.filters``:
bbox (``&&`` on the GiST index, then the exact box on the point's coordinates, edges included;
``ST_Intersects`` for polygons), ``start <= occurred_from < end``, categories, local hours and
weekdays (``AT TIME ZONE`` the deployment's zone), and ZAC polygons (``ST_Intersects``,
boundary included). Rows come back ordered by ``fid`` through ``COPY … TO STDOUT`` (points as
x/y), parsed by Arrow. ``count`` and ``grid_counts`` run entirely in SQL: ``grid_counts`` reprojects with
``ST_Transform`` (the same PROJ operation as pyproj's, bit for bit on the tested CRSs) and
computes each point's lattice cell with the arithmetic of ``layers.grid.cell_index``.
"""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import asdict, replace
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely

from layers.errors import InputError, ParameterError, StoreError
from layers.filters import Filters
from layers.registry import LAYERS, LayerSpec, get_spec
from layers.store.base import Batch, Store
from layers.store.frames import as_type, check_columns, check_filters, check_frame, empty_frame

try:  # psycopg is a dependency of Vigie; the import is guarded for a clearer message
    import psycopg
    from psycopg import sql
    from psycopg.copy import QueuedLibpqWriter
    from psycopg.types.json import Json
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - broken installation
    psycopg = None

__all__ = ["BATCH_TABLE", "DEFAULT_POOL_SIZE", "VERSION_TABLE", "PostGISStore", "check_pool_size", "close_pool",
           "connection_pool"]

BATCH_TABLE = "vigie_batches"
VERSION_TABLE = "vigie_store"
#: rows per COPY chunk (``progress`` is called after each)
_CHUNK = 100_000
#: how long a writer waits for another one before giving up
_LOCK_TIMEOUT = "600s"
#: connections per process and URL when no size is given (the default ``--threads`` of serve)
DEFAULT_POOL_SIZE = 4
#: seconds a caller waits for a pooled connection before a StoreError
_POOL_TIMEOUT = 15.0
#: serialises the creation of Vigie's tables by concurrent first users of a database
_SCHEMA_LOCK = 0x7669676965  # "vigie"

_SQL_TYPES = {
    "str": "text",
    "float": "double precision",
    "int": "bigint",
    "bool": "boolean NOT NULL DEFAULT false",
    "datetime": "timestamptz",
    "date": "date",
}
_ARROW_TYPES = {
    "str": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "datetime": pa.int64(),  # microseconds since the epoch (exact, see _select_expr)
    "date": pa.int32(),  # days since the epoch
}
#: B-tree indexes besides the GiST: each costs a few µs per imported row (the GiST about 10), so
#: only the period, the most common filter; a rollback finds its rows by a sequential scan
_INDEXED = {"incidents": ("occurred_from",)}
#: an import of at least this many rows, and at least _REBUILD_RATIO times the stored rows,
#: rebuilds the table and indexes it once (see PostGISStore.import_batch)
_REBUILD_MIN_ROWS = 50_000
_REBUILD_RATIO = 1.0
#: name suffix of the table being rebuilt (dropped if a previous rebuild left one)
_NEW_SUFFIX = "__vigie_new"


def _json(value) -> Json:
    return Json(value, dumps=partial(json.dumps, default=str, ensure_ascii=False))


# ---------------------------------------------------------------------------------- pools
# One pool per URL and process. A forked child (gunicorn's workers, the web import's process)
# forgets the pools it inherited without closing them — their sockets belong to the parent, and
# psycopg never ends a connection from another process — and opens its own on first use.
_POOLS: dict[str, ConnectionPool] = {}
_POOLS_LOCK = threading.Lock()


def _forget_pools_after_fork() -> None:
    global _POOLS_LOCK
    _POOLS_LOCK = threading.Lock()
    _POOLS.clear()


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def check_pool_size(size) -> int:
    """``size`` as a whole number of connections from 1 to 100 (None: ``DEFAULT_POOL_SIZE``);
    ``ParameterError`` naming ``pool_size`` otherwise."""
    if size is None or size == "":
        return DEFAULT_POOL_SIZE
    try:
        n = int(str(size).strip())
    except ValueError:
        n = 0
    if not 1 <= n <= 100:
        raise ParameterError(f"pool_size must be a whole number of connections from 1 to 100, got {size!r}.",
                             "pool_size")
    return n


def _connect_kwargs(url: str) -> dict:
    """``psycopg.connect`` keyword arguments of a store URL (``StoreError`` if malformed)."""
    try:
        kwargs = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise StoreError(
            f"GEO_APP_STORE_URL is not a valid PostgreSQL URL ({_first_line(e)}); write it as "
            "postgresql://user@host:port/dbname."
        ) from None
    kwargs.setdefault("connect_timeout", 10)
    kwargs.setdefault("application_name", "vigie")
    kwargs["autocommit"] = True
    return kwargs


def _configure(conn) -> None:
    """Session settings of every connection: UTC instants; doubles written as their shortest
    exact text (coordinates round-trip)."""
    conn.execute("SET TimeZone TO 'UTC'")
    conn.execute("SET extra_float_digits = 3")


def connection_pool(url: str, *, size: int | None = None) -> ConnectionPool:
    """This process's pool of connections to ``url`` (``psycopg_pool.ConnectionPool``).

    Created on first use with at most ``size`` connections (``DEFAULT_POOL_SIZE`` if None; the
    first caller's size holds for the process), one opened at once and the others on demand;
    each connection is checked before it is handed out (``ConnectionPool.check_connection``:
    one round trip), so one the server closed is replaced. The PostGIS store and the app tables
    (``geo_app.db``) of one URL share it.
    """
    with _POOLS_LOCK:
        pool = _POOLS.get(url)
        if pool is None or pool.closed:
            kwargs = _connect_kwargs(url)
            pool = ConnectionPool(kwargs={k: v for k, v in kwargs.items()}, min_size=1,
                                  max_size=check_pool_size(size), configure=_configure,
                                  check=ConnectionPool.check_connection, timeout=_POOL_TIMEOUT,
                                  name=f"vigie-{os.getpid()}", open=False)
            pool.open(wait=False)
            _POOLS[url] = pool
        return pool


def close_pool(url: str) -> None:
    """Close this process's pool of ``url``, if any (the next ``connection_pool`` opens anew)."""
    with _POOLS_LOCK:
        pool = _POOLS.pop(url, None)
    if pool is not None:
        pool.close()


class PostGISStore(Store):
    """Layers and import batches in a PostgreSQL/PostGIS database.

    Parameters
    ----------
    url : str
        A libpq URL, ``postgresql://user[:password]@host[:port]/dbname[?param=value…]``
        (a password is better kept in ``~/.pgpass`` or ``PGPASSWORD`` than in the URL).

    Raises
    ------
    StoreError
        The URL is malformed, the server cannot be reached, the database lacks the PostGIS
        extension, or Vigie's tables cannot be created; the message says what to do.

    See the module docstring for the layout, the write transactions and the pushdown.
    """

    def __init__(self, url: str, *, pool_size: int | None = None):
        if psycopg is None:  # pragma: no cover - broken installation
            raise StoreError("The PostGIS store needs psycopg 3: pip install 'psycopg[binary]'.")
        self.url = str(url)
        self.pool_size = check_pool_size(pool_size)
        self._where_text = _describe(self.url)
        conn = self._open()  # a direct connection first: libpq's own message if it fails
        try:
            self._check_postgis(conn)
        finally:
            conn.close()
        self._ensure_tables()

    def __repr__(self) -> str:
        return f"PostGISStore({self._where_text!r})"

    # ------------------------------------------------------------------ connections

    def _open(self):
        """A new autocommit connection in UTC (``StoreError`` saying what to do on failure)."""
        kwargs = _connect_kwargs(self.url)
        try:
            conn = psycopg.connect(**kwargs)
        except psycopg.Error as e:
            raise StoreError(
                f"Cannot connect to the PostgreSQL store {self._where_text}: {_first_line(e)}. "
                "Check that the server is running and reachable, and the user, password and "
                "database name in GEO_APP_STORE_URL."
            ) from None
        _configure(conn)
        return conn

    @contextmanager
    def connection(self):
        """A connection of this process's pool (``connection_pool``), returned on exit.

        Autocommit, ``TimeZone`` UTC; checked before it is handed out, so a connection the
        server closed (restart, ``pg_terminate_backend``) is replaced instead of failing.
        """
        try:
            with connection_pool(self.url, size=self.pool_size).connection() as conn:
                yield conn
        except PoolTimeout:
            raise StoreError(
                f"No connection to the PostgreSQL store {self._where_text} within {_POOL_TIMEOUT:g} s: "
                f"the server is unreachable, or all {self.pool_size} connections of this process "
                "are busy (raise pool_size)."
            ) from None

    @contextmanager
    def _read(self):
        """A cursor on a pooled connection (threads read in parallel, one connection each)."""
        try:
            with self.connection() as conn, conn.cursor() as cur:
                yield cur
        except psycopg.OperationalError as e:
            raise StoreError(
                f"Lost the connection to the PostgreSQL store {self._where_text}: "
                f"{_first_line(e)}. Check that the server is running, then retry."
            ) from None

    @contextmanager
    def _write(self):
        """A transaction on a pooled connection that first bumps the store version: its row
        lock queues concurrent writers."""
        try:
            with self.connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(_LOCK_TIMEOUT)))
                try:
                    cur.execute(sql.SQL("UPDATE {} SET version = version + 1 "
                                        "RETURNING store_id, version").format(sql.Identifier(VERSION_TABLE)))
                except psycopg.errors.LockNotAvailable:
                    raise StoreError(
                        f"The store {self._where_text} is being written by another import; try "
                        "again when it is done."
                    ) from None
                store_id, version = cur.fetchone()
                yield cur
                cur.execute("SELECT pg_notify('vigie_store', %s)", (f"{store_id}-{version}",))
        except psycopg.OperationalError as e:
            raise StoreError(
                f"The write to the PostgreSQL store {self._where_text} failed and was rolled "
                f"back: {_first_line(e)}."
            ) from None

    def close(self) -> None:
        """Close this process's connection pool of the store's URL (reopened on the next call;
        ``geo-app serve --workers`` calls it before forking)."""
        close_pool(self.url)

    # ------------------------------------------------------------------ schema

    def _check_postgis(self, conn) -> None:
        row = conn.execute("SELECT current_database(), current_schema(), "
                           "(SELECT extversion FROM pg_extension WHERE extname = 'postgis'), "
                           "(SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis')"
                           ).fetchone()
        db, schema, version, available = row
        if version is None:
            if available:
                raise StoreError(
                    f"The database '{db}' has no PostGIS extension. Create it once, as the "
                    f"database owner or a superuser: psql -d {db} -c 'CREATE EXTENSION postgis;'"
                )
            raise StoreError(
                f"PostGIS is not installed on the PostgreSQL server of {self._where_text}. Install "
                "it (Debian: apt-get install postgresql-15-postgis-3), then run "
                f"psql -d {db} -c 'CREATE EXTENSION postgis;'"
            )
        if schema is None:
            raise StoreError(
                f"The search_path of {self._where_text} names no existing schema: create the "
                "schema, or fix the options of GEO_APP_STORE_URL."
            )

    def _ensure_tables(self) -> None:
        conn = self._open()
        row = conn.execute("SELECT to_regclass(quote_ident(current_schema()) || '.' || %s)",
                           (VERSION_TABLE,)).fetchone()
        if row[0] is not None:
            conn.close()
            self.migrate()  # an older store gains the columns the registry has gained
            return
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _schema_ddl():
                    cur.execute(statement)
                cur.execute(sql.SQL("INSERT INTO {} (id, store_id, version) VALUES (1, %s, 0) "
                                    "ON CONFLICT (id) DO NOTHING").format(sql.Identifier(VERSION_TABLE)),
                            (uuid.uuid4().hex[:12],))
        except psycopg.errors.InsufficientPrivilege as e:
            raise StoreError(
                f"The user of {self._where_text} cannot create Vigie's tables ({_first_line(e)}). "
                "Grant it CREATE on the schema, or let the database owner open the store once."
            ) from None
        finally:
            conn.close()

    def _missing_columns(self, cur) -> dict[str, list]:
        """Registry columns absent from the tables of an older store: kind -> [ColumnSpec]."""
        cur.execute("SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema()")
        have: dict[str, set] = {}
        for table, column in cur.fetchall():
            have.setdefault(table, set()).add(column)
        return {kind: [c for c in spec.columns if c.name not in have[kind]]
                for kind, spec in LAYERS.items()
                if kind in have and any(c.name not in have[kind] for c in spec.columns)}

    def migrate(self) -> list[str]:
        """Add to the tables of a store written by an older Vigie the columns the registry has
        gained since (e.g. the incidents' ``geocode_precision`` and ``geocode_score``), empty
        for the rows already stored, in one transaction that bumps the version. Returns the
        columns added (``kind.column``); ``[]`` when the store is up to date. Opening the store
        calls it, so an old store needs no rebuild."""
        with self._read() as cur:
            if not self._missing_columns(cur):
                return []
        added = []
        conn = self._open()
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for kind, cols in self._missing_columns(cur).items():
                    for col in cols:
                        cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                            sql.Identifier(kind), sql.Identifier(col.name), sql.SQL(_SQL_TYPES[col.type])))
                        added.append(f"{kind}.{col.name}")
                if added:
                    cur.execute(sql.SQL("UPDATE {} SET version = version + 1").format(sql.Identifier(VERSION_TABLE)))
        except psycopg.errors.InsufficientPrivilege as e:
            raise StoreError(
                f"The store {self._where_text} lacks the columns {', '.join(added) or 'of this Vigie'} and its user "
                f"cannot add them ({_first_line(e)}): let the database owner open the store once."
            ) from None
        finally:
            conn.close()
        return added

    # ------------------------------------------------------------------ state

    @property
    def version(self) -> str:
        """``<store_id>-<n>``: ``n`` is bumped in the transaction of every write, by any process."""
        with self._read() as cur:
            cur.execute(sql.SQL("SELECT store_id, version FROM {}").format(sql.Identifier(VERSION_TABLE)))
            store_id, n = cur.fetchone()
        return f"{store_id}-{n}"

    def counts(self) -> dict[str, int]:
        parts = [sql.SQL("SELECT {}, count(*) FROM {}").format(sql.Literal(k), sql.Identifier(k)) for k in LAYERS]
        with self._read() as cur:
            cur.execute(sql.SQL(" UNION ALL ").join(parts))
            got = dict(cur.fetchall())
        return {k: int(got.get(k, 0)) for k in LAYERS}

    def batches(self, kind: str | None = None) -> list[Batch]:
        if kind is not None:
            get_spec(kind)
        with self._read() as cur:
            return _batches(cur, "kind", kind)

    # ------------------------------------------------------------------ reads

    def read(
        self,
        kind: str,
        filters: Filters | None = None,
        *,
        columns: list[str] | None = None,
        tz: str = "Europe/Paris",
    ) -> gpd.GeoDataFrame:
        """Features of ``kind`` passing ``filters`` (EPSG:4326), ordered by ``fid``.

        Returns the kind's columns (or ``columns``) plus ``batch_id``, ``fid`` and ``geometry``.
        For kinds other than incidents only ``bbox`` applies; the other filters raise
        ``ParameterError``.
        """
        spec = get_spec(kind)
        wanted = check_columns(spec, columns)
        filters = check_filters(spec, filters)
        where, params = self._where(spec, filters, tz)
        return self._copy_out(spec, wanted, where, params)

    def read_after(self, kind: str, fid: int, *, tz: str = "Europe/Paris") -> gpd.GeoDataFrame:
        """Features of ``kind`` with a ``fid`` above ``fid`` (a primary-key range), by ``fid``."""
        spec = get_spec(kind)
        return self._copy_out(spec, list(spec.column_names), sql.SQL("t.fid > %s"), [int(fid)])

    def _copy_out(self, spec: LayerSpec, wanted: list[str], where: sql.Composable, params: list) -> gpd.GeoDataFrame:
        """The rows of ``spec``'s table passing ``where``, by ``fid``, through ``COPY … TO STDOUT``."""
        names = [*wanted, "batch_id", "fid", *(("x", "y") if spec.is_point else ("wkb",))]
        select = sql.SQL(", ").join(_select_expr(spec, n) for n in names)
        query = sql.SQL("COPY (SELECT {} FROM {} AS t WHERE {} ORDER BY t.fid) TO STDOUT (FORMAT csv)").format(
            select, sql.Identifier(spec.name), where)
        blocks = []
        with self._read() as cur, cur.copy(query, params) as copy:
            while block := copy.read():
                blocks.append(bytes(block))
        if not blocks:
            return empty_frame(spec, wanted)
        types = {n: _ARROW_TYPES[spec.column(n).type] for n in wanted}
        types.update(batch_id=pa.string(), fid=pa.int64(), x=pa.float64(), y=pa.float64(), wkb=pa.string())
        table = pacsv.read_csv(
            pa.py_buffer(b"".join(blocks)),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                column_types={n: types[n] for n in names}, strings_can_be_null=True,
                quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"]),
        )
        return _frame(spec, wanted, table)

    def count(self, kind: str, filters: Filters | None = None, *, tz: str = "Europe/Paris") -> int:
        spec = get_spec(kind)
        filters = check_filters(spec, filters)
        where, params = self._where(spec, filters, tz)
        with self._read() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {} AS t WHERE {}").format(sql.Identifier(spec.name), where),
                        params)
            return int(cur.fetchone()[0])

    def grid_counts(
        self, grid: gpd.GeoDataFrame, filters: Filters | None = None, *, tz: str = "Europe/Paris"
    ) -> gpd.GeoDataFrame:
        """Incidents passing ``filters`` per cell of ``grid``, computed in SQL.

        Same contract as ``Store.grid_counts`` (equal cell by cell to ``count_xy``): the
        database reprojects the points to the grid's CRS with ``ST_Transform``, computes each
        point's lattice ``col`` / ``row`` as ``layers.grid.cell_index`` does (for hexagons: the
        nearest of the same eight candidate centres, ties to the first) and returns one count
        per occupied cell; only those counts travel to Python.
        """
        from layers.grid import cell_position, lattice_of

        spec = get_spec("incidents")
        filters = check_filters(spec, filters)
        lattice = lattice_of(grid) if isinstance(grid, gpd.GeoDataFrame) else None
        if lattice is None:
            raise InputError("grid_counts needs a grid made by layers.grid.make_grid (with col, row and its "
                             "lattice in attrs['vigie']).")
        epsg = grid.crs.to_epsg() if grid.crs is not None else None
        if epsg is None or not grid.crs.is_projected:
            raise InputError(f"grid_counts needs a grid in a projected CRS with an EPSG code (got "
                             f"{grid.crs.to_string() if grid.crs is not None else 'no CRS'}).")
        where, params = self._where(spec, filters, tz)
        query, params = _cell_query(lattice, epsg, sql.Identifier(spec.name), where, params)
        with self._read() as cur:
            cur.execute(query, params)
            rows = cur.fetchall()
        got = np.array(rows, dtype=np.int64).reshape(-1, 3)
        pos = cell_position(grid, got[:, 0], got[:, 1])
        inside = pos >= 0
        n = np.bincount(pos[inside], weights=got[inside, 2], minlength=len(grid)).astype(np.int64)
        out = grid.copy()
        out["n"] = n
        meta = dict(grid.attrs.get("vigie", {}))
        meta.update(n_incidents=int(got[inside, 2].sum()), n_outside=int(got[~inside, 2].sum()))
        out.attrs["vigie"] = meta
        return out

    def _where(self, spec: LayerSpec, filters: Filters | None, tz) -> tuple[sql.Composable, list]:
        """The SQL condition of ``filters`` on table alias ``t``, and its parameters."""
        clauses: list[sql.Composable] = []
        params: list = []
        if filters is None:
            return sql.SQL("true"), params
        if filters.bbox is not None:
            minx, miny, maxx, maxy = (float(v) for v in filters.bbox)
            envelope = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
            if spec.is_point:
                # && on the GiST index (float4 boxes, a superset), then the exact box
                clauses.append(sql.SQL(f"t.geometry && {envelope} AND ST_X(t.geometry) BETWEEN %s AND %s "
                                       "AND ST_Y(t.geometry) BETWEEN %s AND %s"))
                params += [minx, miny, maxx, maxy, minx, maxx, miny, maxy]
            else:
                clauses.append(sql.SQL(f"ST_Intersects(t.geometry, {envelope})"))
                params += [minx, miny, maxx, maxy]
        if filters.start is not None:
            clauses.append(sql.SQL("t.occurred_from >= %s"))
            params.append(filters.start.to_pydatetime())
        if filters.end is not None:
            clauses.append(sql.SQL("t.occurred_from < %s"))
            params.append(filters.end.to_pydatetime())
        # as in apply_filters: hours and weekdays apply when at least one of them is non-empty
        if filters.hours or filters.weekdays:
            zone = getattr(tz, "key", None) or str(tz)
            if filters.hours is not None:
                clauses.append(sql.SQL("extract(hour FROM t.occurred_from AT TIME ZONE %s)::int = ANY(%s)"))
                params += [zone, list(filters.hours)]
            if filters.weekdays is not None:
                clauses.append(sql.SQL("extract(isodow FROM t.occurred_from AT TIME ZONE %s)::int - 1 = ANY(%s)"))
                params += [zone, list(filters.weekdays)]
        if filters.categories is not None:
            clauses.append(sql.SQL("t.category = ANY(%s)"))
            params.append(list(filters.categories))
        if filters.zac is not None:
            self._check_zac_names(filters.zac)
            clauses.append(sql.SQL("EXISTS (SELECT 1 FROM zac AS z WHERE z.name = ANY(%s) "
                                   "AND ST_Intersects(z.geometry, t.geometry))"))
            params.append(list(filters.zac))
        return sql.SQL(" AND ").join(clauses) if clauses else sql.SQL("true"), params

    def _check_zac_names(self, names) -> None:
        with self._read() as cur:
            cur.execute("SELECT DISTINCT name FROM zac WHERE name IS NOT NULL")
            known = {r[0] for r in cur.fetchall()}
        unknown = [z for z in names if z not in known]
        if unknown:
            raise ParameterError(
                f"unknown ZAC {', '.join(map(repr, unknown))}; known ZACs: {', '.join(sorted(known)[:50])}.",
                "zac",
            )

    def warm(self, kinds=None) -> None:
        """Nothing to load: reads are served by the database (whose own cache warms itself)."""

    # ------------------------------------------------------------------ writes

    def import_batch(self, kind: str, gdf: gpd.GeoDataFrame, batch: Batch, *, progress=None) -> Batch:
        """Append ``gdf`` as the batch ``batch`` in one transaction (``COPY``), all or nothing.

        ``progress(n_done, n_total)`` is called after each chunk of 100,000 rows; if it raises,
        nothing is stored. Returns the batch as stored (``n_stored`` = rows written).

        Notes
        -----
        A batch of at least ``_REBUILD_MIN_ROWS`` rows that is at least ``_REBUILD_RATIO``
        times the rows already stored (a first import, a full reload) rebuilds the table instead
        of appending to it: the stored rows and the new ones are copied into a new table without
        indexes, its indexes are built once (a sorted GiST build instead of one GiST insertion
        per row, about ten µs each), and it replaces the old table, all in the same
        transaction. Readers keep reading the old table until the commit; fids, batches,
        rollback and versions are those of an append. The new table belongs to the importing
        user and carries no grants of the old one (grant other roles through ``ALTER DEFAULT
        PRIVILEGES`` on the schema, or use the same user). When the old table cannot be dropped
        (a view depends on it, or another role owns it) the batch is appended instead.
        """
        spec = get_spec(kind)
        gdf = check_frame(spec, gdf, batch)
        table = _arrow_rows(spec, gdf, batch.id)
        stored = replace(batch, n_stored=table.num_rows)
        with self._write() as cur:
            cur.execute(sql.SQL("SELECT 1 FROM {} WHERE id = %s").format(sql.Identifier(BATCH_TABLE)),
                        (batch.id,))
            if cur.fetchone():
                raise InputError(f"A batch with id '{batch.id}' is already in the store.")
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(spec.name)))
            if _rebuilds(table.num_rows, cur.fetchone()[0]):
                try:
                    with cur.connection.transaction():  # a savepoint: the append is the fallback
                        _rebuild_with(cur, spec, table, progress)
                except (psycopg.errors.DependentObjectsStillExist, psycopg.errors.InsufficientPrivilege):
                    # a view of the table (or a table owned by another role) cannot be dropped
                    _copy_in(cur, spec.name, table, progress)
            else:
                _copy_in(cur, spec.name, table, progress)
            self._insert_batch(cur, stored)
        return stored

    @staticmethod
    def _insert_batch(cur, batch: Batch) -> None:
        d = asdict(batch)
        d["options"], d["report"] = _json(d["options"]), _json(d["report"])
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in d)
        cur.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(BATCH_TABLE), cols, sql.SQL(", ").join(sql.Placeholder() * len(d))),
            list(d.values()))

    def rollback(self, batch_id: str) -> Batch:
        """Delete the batch's features and its row in one transaction; returns the batch.
        ``NotFound`` (store unchanged) if there is no such batch."""
        with self._write() as cur:
            found = _batches(cur, "id", batch_id)
            if not found:
                self.batch(batch_id)  # NotFound naming the latest batches
            batch = found[0]
            cur.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(sql.Identifier(batch.kind)),
                        (batch.id,))
            cur.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(BATCH_TABLE)), (batch.id,))
        return batch


# ---------------------------------------------------------------------------------- helpers


def _rebuilds(n_new: int, n_stored: int) -> bool:
    """Whether an import of ``n_new`` rows into a table of ``n_stored`` rebuilds the table."""
    return n_new >= _REBUILD_MIN_ROWS and n_new >= _REBUILD_RATIO * n_stored


def _copy_in(cur, table_name: str, table: pa.Table, progress) -> None:
    """``COPY`` the rows of ``table`` into ``table_name`` by chunks, calling ``progress``."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(table_name), cols)
    total, done = table.num_rows, 0
    # a writer thread sends each chunk while the next one is turned into CSV
    with cur.copy(copy_sql, writer=QueuedLibpqWriter(cur)) as copy:
        for part in table.to_batches(max_chunksize=_CHUNK):
            out = io.BytesIO()
            pacsv.write_csv(part, out, pacsv.WriteOptions(include_header=False))
            copy.write(out.getbuffer())
            done += part.num_rows
            if progress is not None:
                progress(done, total)


def _rebuild_with(cur, spec: LayerSpec, table: pa.Table, progress) -> None:
    """Replace ``spec``'s table by a new one holding its rows and ``table``'s, indexed once
    (inside the caller's transaction; see ``PostGISStore.import_batch``)."""
    name, new = spec.name, f"{spec.name}{_NEW_SUFFIX}"
    ident, new_ident = sql.Identifier(name), sql.Identifier(new)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(new_ident))
    cur.execute(_table_ddl(spec, new))
    # the new identity continues the old one: fids of the batch above every fid ever given
    cur.execute("SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'fid')::regclass), "
                "pg_get_serial_sequence(%s, 'fid')", (_qualified(cur, name), _qualified(cur, new)))
    last, new_seq = cur.fetchone()
    if last is not None:
        cur.execute("SELECT setval(%s::regclass, %s)", (new_seq, last))
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in ["fid", *spec.column_names, "batch_id", "geometry"])
    cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(new_ident, cols, cols, ident))
    _copy_in(cur, new, table, progress)
    for statement in _index_ddl(spec, new):
        cur.execute(statement)
    cur.execute(sql.SQL("DROP TABLE {}").format(ident))
    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(new_ident, ident))
    for index in _index_names(spec, new):
        cur.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(
            sql.Identifier(index), sql.Identifier(name + index.removeprefix(new))))
    cur.execute(sql.SQL("ALTER SEQUENCE {} RENAME TO {}").format(
        sql.SQL(new_seq), sql.Identifier(f"{name}_fid_seq")))
    cur.execute(sql.SQL("ANALYZE {}").format(ident))  # a new table has no planner statistics


def _qualified(cur, name: str) -> str:
    """``schema.table`` of a table of the current schema, quoted for ``regclass``."""
    cur.execute("SELECT quote_ident(current_schema()) || '.' || quote_ident(%s)", (name,))
    return cur.fetchone()[0]


def _batches(cur, field: str, value) -> list[Batch]:
    """Batches whose ``field`` is ``value`` (all when ``value`` is None), oldest first."""
    query = sql.SQL('SELECT id, kind, file_name, checksum, "user", created, n_read, n_stored, '
                    "n_rejected, simulated, options, report FROM {}").format(sql.Identifier(BATCH_TABLE))
    params: tuple = ()
    if value is not None:
        query += sql.SQL(" WHERE {} = %s").format(sql.Identifier(field))
        params = (value,)
    cur.execute(query + sql.SQL(" ORDER BY created, seq"), params)
    return [
        Batch(id=r[0], kind=r[1], file_name=r[2], checksum=r[3], user=r[4], created=r[5],
              n_read=int(r[6]), n_stored=int(r[7]), n_rejected=int(r[8]), simulated=bool(r[9]),
              options=r[10], report=r[11])
        for r in cur.fetchall()
    ]


def _describe(url: str) -> str:
    """``user@host:port/dbname`` of a URL, without its password (for messages)."""
    try:
        d = psycopg.conninfo.conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a malformed URL is reported when connecting
        return "postgresql://…"
    host = d.get("host") or "localhost"
    port = f":{d['port']}" if d.get("port") else ""
    user = f"{d['user']}@" if d.get("user") else ""
    return f"postgresql://{user}{host}{port}/{d.get('dbname', '')}"


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0].rstrip(".")


def _schema_ddl() -> list[sql.Composable]:
    """CREATE statements of Vigie's tables and indexes (idempotent)."""
    out = [
        sql.SQL("""CREATE TABLE IF NOT EXISTS {} (
            id integer PRIMARY KEY CHECK (id = 1),
            store_id text NOT NULL,
            version bigint NOT NULL)""").format(sql.Identifier(VERSION_TABLE)),
        sql.SQL("""CREATE TABLE IF NOT EXISTS {} (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            id text PRIMARY KEY,
            kind text NOT NULL,
            file_name text NOT NULL,
            checksum text NOT NULL,
            "user" text NOT NULL,
            created text NOT NULL,
            n_read bigint NOT NULL,
            n_stored bigint NOT NULL,
            n_rejected bigint NOT NULL,
            simulated boolean NOT NULL DEFAULT false,
            options json NOT NULL DEFAULT '{{}}',
            report json NOT NULL DEFAULT '[]')""").format(sql.Identifier(BATCH_TABLE)),
    ]
    for spec in LAYERS.values():
        out.append(_table_ddl(spec, spec.name))
        out += _index_ddl(spec, spec.name)
    return out


def _table_ddl(spec: LayerSpec, name: str) -> sql.Composable:
    """CREATE TABLE of ``spec``'s layer under ``name`` (primary key, no other index)."""
    cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(_SQL_TYPES[c.type])) for c in spec.columns]
    if spec.is_point:
        geom = sql.SQL("geometry geometry(Point, 4326) NOT NULL")
    elif spec.is_line:
        geom = sql.SQL("geometry geometry(LineString, 4326) NOT NULL")
    else:
        # areal geometries only; a check on the type name would make geometry_columns (and
        # so QGIS) announce its first type (Polygon) for the whole column
        geom = sql.SQL("geometry geometry(Geometry, 4326) NOT NULL CHECK (ST_Dimension(geometry) = 2)")
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} (fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                   "{}, batch_id text NOT NULL, {})").format(sql.Identifier(name), sql.SQL(", ").join(cols), geom)


def _index_names(spec: LayerSpec, name: str) -> list[str]:
    """Names of the indexes of ``spec``'s layer stored under ``name`` (primary key included)."""
    return [f"{name}_pkey", f"{name}_geometry_gist", *(f"{name}_{col}_idx" for col in _INDEXED.get(spec.name, ()))]


def _index_ddl(spec: LayerSpec, name: str) -> list[sql.Composable]:
    """CREATE INDEX statements of ``spec``'s layer stored under ``name`` (GiST, B-trees)."""
    table = sql.Identifier(name)
    out = [sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist (geometry)").format(
        sql.Identifier(f"{name}_geometry_gist"), table)]
    for col in _INDEXED.get(spec.name, ()):
        out.append(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
            sql.Identifier(f"{name}_{col}_idx"), table, sql.Identifier(col)))
    return out


def _select_expr(spec: LayerSpec, name: str) -> sql.Composable:
    """How a column is read: exact integers for instants (microseconds) and dates (days since
    the epoch); points as x and y (the shortest exact text of a double: cheaper to write and
    parse than WKB), other geometries as hex WKB."""
    if name == "x":
        return sql.SQL("ST_X(t.geometry)")
    if name == "y":
        return sql.SQL("ST_Y(t.geometry)")
    if name == "wkb":
        return sql.SQL("encode(ST_AsBinary(t.geometry), 'hex')")
    col = sql.SQL("t.{}").format(sql.Identifier(name))
    type_ = None if name in ("fid", "batch_id") else spec.column(name).type
    if type_ == "datetime":  # extract(epoch) is numeric (exact) since PostgreSQL 14
        return sql.SQL("(extract(epoch FROM {}) * 1000000)::bigint").format(col)
    if type_ == "date":
        return sql.SQL("({} - DATE '1970-01-01')").format(col)
    return col


def _frame(spec: LayerSpec, wanted: list[str], table: pa.Table) -> gpd.GeoDataFrame:
    """The GeoDataFrame of a read, with the registry dtypes (``datetime64[ns, UTC]``…)."""
    data = {}
    for name in wanted:
        type_ = spec.column(name).type
        arr = table.column(name)
        if type_ == "datetime":
            s = pc.multiply(arr, 1000).cast(pa.timestamp("ns", tz="UTC")).to_pandas()
        elif type_ == "date":
            s = pc.multiply(arr.cast(pa.int64()), 86_400 * 10**9).cast(pa.timestamp("ns")).to_pandas()
        else:
            s = as_type(arr.to_pandas(), type_, unit="ns")
        data[name] = s
    data["batch_id"] = table.column("batch_id").to_pandas().astype("str")
    data["fid"] = table.column("fid").to_numpy()
    if "wkb" in table.column_names:
        geometry = shapely.from_wkb(table.column("wkb").to_numpy(zero_copy_only=False))
    else:
        geometry = shapely.points(table.column("x").to_numpy(), table.column("y").to_numpy())
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def _arrow_rows(spec: LayerSpec, gdf: gpd.GeoDataFrame, batch_id: str) -> pa.Table:
    """The rows of an import as an Arrow table whose CSV is what ``COPY … (FORMAT csv)`` reads:
    NULL unquoted and empty, strings quoted, instants as ISO text in UTC, geometries as EWKB."""
    n = len(gdf)
    arrays, names = [], []
    for col in spec.columns:
        s = gdf[col.name] if col.name in gdf.columns else pd.Series([None] * n, index=gdf.index)
        s = as_type(s, col.type, unit="us").reset_index(drop=True)
        arr = pa.Array.from_pandas(s)
        if col.type == "date":
            arr = arr.cast(pa.date32())
        elif col.type == "str":
            arr = arr.cast(pa.string())
        arrays.append(arr)
        names.append(col.name)
    geoms = np.asarray(gdf.geometry.values)
    if spec.is_point:
        hex_ewkb = _point_ewkb_hex(shapely.get_x(geoms), shapely.get_y(geoms))
    else:
        hex_ewkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
    arrays += [pa.repeat(pa.scalar(batch_id, pa.string()), n), pa.array(hex_ewkb, pa.string())]
    names += ["batch_id", "geometry"]
    return pa.table(arrays, names=names)


#: the 9 bytes before a point's coordinates in little-endian EWKB with SRID 4326: byte order,
#: type Point with the SRID flag (0x20000001), SRID
_POINT_EWKB_HEAD = np.frombuffer(bytes([1, 1, 0, 0, 0x20, 0xE6, 0x10, 0, 0]), np.uint8)
_HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", np.uint8)


def _point_ewkb_hex(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hex EWKB (SRID 4326) of the points ``x``, ``y`` as an array of 50-byte strings, what
    ``shapely.to_wkb(hex=True, include_srid=True)`` writes, built with NumPy (about 20 times
    faster for a million points)."""
    n = len(x)
    raw = np.empty((n, 25), np.uint8)
    raw[:, :9] = _POINT_EWKB_HEAD
    raw[:, 9:17] = np.ascontiguousarray(x, "<f8").view(np.uint8).reshape(n, 8)
    raw[:, 17:] = np.ascontiguousarray(y, "<f8").view(np.uint8).reshape(n, 8)
    out = np.empty((n, 50), np.uint8)
    out[:, 0::2] = _HEX_DIGITS[raw >> 4]
    out[:, 1::2] = _HEX_DIGITS[raw & 15]
    return out.view("S50").ravel()


def _cell_query(lattice: dict, epsg: int, table: sql.Composable, where: sql.Composable, where_params: list):
    """SQL counting the points passing ``where`` per lattice cell (``col``, ``row``, ``n``), and
    its parameters in order."""
    ox, oy = lattice["origin"]
    dx, dy, hh = lattice["dx"], lattice["dy"], lattice["half_h"]
    points = sql.SQL("SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_Transform(t.geometry, %s::integer) AS p "
                     "FROM {} AS t WHERE {}) AS q").format(table, where)
    params = [epsg, *where_params]
    if lattice["shape"] == "square":
        # the arithmetic of layers.grid.cell_index, operation for operation (IEEE doubles)
        query = sql.SQL("SELECT floor((s.x - %s::float8) / %s::float8)::bigint, "
                        "floor((s.y - %s::float8) / %s::float8)::bigint, count(*) "
                        "FROM ({}) AS s GROUP BY 1, 2").format(points)
        return query, [ox, dx, oy, dy, *params]  # the select list precedes FROM
    # hexagons: the nearest of the eight candidate centres of cell_index (rows r0-1..r0+2, two
    # columns each), in its order, the first one winning ties
    query = sql.SQL("""
        SELECT k.col, k.row, count(*) FROM ({}) AS s
        CROSS JOIN LATERAL (
            SELECT c.col, c.row FROM (
                SELECT m.col, m.row, m.ord, (s.x - m.cx) * (s.x - m.cx) + (s.y - m.cy) * (s.y - m.cy) AS d
                FROM (
                    SELECT w.cc AS col, v.r AS row, v.ord,
                           %s::float8 + (w.cc::float8 + 0.5::float8) * %s::float8
                               + (v.par::float8 * 0.5::float8) * %s::float8 AS cx,
                           %s::float8 + %s::float8 + v.r::float8 * %s::float8 AS cy
                    FROM (
                        SELECT r0.r + o.dr AS r, (((r0.r + o.dr) %% 2) + 2) %% 2 AS par, o.dc, o.ord
                        FROM (SELECT floor((s.y - %s::float8 - %s::float8) / %s::float8)::bigint AS r) AS r0,
                             (VALUES (-1, 0, 0), (-1, 1, 1), (0, 0, 2), (0, 1, 3),
                                     (1, 0, 4), (1, 1, 5), (2, 0, 6), (2, 1, 7)) AS o(dr, dc, ord)
                    ) AS v
                    CROSS JOIN LATERAL (
                        SELECT floor((s.x - %s::float8) / %s::float8 - v.par::float8 * 0.5::float8)::bigint
                               + v.dc AS cc
                    ) AS w
                ) AS m
            ) AS c ORDER BY c.d, c.ord LIMIT 1
        ) AS k GROUP BY 1, 2""").format(points)
    return query, [*params, ox, dx, dx, oy, hh, dy, oy, hh, dy, ox, dx]
