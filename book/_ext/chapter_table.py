"""The landing page's chapter table, with each chapter's run time taken from this build.

In the landing page::

    ```{chapter-table}
    notebooks/03_relu_nonlinearity | §3.1 | tanh against ReLU: slopes, saturation, Figure 1 small
    ```

gives one row per line: the chapter's title (a link), the paper's section, what it teaches, and
how long the chapter took to execute in this build, as myst-nb recorded it. The run times are
only known once every chapter has run, so the directive leaves a placeholder that a post-transform
fills in; a rebuild that re-executes any chapter rewrites the landing page too.

When the build ends, ``execution.json`` in the output folder holds, for every executed chapter,
what myst-nb recorded: run time in seconds, whether it succeeded, and the error and traceback if
not. The tests read it.
"""
from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

HAS_TABLE = "has_chapter_table"
HEADER = ("chapter", "paper", "what it teaches", "run time")


class ChapterTableNode(nodes.General, nodes.Element):
    """Placeholder for the table; ``rows`` holds (docname, paper, what) from the directive."""


class ChapterTable(SphinxDirective):
    """``{chapter-table}``: one chapter per line, ``docname | paper section | what it teaches``."""

    has_content = True

    def run(self):
        rows = []
        for line in self.content:
            if not line.strip():
                continue
            cells = [cell.strip() for cell in line.split("|")]
            if len(cells) != 3:
                raise self.error(f"chapter-table: a row is 'docname | paper section | what it teaches', got {line!r}")
            if cells[0] not in self.env.found_docs:
                raise self.error(f"chapter-table: no document {cells[0]!r} (a notebook path without .ipynb)")
            rows.append(tuple(cells))
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, HAS_TABLE, True)
        return [ChapterTableNode(rows=rows)]


def run_time(exec_data) -> str:
    """'48 s' or '2 min 05 s' from myst-nb's record of one execution; why not, where it did not run."""
    if not exec_data or exec_data.get("runtime") is None:
        return "not executed"
    if not exec_data["succeeded"]:
        return f"failed ({exec_data['error']})"
    seconds = round(exec_data["runtime"])
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def _row(cells) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell if isinstance(cell, nodes.paragraph) else nodes.paragraph(text=cell)
        row += entry
    return row


def make_table(from_doc: str, rows, doc_data) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto", "chapter-table"])
    group = nodes.tgroup(cols=len(HEADER))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in HEADER]
    group += nodes.thead("", _row(HEADER))
    body = nodes.tbody()
    group += body
    for docname, paper, what in rows:
        link = pending_xref(refdoc=from_doc, reftarget="/" + docname, reftype="doc", refdomain="std",
                            refexplicit=False, refwarn=True)
        link += nodes.inline(text=docname)
        body += _row([nodes.paragraph("", "", link), paper, what,
                      run_time(doc_data.get(docname, {}).get("exec_data"))])
    return table


class FillChapterTables(SphinxPostTransform):
    """Replace each placeholder with the table, once every chapter has run."""

    default_priority = 8   # before references are resolved (10), so the chapter links resolve

    def run(self, **kwargs) -> None:
        doc_data = NbMetadataCollector.get_doc_data(self.env)
        for node in list(self.document.findall(ChapterTableNode)):
            node.replace_self(make_table(self.env.docname, node["rows"], doc_data))


def rewrite_pages_with_tables(app, env):
    """After chapters were (re-)executed, the pages holding a table are written again."""
    if not NbMetadataCollector.new_exec_data(env):
        return []
    return [doc for doc, data in NbMetadataCollector.get_doc_data(env).items() if data.get(HAS_TABLE)]


def write_execution_report(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    report = {doc: data["exec_data"] for doc, data in sorted(NbMetadataCollector.get_doc_data(app.env).items())
              if data.get("exec_data")}
    Path(app.outdir, "execution.json").write_text(json.dumps(report, indent=1) + "\n")


def setup(app):
    app.add_node(ChapterTableNode)
    app.add_directive("chapter-table", ChapterTable)
    app.add_post_transform(FillChapterTables)
    app.connect("env-updated", rewrite_pages_with_tables)
    app.connect("build-finished", write_execution_report)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
