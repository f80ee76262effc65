"""Jupyter notebooks: the code cells, in order, as Python source (nbformat, imported only when a notebook
is met). IPython magics (`%line`, `%%cell`) and shell lines (`!cmd`, `x = !cmd`) are blanked, so that line
numbers stay those of the cell; a cell magic other than %%time / %%timeit / %%capture makes the whole
cell something other than Python (e.g. %%writefile, %%bash), and it is left out."""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

from r1policy.core import jsonsafe
from r1policy.core.errors import InputError, Position

_PYTHON_CELL_MAGICS = {"%%time", "%%timeit", "%%capture"}
_MAGIC_LINE = re.compile(r"^\s*(?:[%!]|[\w.,\s]+=\s*[%!])|^\s*\w[\w.]*\?{1,2}\s*$")


def code_cells(path: str, text: str) -> list[tuple[int, str]]:
    """(cell number, 1-based counting every cell; Python source) of each code cell."""
    try:
        data: Any = jsonsafe.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            Position(path, exc.lineno, exc.colno), f"not a Jupyter notebook: invalid JSON: {exc.msg}"
        ) from None
    if not isinstance(data, dict) or "cells" not in data:
        raise InputError(Position(path, 1, 1), "not a Jupyter notebook: no `cells`")
    import nbformat  # lazy: only when a notebook is checked

    try:
        # nbformat warns on stderr about cells without ids (valid before nbformat 4.5): not ours to print.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = nbformat.reader.reads(text)  # type: ignore[no-untyped-call]
            notebook = nbformat.convert(notebook, 4)  # type: ignore[no-untyped-call]
            nbformat.validate(notebook)
    except (nbformat.reader.NotJSONError, nbformat.ValidationError) as exc:
        message = getattr(exc, "message", None) or str(exc).splitlines()[0]
        raise InputError(Position(path), f"not a valid Jupyter notebook (nbformat 4): {message}") from None
    cells: list[tuple[int, str]] = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        cleaned = python_of_cell(source)
        if cleaned is not None:
            cells.append((number, cleaned))
    return cells


def python_of_cell(source: str) -> str | None:
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        if lines[0].split()[0] not in _PYTHON_CELL_MAGICS:
            return None
        lines[0] = ""
    return "\n".join("" if _MAGIC_LINE.match(line) else line for line in lines)
