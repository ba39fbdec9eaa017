"""Vigie's web service: a thin Flask shell over the ``layers`` library."""
