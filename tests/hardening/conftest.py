"""Fixtures of the hardening tests: a small demo city (2,000 simulated incidents over the real
Montpellier layers of ``data/``), built once per run, and private copies of it.

The small city keeps every page and analysis fast, so that the sweeps can send hundreds of bad
requests and commands in well under a minute.
"""

from __future__ import annotations

import pytest

PASSWORD = "demo-password"


@pytest.fixture(scope="session")
def small_demo_path(tmp_path_factory):
    """A demo deployment with 2,000 incidents and the five demo accounts (read-only template)."""
    from geo_app.demo import build_demo

    path = tmp_path_factory.mktemp("hardening") / "small-demo"
    build_demo(path, password=PASSWORD, n=2000)
    return path


@pytest.fixture(scope="module")
def small_demo(small_demo_path, tmp_path_factory, copy_deployment):
    """A private copy of the small demo for one test module (it may write to it)."""
    from geo_app.config import Home

    path = tmp_path_factory.mktemp("hardening-copy") / "home"
    copy_deployment(small_demo_path, path)
    return Home(path)
