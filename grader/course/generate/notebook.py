"""A student's notebook made from the same source as their ``.py`` (jupytext's percent format)."""

from __future__ import annotations

import jupytext
import nbformat

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def notebook_from_percent_script(source: str) -> str:
    """``# %%`` cells (and ``# %% [markdown]``) → an ``.ipynb`` document.

    Cell ids and metadata are fixed so that generating twice gives the same
    bytes (the committed templates are checked against a fresh generation).
    """
    notebook = jupytext.reads(source, fmt="py:percent")
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"
        cell["metadata"] = {}
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return nbformat.writes(notebook, version=4) + "\n"
