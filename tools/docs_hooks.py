"""mkdocs hooks for the ganaugment site (no network, no import of the package).

* ``<!-- ganaugment:api -->`` in a page becomes one mkdocstrings block per
  public name in ``ganaugment.__all__``, read from ``ganaugment/__init__.py``
  with :mod:`ast`, so a name added to the package appears in the reference
  without editing the docs.
* ``benchmarks.md`` is written by the benchmark scripts; until it exists the
  site shows a placeholder page instead of failing the strict build.
"""

from __future__ import annotations

import ast
import os

from mkdocs.structure.files import File

_MARKER = "<!-- ganaugment:api -->"
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def public_names() -> list:
    path = os.path.join(_ROOT, "ganaugment", "__init__.py")
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return [ast.literal_eval(item) for item in node.value.elts]
    return []


def on_files(files, config):
    if files.get_file_from_path("benchmarks.md") is None:
        text = (
            "# Benchmarks\n\n"
            "No benchmark figures have been recorded in this checkout yet. Each benchmark script in "
            "`benchmarks/` writes its table, the command that produced it and the machine it ran on here.\n"
        )
        files.append(File.generated(config, "benchmarks.md", content=text))
    return files


def on_page_markdown(markdown, page, config, files):
    if _MARKER not in markdown:
        return markdown
    blocks = [
        f"## `{name}`\n\n::: ganaugment.{name}\n    options:\n      show_root_heading: false\n"
        "      inherited_members: [save, load]\n"
        for name in public_names()
    ]
    return markdown.replace(_MARKER, "\n".join(blocks))
