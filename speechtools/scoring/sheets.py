"""Reading listening-test sheets (CSV or TSV with a header row), with configurable column names."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines


@dataclass
class SheetRow:
    """One data row: the sheet it came from, its 1-based line and the values of the wanted columns."""

    sheet: str
    line: int
    values: Dict[str, str]

    def where(self) -> str:
        """``sheet:line``."""
        return f"{self.sheet}:{self.line}"


def parse_columns(specs: Sequence[str], defaults: Sequence[str]) -> Dict[str, str]:
    """``("system=sys,score=rating", "listener=worker")`` → ``{role: header}`` over ``defaults``.

    Raises:
        UserError: an entry without ``=`` or naming an unknown role.
    """
    mapping = {role: role for role in defaults}
    for spec in specs:
        for item in spec.split(","):
            if not item.strip():
                continue
            role, sep, header = item.partition("=")
            role, header = role.strip(), header.strip()
            if not sep or not header:
                raise UserError(f"--columns entry {item!r} is not ROLE=HEADER")
            if role not in mapping:
                raise UserError(f"--columns: unknown column role {role!r} (expected one of {', '.join(defaults)})")
            mapping[role] = header
    return mapping


def read_sheet(path: PathLike, columns: Mapping[str, str], optional: Sequence[str] = ()) -> List[SheetRow]:
    """Read a CSV/TSV sheet; each row maps roles (keys of ``columns``) to the cell of its header.

    The delimiter is a tab for ``.tsv`` files or when the header holds a tab, else a comma.
    Roles listed in ``optional`` may be absent from the header (their value is then ``""``).

    Raises:
        UserError: missing file or column, or a row with the wrong number of cells (sheet and line).
    """
    lines = read_lines(path)
    if not lines:
        raise UserError("empty sheet (expected a header row)", path)
    header_line = lines[0][1]
    delimiter = "\t" if Path(path).suffix.lower() == ".tsv" or "\t" in header_line else ","
    header = [h.strip() for h in _cells(header_line, delimiter, path, lines[0][0])]
    index: Dict[str, int] = {}
    for role, name in columns.items():
        if name in header:
            index[role] = header.index(name)
        elif role not in optional:
            raise UserError(f"missing column {name!r} for {role} (header has: {', '.join(header)})", path, lines[0][0])
    rows: List[SheetRow] = []
    for number, text in lines[1:]:
        if not text.strip():
            continue
        cells = _cells(text, delimiter, path, number)
        if len(cells) != len(header):
            raise UserError(f"expected {len(header)} cells like the header, found {len(cells)}", path, number)
        rows.append(SheetRow(str(path), number, {role: cells[i].strip() for role, i in index.items()}))
    return rows


def _cells(text: str, delimiter: str, path: PathLike, number: int) -> List[str]:
    """The cells of one sheet row; a row the csv module cannot read (a cell over its field limit) is a user error."""
    try:
        return next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise UserError(f"not a {'TSV' if delimiter == chr(9) else 'CSV'} row ({exc})", path, number) from None


def read_sheets(paths: Sequence[PathLike], columns: Mapping[str, str], optional: Sequence[str] = ()) -> List[SheetRow]:
    """Rows of several sheets, concatenated in order."""
    rows: List[SheetRow] = []
    for path in paths:
        rows.extend(read_sheet(path, columns, optional))
    return rows


def require_nonempty(row: SheetRow, roles: Sequence[str]) -> Tuple[str, ...]:
    """The row's values for ``roles``; an empty cell is a :class:`UserError` naming sheet and line."""
    out = []
    for role in roles:
        value = row.values.get(role, "")
        if not value:
            raise UserError(f"empty {role} cell", row.sheet, row.line)
        out.append(value)
    return tuple(out)
