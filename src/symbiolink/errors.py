"""One error family for everything a user can get wrong.

Every problem found in input is an :class:`Issue` with the file, the path inside it
(``streams[3].unit``), what is wrong and what would be accepted. Validation collects all issues of a
file in one pass; a file with any error-level issue raises :class:`ParkFileError` carrying them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a park file.

    Examples
    --------
    >>> str(Issue("park.json", "streams[3].unit", "'kW' is a power", "a mass rate such as t/yr"))
    "park.json: streams[3].unit: 'kW' is a power (accepted: a mass rate such as t/yr)"
    """

    file: str
    path: str
    message: str
    accepted: str = ""
    severity: Severity = "error"
    where: str = ""
    """Where the path sits in a spreadsheet (``sheet streams, row 5``), when the file is one."""

    def __str__(self) -> str:
        head = self.file
        if self.where:
            head += f" ({self.where})"
        text = f"{head}: {self.path}: {self.message}" if self.path else f"{head}: {self.message}"
        if self.accepted:
            text += f" (accepted: {self.accepted})"
        if self.severity == "warning":
            text = "warning: " + text
        return text

    def to_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "file": self.file,
            "path": self.path,
            "where": self.where,
            "message": self.message,
            "accepted": self.accepted,
        }


class SymbiolinkError(Exception):
    """A problem with what the user asked for or gave; the CLI prints it without a traceback."""


@dataclass
class ParkFileError(SymbiolinkError):
    """A park file was rejected; ``issues`` holds every problem found, errors and warnings."""

    issues: Sequence[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def summary(self) -> str:
        errors = self.errors
        if not errors:
            return "no errors"
        first = str(errors[0])
        more = len(errors) - 1
        return first if more == 0 else f"{first} (and {more} more error{'s' if more > 1 else ''})"

    def __str__(self) -> str:
        return self.summary()

    @classmethod
    def collect(cls, issues: Iterable[Issue]) -> ParkFileError:
        return cls(list(issues))


def load_yaml_file(path: str | os.PathLike[str]) -> Any:
    """A user's YAML file (a policy, a grid, evidence, facilities), or one line saying why not."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise SymbiolinkError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise SymbiolinkError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except yaml.YAMLError as exc:
        raise SymbiolinkError(f"{path}: not valid YAML ({exc})") from None
