"""The admin import page (``geo_app.views.imports``) through the Flask test client.

Each test builds a small deployment (two ZAC boxes near Montpellier, the five demo accounts)
in ``tmp_path``; uploads are a real file of ``tests/data`` (Montpellier's 7 quartiers,
GeoJSON) and small CSVs written here, whose good and bad rows are known by heart.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

PASSWORD = "imports-password"
QUARTIERS = Path(__file__).parents[1] / "data" / "montpellier" / "VilleMTP_MTP_Quartiers.geojson"

#: three incidents, all valid (WGS84, Montpellier centre)
GOOD_CSV = (
    "category,date,lon,lat,description\n"
    "theft,2024-03-01 10:00,3.8767,43.6108,vol a l'arrachee\n"
    "burglary,2024-03-02 23:30,3.8800,43.6090,cambriolage\n"
    "nuisance,2024-03-03 02:15,3.8700,43.6050,tapage\n"
)
#: row 2 has a date that is not one: the file is refused, or stored without row 2 when skipping
BAD_CSV = (
    "category,date,lon,lat\n"
    "theft,2024-03-01 10:00,3.8767,43.6108\n"
    "burglary,le 2 mars,3.8800,43.6090\n"
    "nuisance,2024-03-03 02:15,3.8700,43.6050\n"
)


@pytest.fixture(scope="module")
def city_template(tmp_path_factory):
    """A deployment with two ZACs (one batch) and one account per role, built once."""
    from geo_app.accounts import create_demo_accounts
    from geo_app.config import Home, write_config
    from geo_app.imports import import_frame

    path = tmp_path_factory.mktemp("imports-web") / "home"
    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris"})
    home = Home(path)
    zacs = gpd.GeoDataFrame({"name": ["Alpha", "Beta"], "manager": ["SA3M", "SERM"]},
                            geometry=[box(3.87, 43.60, 3.88, 43.61), box(3.89, 43.60, 3.90, 43.61)], crs=4326)
    import_frame(home, "zac", zacs, file_name="zacs.geojson", user="setup")
    create_demo_accounts(home, PASSWORD)
    return path


@pytest.fixture
def city(city_template, tmp_path):
    """A private copy of the template deployment (tests write to it)."""
    from geo_app.config import Home

    shutil.copytree(city_template, tmp_path / "home")
    return Home(tmp_path / "home")


def make_app(home, **extra):
    from geo_app import create_app

    cfg = {"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "test", "TILE_URL": "",
           "WTF_CSRF_ENABLED": False}
    cfg.update(extra)
    return create_app(cfg)


def login(app, name="admin"):
    client = app.test_client()
    r = client.post("/login", data={"username": name, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


@pytest.fixture
def app(city):
    return make_app(city)


@pytest.fixture
def admin(app):
    return login(app)


def upload(client, content, name, **fields):
    data = {"kind": "incidents", **fields}
    if content is not None:
        data["file"] = (io.BytesIO(content.encode() if isinstance(content, str) else content), name)
    return client.post("/admin/imports", data=data, content_type="multipart/form-data")


def text(r) -> str:
    return r.get_data(as_text=True)


# ------------------------------------------------------------------------------------------
# Uploads that store


def test_upload_csv_stores_a_batch_with_the_admin_name(admin, city):
    before = city.store.count("incidents")
    r = upload(admin, GOOD_CSV, "faits mars.csv")
    assert r.status_code == 200, text(r)[:2000]
    assert city.store.count("incidents") == before + 3
    batch = city.store.batches("incidents")[-1]
    assert (batch.user, batch.file_name, batch.n_stored, batch.n_rejected) == ("admin", "faits_mars.csv", 3, 0)
    page = text(r)
    assert 'id="n-stored">3<' in page and 'id="n-read">3<' in page
    assert batch.id in page and f'id="batch-{batch.id}" class="table-success"' in page
    # the column mapping detected by the pipeline is shown
    assert re.search(r"<code>occurred_from</code></td><td>date</td>", page)
    # the list of batches, on a later visit, names the admin
    listing = text(admin.get("/admin/imports"))
    row = re.search(rf'<tr id="batch-{batch.id}">(.*?)</tr>', listing, re.DOTALL).group(1)
    assert '<td class="batch-user">admin</td>' in row and batch.checksum[:12] in row
    # the temporary upload is gone
    assert not any((city.path / "uploads").iterdir())
    # the service sees the new store version at once (its caches are keyed by version)
    feats = admin.get("/api/layers/incidents").json["features"]
    assert sorted(f["properties"]["category"] for f in feats) == ["burglary", "nuisance", "theft"]


def test_upload_real_geojson(admin, city):
    r = upload(admin, QUARTIERS.read_bytes(), QUARTIERS.name, kind="areas",
               mapping="name=LIBQUART\n\ncode=QUARTMNO\n", constants="level=quartier")
    assert r.status_code == 200, text(r)[:3000]
    src = gpd.read_file(QUARTIERS)
    stored = city.store.read("areas")
    assert len(stored) == len(src) == 7
    assert sorted(stored["name"]) == sorted(src["LIBQUART"])
    assert set(stored["level"]) == {"quartier"}
    assert city.store.batches("areas")[-1].file_name == QUARTIERS.name


def test_dry_run_stores_nothing(admin, city):
    version = city.store.version
    r = upload(admin, GOOD_CSV, "faits.csv", dry_run="1")
    assert r.status_code == 200
    assert 'id="n-valid">3<' in text(r) and 'id="n-stored">0<' in text(r)
    assert city.store.version == version and city.store.count("incidents") == 0


def test_dry_run_reports_bad_rows_and_stores_nothing(admin, city):
    version = city.store.version
    r = upload(admin, BAD_CSV, "faits.csv", dry_run="1")
    assert r.status_code == 200
    page = text(r)
    assert 'id="n-valid">2<' in page and 'id="n-rejected">1<' in page
    assert re.search(r"<td>2</td>\s*<td>occurred_from</td>", page)
    assert city.store.version == version


def test_skip_invalid_stores_the_valid_rows(admin, city):
    r = upload(admin, BAD_CSV, "faits.csv", skip_invalid="1")
    assert r.status_code == 200, text(r)[:2000]
    assert city.store.count("incidents") == 2
    batch = city.store.batches("incidents")[-1]
    assert (batch.n_read, batch.n_stored, batch.n_rejected) == (3, 2, 1)
    page = text(r)
    # the report keeps the rejected row, with its row number and field
    assert re.search(r"<td>2</td>\s*<td>occurred_from</td>", page), page[page.find("import-problems"):][:1500]


SAME_CSV = (
    "category,date,lon,lat\n"
    "theft,2024-03-01 10:00,3.8767,43.6108\n"
    "burglary,2024-03-02 23:30,3.8800,43.6090\n"
    "theft,2024-03-01 10:00,3.8767,43.6108\n"
)


def test_identical_rows_kept_and_reported(admin, city):
    r = upload(admin, SAME_CSV, "faits.csv")
    assert r.status_code == 200, text(r)[:2000]
    assert city.store.count("incidents") == 3
    page = text(r)
    assert "rows 1 and 3 are identical: kept as two incidents" in page
    assert "« supprimer les lignes identiques »" in page and "--drop-duplicates" not in page


def test_drop_duplicates_checkbox(admin, city):
    assert 'name="drop_duplicates"' in text(admin.get("/admin/imports"))
    r = upload(admin, SAME_CSV, "faits.csv", drop_duplicates="1")
    assert r.status_code == 200, text(r)[:2000]
    assert city.store.count("incidents") == 2
    assert "1 row(s) identical to an earlier row in every field were dropped" in text(r)


# ------------------------------------------------------------------------------------------
# Rejected uploads: 400, the row and field named, the store unchanged


def test_bad_row_is_refused_naming_row_and_field(admin, city):
    version = city.store.version
    r = upload(admin, BAD_CSV, "faits.csv")
    assert r.status_code == 400
    page = text(r)
    assert re.search(r"<td>2</td>\s*<td>occurred_from</td>", page)
    assert "le 2 mars" in page and "nothing was stored" in page
    # the messages name the form's fields, not the command line's options
    assert "pass date_format for other layouts" in page and "--date-format" not in page
    assert "(« ignorer les lignes invalides »)" in page and "--skip-invalid" not in page
    assert city.store.version == version and city.store.count("incidents") == 0


@pytest.mark.parametrize("fields, content, name, param", [
    ({}, None, None, "file"),
    ({"kind": "volcanoes"}, GOOD_CSV, "faits.csv", "kind"),
    ({"crs": "EPSG:99999"}, GOOD_CSV, "faits.csv", "crs"),
    ({"crs": "banana"}, GOOD_CSV, "faits.csv", "crs"),
    ({"mapping": "occurred_from"}, GOOD_CSV, "faits.csv", "mapping"),
    ({"mapping": "nofield=date"}, GOOD_CSV, "faits.csv", "mapping"),
    ({"mapping": "category=nocolumn"}, GOOD_CSV, "faits.csv", "mapping"),
    ({"labels": "/etc/passwd"}, GOOD_CSV, "faits.csv", "labels"),
    ({"constants": "source"}, GOOD_CSV, "faits.csv", "constants"),
    ({"constants": "colour=red"}, GOOD_CSV, "faits.csv", "constants"),
    ({"constants": "simulated=perhaps"}, GOOD_CSV, "faits.csv", "constants"),
    ({"date_format": "%Q"}, GOOD_CSV, "faits.csv", "date_format"),
    ({"dry_run": "maybe"}, GOOD_CSV, "faits.csv", "dry_run"),
    ({}, GOOD_CSV, "../../", "file"),
    ({}, "", "empty.csv", "file"),
    ({}, b"\x00\x01\x02garbage", "faits.csv", "file"),
])
def test_bad_form_fields_answer_400_naming_the_field(admin, city, fields, content, name, param):
    version = city.store.version
    r = upload(admin, content, name, **fields)
    page = text(r)
    assert r.status_code == 400, page[:1500]
    alert = re.search(r'id="import-error">(.*?)</div>', page, re.DOTALL).group(1)
    assert f"<strong>{param}</strong>" in alert, alert
    assert "Traceback" not in page
    assert city.store.version == version


def test_upload_over_the_size_limit_is_413_with_a_message(city):
    app = make_app(city, MAX_CONTENT_LENGTH=2000)
    client = login(app)
    r = upload(client, GOOD_CSV * 40, "big.csv")
    assert r.status_code == 413
    assert "larger than the upload limit of 2000 bytes" in text(r)
    assert city.store.count("incidents") == 0


def test_oversized_text_field_is_413_naming_the_form_field(admin, city):
    r = upload(admin, GOOD_CSV, "faits.csv", mapping="category=category\n" * 40_000)  # 720 kB
    assert r.status_code == 413
    assert "longer than 500000 bytes" in text(r) and "upload limit" not in text(r)
    assert city.store.count("incidents") == 0


def test_default_upload_limit_is_200_mb(app, admin):
    assert app.config["MAX_CONTENT_LENGTH"] == 200 * 1024 * 1024
    assert "KML ; 200 Mo au plus" in text(admin.get("/admin/imports"))


# ------------------------------------------------------------------------------------------
# Rollback, roles, CSRF, audit


def test_rollback_removes_the_batch_and_unknown_is_404(admin, city):
    assert upload(admin, GOOD_CSV, "faits.csv").status_code == 200
    batch = city.store.batches("incidents")[-1]
    r = admin.post(f"/admin/imports/{batch.id}/rollback")
    assert r.status_code == 302
    assert city.store.count("incidents") == 0
    assert batch.id not in [b.id for b in city.store.batches()]
    assert batch.id in text(admin.get("/admin/imports"))  # the flash message names it
    version = city.store.version
    assert admin.post(f"/admin/imports/{batch.id}/rollback").status_code == 404
    assert admin.post("/admin/imports/nope/rollback").status_code == 404
    assert admin.get(f"/admin/imports/{batch.id}/rollback").status_code == 405
    assert city.store.version == version


def test_import_and_rollback_are_in_the_audit_log(admin, app, city):
    from geo_app.auth import get_db

    assert upload(admin, GOOD_CSV, "faits.csv").status_code == 200
    batch = city.store.batches("incidents")[-1]
    admin.post(f"/admin/imports/{batch.id}/rollback")
    log = get_db(app).audit_log()
    imports = [a for a in log if a["action"] == "import" and a["target"] == batch.id]
    rollbacks = [a for a in log if a["action"] == "rollback" and a["target"] == batch.id]
    assert len(imports) == 1 and len(rollbacks) == 1
    assert imports[0]["user"] == "admin" and rollbacks[0]["user"] == "admin"


@pytest.mark.parametrize("role", ["coordinator", "police", "zac_manager", "planner"])
def test_other_roles_get_403(app, city, role):
    client = login(app, role)
    version = city.store.version
    assert client.get("/admin/imports").status_code == 403
    assert upload(client, GOOD_CSV, "faits.csv").status_code == 403
    assert client.post("/admin/imports/test/rollback").status_code == 403
    assert city.store.version == version
    assert 'id="nav-imports"' not in text(client.get("/"))


def test_admin_sees_the_nav_link(admin):
    page = text(admin.get("/admin/imports"))
    assert 'id="nav-imports"' in page and 'id="import-form"' in page


def test_anonymous_is_sent_to_login(app):
    r = app.test_client().get("/admin/imports")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_missing_csrf_token_is_400(city):
    app = make_app(city, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/login"))).group(1)
    assert client.post("/login", data={"username": "admin", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    version = city.store.version
    r = upload(client, GOOD_CSV, "faits.csv")
    assert r.status_code == 400 and "csrf" in text(r).lower()
    assert city.store.version == version and city.store.count("incidents") == 0
    # with the page's token the same upload goes through
    page = text(client.get("/admin/imports"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert upload(client, GOOD_CSV, "faits.csv", csrf_token=token).status_code == 200
    assert city.store.count("incidents") == 3


def test_route_permissions_are_import():
    from geo_app.access import PERMISSIONS, permission_for_endpoint

    for endpoint in ("imports.index", "imports.upload", "imports.rollback"):
        assert permission_for_endpoint(endpoint) == "import"
    assert [r for r, s in PERMISSIONS["import"].items() if s.value != "none"] == ["admin"]


def test_parse_mapping():
    from geo_app.views.imports import parse_mapping
    from layers.errors import ParameterError

    assert parse_mapping("a=b\n\n c = d e \r\n") == {"a": "b", "c": "d e"}
    with pytest.raises(ParameterError, match="line 2"):
        parse_mapping("a=b\n=x")
    with pytest.raises(ParameterError, match="constants, line 1: write FIELD=VALUE") as e:
        parse_mapping("level", param="constants", example="level=quartier")
    assert e.value.param == "constants"


def test_page_in_english(admin):
    page = text(admin.get("/admin/imports?lang=en"))
    assert "Imported batches" in page and "Dry run (read and check, store nothing)" in page
    assert "Lots importés" not in page


def test_report_shows_the_first_50_problems(admin, city):
    rows = "".join(f"theft,pas une date {i},3.8767,43.6108\n" for i in range(60))
    r = upload(admin, "category,date,lon,lat\ntheft,2024-03-01 10:00,3.8767,43.6108\n" + rows, "faits.csv")
    assert r.status_code == 400
    page = text(r)
    assert "Problèmes (60)" in page and "les 50 premiers" in page
    shown = re.findall(r'<tr class="table-danger"><td>(\d+)</td>', page)
    assert shown == [str(i) for i in range(2, 52)]  # data rows 2..51 (row 1 is the good one)
    assert city.store.count("incidents") == 0


def test_a_zip_declaring_millions_of_records_is_refused_and_stores_nothing(admin, city):
    import struct
    import zipfile

    shp = struct.pack(">7i", 9994, 0, 0, 0, 0, 0, 50) + struct.pack("<2i4d4d", 1000, 1, 3.8, 43.5, 3.9, 43.7, 0, 0, 0, 0)
    field = b"NAME".ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([10, 0]) + b"\0" * 14
    dbf = struct.pack("<B3BIHH20x", 3, 124, 1, 1, 12_000_000, 65, 11) + field + b"\r"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (("b.shp", shp), ("b.shx", shp), ("b.dbf", dbf), ("b.prj", b'GEOGCS["WGS 84"]')):
            zf.writestr(name, data)
    version = city.store.version
    r = upload(admin, buf.getvalue(), "bomb.zip")
    assert r.status_code == 400
    page = text(r)
    assert "12,000,000 records" in page and "feature count" in page
    assert str(city.path) not in page and "/tmp" not in page
    assert city.store.version == version


# ------------------------------------------------------------------------------------------
# The import's child process: memory cap, upload folders


def _big_csv(rows: int) -> bytes:
    row = "theft,2024-03-01 10:00,3.8767,43.6108,vol a l'arrachee en centre ville pres du tram\n"
    return ("category,date,lon,lat,description\n" + row * rows).encode()


def test_an_import_over_the_memory_limit_is_413_naming_file_and_the_limit(city):
    app = make_app(city, IMPORT_MEMORY_MB=300)
    admin = login(app)
    version, batches = city.store.version, len(city.store.batches())
    r = upload(admin, _big_csv(600_000), "gros.csv")  # 50 MB that need well over 300 MB to import
    assert r.status_code == 413, text(r)[:2000]
    page = text(r)
    assert "300 MB" in page and "import_memory_mb" in page and "<strong>file</strong>" in page
    assert str(city.path) not in page and "/tmp" not in page
    from geo_app.config import Home

    assert city.store.version == version and len(Home(city.path).store.batches()) == batches
    assert list((city.path / "uploads").iterdir()) == []
    # the same limit lets a normal file in, with its report
    r = upload(admin, GOOD_CSV, "faits.csv")
    assert r.status_code == 200, text(r)[:2000]
    assert 'id="n-stored">3<' in text(r)
    assert Home(city.path).store.count("incidents") == 3
    assert list((city.path / "uploads").iterdir()) == []


def test_the_import_runs_in_a_child_process(admin, city, monkeypatch):
    import geo_app.imports

    def in_this_process(*args, **kwargs):  # the web process must not import the file itself
        raise AssertionError("import_file ran in the web process")

    monkeypatch.setattr(geo_app.imports, "import_file", in_this_process)
    r = upload(admin, GOOD_CSV, "faits.csv")
    assert r.status_code == 200, text(r)[:2000]
    batch = city.store.batches("incidents")[-1]
    assert batch.n_stored == 3


def test_rejected_rows_come_back_from_the_child_with_row_and_field(admin, city):
    r = upload(admin, BAD_CSV, "faits.csv")
    assert r.status_code == 400
    page = text(r)
    assert re.search(r'<tr class="table-danger"><td>2</td>\s*<td>occurred_from</td>', page), page[:3000]
    assert city.store.count("incidents") == 0
    assert list((city.path / "uploads").iterdir()) == []


def test_a_stale_upload_folder_is_removed_by_the_next_upload(admin, city):
    import fcntl
    import os
    import time

    from geo_app.views.imports import STALE_UPLOAD_SECONDS

    uploads = city.path / "uploads"
    # left by a killed server; just made; old but its import still holds the lock
    stale, fresh, running = uploads / "import-k1ll3d", uploads / "import-fresh", uploads / "import-running"
    for folder in (stale, fresh, running):
        folder.mkdir(parents=True)
        (folder / "faits.csv").write_text(GOOD_CSV)
        (folder / ".lock").touch()
    old = time.time() - STALE_UPLOAD_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(running, (old, old))
    with open(running / ".lock", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        r = upload(admin, GOOD_CSV, "faits.csv")
    assert r.status_code == 200, text(r)[:2000]
    assert sorted(p.name for p in uploads.iterdir()) == ["import-fresh", "import-running"]


def test_a_killed_import_leaves_no_folder_and_the_store_unchanged(admin, city, monkeypatch):
    import signal

    from geo_app import import_worker

    real_run = import_worker.subprocess.run

    def killed(cmd, **kwargs):  # the child is really started, and killed by a signal mid-import
        import subprocess

        proc = subprocess.Popen(cmd, env=kwargs.get("env"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        proc.send_signal(signal.SIGKILL)
        _out, err = proc.communicate()
        return subprocess.CompletedProcess(cmd, proc.returncode, b"", err)

    version = city.store.version
    monkeypatch.setattr(import_worker.subprocess, "run", killed)
    r = upload(admin, GOOD_CSV, "faits.csv")
    monkeypatch.setattr(import_worker.subprocess, "run", real_run)
    assert r.status_code == 413, text(r)[:2000]
    assert "import_memory_mb" in text(r)
    assert city.store.version == version
    assert list((city.path / "uploads").iterdir()) == []


# ------------------------------------------------------------------------------------------
# Read limits as deployment settings ([vigie] max_features, max_uncompressed_mb, max_vertices)


def _lowered(city, **limits):
    """The deployment's config.toml with lowered read limits (the child import reads it)."""
    from geo_app.config import write_config

    write_config(city.path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris", **limits})
    return make_app(city)


def test_a_lowered_feature_limit_refuses_an_upload_naming_the_setting_and_the_limit(city):
    admin = login(_lowered(city, max_features=2))
    version = city.store.version
    r = upload(admin, GOOD_CSV, "faits.csv")  # three incidents
    assert r.status_code == 400, text(r)[:2000]
    page = text(r)
    assert "3 features, more than the 2 allowed" in page and "max_features" in page
    assert str(city.path) not in page
    from geo_app.config import Home

    assert Home(city.path).store.version == version and Home(city.path).store.count("incidents") == 0
    assert list((city.path / "uploads").iterdir()) == []


def test_a_lowered_uncompressed_limit_refuses_a_zip_by_its_directory(city):
    import zipfile

    admin = login(_lowered(city, max_uncompressed_mb=0.5))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("faits.csv", GOOD_CSV + "theft,2024-03-01 10:00,3.8767,43.6108,x\n" * 20_000)  # ~0.8 MB
    version = city.store.version
    r = upload(admin, buf.getvalue(), "faits.zip")
    assert r.status_code == 400, text(r)[:2000]
    page = text(r)
    assert "0.5 MB allowed" in page and "max_uncompressed_mb" in page
    from geo_app.config import Home

    assert Home(city.path).store.version == version


def test_a_bad_limit_in_the_configuration_is_named(city):
    from geo_app.config import Home, write_config

    write_config(city.path / "config.toml", {"analysis_crs": 2154, "max_vertices": "many"})
    from layers.errors import ParameterError

    with pytest.raises(ParameterError, match="max_vertices"):
        Home(city.path).settings
