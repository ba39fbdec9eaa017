"""The project's exceptions and warnings, in one place.

Every layer of Vigie raises these; the web service maps them to HTTP answers in one handler
(``InputError`` and ``ParameterError`` -> 400, ``NotFound`` -> 404, ``Forbidden`` -> 403) and
the CLI maps them to exit codes (input rejected -> 1, usage -> 2). Messages are written for a
coordinator: they say what is wrong, where (row, field, parameter), and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "VigieError",
    "InputError",
    "ParameterError",
    "NotFound",
    "Forbidden",
    "StoreError",
    "RowProblem",
    "VigieWarning",
]


class VigieWarning(UserWarning):
    """A warning the user should see (large grid, automatic choice, repaired geometry)."""


class VigieError(Exception):
    """Base class of every error Vigie raises on purpose."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message}


@dataclass(frozen=True)
class RowProblem:
    """One problem found in one row of an input file.

    ``row`` is the 1-based data row number as a user sees it in a spreadsheet (header excluded),
    or ``None`` for a problem about the whole file; ``field`` names the column concerned.
    """

    row: int | None
    field: str | None
    message: str
    severity: str = "error"  # "error" rejects the row; "warning" keeps it (e.g. repaired polygon)

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputError(VigieError):
    """Bad input data: a file, a form or an API body. Carries row-level problems if any."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])

    def to_dict(self) -> dict:
        d = super().to_dict()
        if self.problems:
            d["problems"] = [
                {"row": p.row, "field": p.field, "message": p.message, "severity": p.severity}
                for p in self.problems[:200]
            ]
            d["problem_count"] = len(self.problems)
        return d


class ParameterError(VigieError):
    """A bad option or query parameter; ``param`` names it."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param

    def to_dict(self) -> dict:
        d = super().to_dict()
        if self.param:
            d["param"] = self.param
        return d


class NotFound(VigieError):
    """A batch, layer, hotspot or page that does not exist."""

    status = 404


class Forbidden(VigieError):
    """The user's role may not see or do this."""

    status = 403


class Busy(VigieError):
    """Too many heavy analyses are running: try again in ``retry_after`` seconds."""

    status = 503

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = int(retry_after)


class StoreError(VigieError):
    """The store cannot be opened or written (wrong path, unsupported URL, locked file)."""

    status = 500
