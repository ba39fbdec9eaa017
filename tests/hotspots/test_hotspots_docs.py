"""The docstring examples run (numbers in the docs cannot drift) and every public function
documents its references."""

import doctest

import pytest

import layers.grid
import layers.hotspots


@pytest.mark.parametrize("module", [layers.grid, layers.hotspots])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", layers.hotspots.__all__)
def test_public_functions_have_references_and_units(name):
    doc = getattr(layers.hotspots, name).__doc__
    assert doc and "References" in doc, name
