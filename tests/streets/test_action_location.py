"""An action's own location: checked ("lon,lat" or a GeoJSON Point, within 500 m of its place),
stored on both app-database backends (older databases get the column when opened), and drawn
on the maps at that point instead of its place."""

from __future__ import annotations

import sqlite3

import pytest
import shapely
from shapely.geometry import mapping

from geo_app.db import AppDB
from layers.errors import ParameterError
from layers.places import action_record, check_location

PASSWORD = "demo-password"
SQUARE = {"type": "Polygon", "coordinates": [[[3.87, 43.61], [3.88, 43.61], [3.88, 43.62], [3.87, 43.61]]]}


@pytest.mark.parametrize("value, want", [
    ("3.8777,43.6085", [3.8777, 43.6085]),
    (" 3.8777 , 43.6085 ", [3.8777, 43.6085]),
    ({"type": "Point", "coordinates": [3.8777, 43.6085]}, [3.8777, 43.6085]),
    ('{"type": "Point", "coordinates": [3.8777, 43.6085]}', [3.8777, 43.6085]),
])
def test_check_location_reads_points(value, want):
    assert check_location(value) == {"type": "Point", "coordinates": want}


@pytest.mark.parametrize("value", ["here", "3.8", "3.8,43.6,1", "200,43.6", "3.8,nan",
                                   {"type": "Polygon", "coordinates": []}, '{"type": "Point"', [3.8, 43.6]])
def test_check_location_names_the_field(value):
    with pytest.raises(ParameterError) as e:
        check_location(value)
    assert e.value.param == "location"


def test_action_record_defaults_to_no_location():
    assert action_record(kind="cctv", start_date="2025-03-01")["location"] is None
    assert action_record(kind="cctv", start_date="2025-03-01", location="")["location"] is None


def test_location_stored_on_both_backends(db):
    p = db.add_place(name="Rue de la Loge", geometry=SQUARE, source="drawn", created_by="coord")["place_id"]
    pt = {"type": "Point", "coordinates": [3.875, 43.615]}
    a = db.add_action(p, kind="cctv", technique="formal_surveillance", start_date="2025-01-01", created_by="c",
                      location=pt)
    b = db.add_action(p, kind="lighting", technique="natural_surveillance", start_date="2025-01-01", created_by="c")
    assert a["location"] == pt and b["location"] is None
    assert [x["location"] for x in db.actions(p)] == [pt, None]


def test_an_older_sqlite_database_gets_the_column(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, place_id TEXT NOT NULL, kind TEXT NOT NULL,
            technique TEXT NOT NULL, start_date TEXT NOT NULL, end_date TEXT, partner TEXT NOT NULL DEFAULT '',
            cost REAL, status TEXT NOT NULL, categories TEXT NOT NULL DEFAULT '[]',
            night_only INTEGER NOT NULL DEFAULT 0, notes TEXT NOT NULL DEFAULT '', created TEXT NOT NULL,
            created_by TEXT NOT NULL);
        INSERT INTO actions (place_id, kind, technique, start_date, status, created, created_by)
            VALUES ('PL-0001', 'cctv', 'formal_surveillance', '2024-01-01', 'done', '2024-01-01', 'old');
    """)
    con.commit()
    con.close()
    db = AppDB(path)
    assert db.actions()[0]["location"] is None  # the old row is read, the column added
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(actions)")]
    assert "location" in cols


# -- through the web, on the demo city ------------------------------------------------------


@pytest.fixture(scope="module")
def app(demo_app):
    return demo_app


def login(app, role):
    c = app.test_client()
    assert c.post("/login", data={"username": role, "password": PASSWORD}).status_code == 302
    return c


@pytest.mark.slow
def test_web_action_at_its_own_location(app):
    c = login(app, "coordinator")
    square = shapely.box(3.8790, 43.6080, 3.8810, 43.6095)
    pid = c.post("/api/places", json={"source": "drawn", "geometry": mapping(square)}).get_json()["properties"]["place_id"]
    # 100 m east of the place: accepted (form field "lon,lat")
    assert c.post(f"/places/{pid}/actions", data={"kind": "cctv", "start_date": "2025-04-01",
                                                   "location": "3.88224,43.60875"}).status_code == 302
    acts = c.get(f"/api/places/{pid}/actions").get_json()
    assert acts[-1]["location"] == {"type": "Point", "coordinates": [3.88224, 43.60875]}
    # drawn at that point on the dashboard and the place's map
    assert "3.88224,43.60875" in c.get("/").get_data(as_text=True)
    assert "3.88224,43.60875" in c.get(f"/places/{pid}").get_data(as_text=True)
    # bad or far locations: 400 naming the field, nothing stored
    for bad in ("3.88224", "east of the square", "3.95,43.65"):
        r = c.post(f"/api/places/{pid}/actions", json={"kind": "cctv", "start_date": "2025-04-01", "location": bad})
        assert r.status_code == 400 and "location" in r.get_data(as_text=True)
    r = c.post(f"/places/{pid}/actions", data={"kind": "cctv", "start_date": "2025-04-01", "location": "3.95,43.65"})
    assert r.status_code == 400
    assert len(c.get(f"/api/places/{pid}/actions").get_json()) == 1
