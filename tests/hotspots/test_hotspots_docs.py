"""The docstring examples run (numbers in the docs cannot drift) and every public function
documents its references."""

import doctest
import importlib
import pkgutil

import pytest

import layers.grid
import layers.hotspots

# the modules themselves: ``layers.hotspots.gistar`` is the function, not its module
HOTSPOT_MODULES = [
    importlib.import_module(f"layers.hotspots.{m.name}")
    for m in pkgutil.iter_modules(layers.hotspots.__path__)
]


@pytest.mark.parametrize("module", [layers.grid, *HOTSPOT_MODULES], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_docstring_examples_exist():
    """The worked examples (the grid's, esda's G_Local and the 11 x 11 grid of Gi*) still run."""
    gistar = importlib.import_module("layers.hotspots.gistar")
    assert doctest.testmod(layers.grid).attempted > 0
    assert doctest.testmod(gistar).attempted > 0


@pytest.mark.parametrize("name", layers.hotspots.__all__)
def test_public_functions_have_references_and_units(name):
    doc = getattr(layers.hotspots, name).__doc__
    assert doc and "References" in doc, name
