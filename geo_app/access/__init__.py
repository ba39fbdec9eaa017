"""Who may see what: the role table (``policy``) and the ``Viewer`` that applies it.

``geo_app.access.policy`` is DESIGN.md §8 as data and pure functions; ``Viewer(workspace,
account)`` (``geo_app.access.viewer``) composes those rules over a workspace for pages, API,
exports and the report. Neither imports Flask. Every public name of ``policy`` is available
here too (``access.check``, ``access.Scope``…).
"""

from geo_app.access import policy
from geo_app.access.policy import *  # the role table's public names
from geo_app.access.viewer import EXPORTS, Viewer
from layers.errors import Forbidden

__all__ = [*policy.__all__, "EXPORTS", "Forbidden", "Viewer"]  # noqa: PLE0604
