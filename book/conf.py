"""Sphinx configuration of the course book: every chapter of notebooks/ executed, as HTML.

Build it from the repository root (README, "The book"):

    python -m sphinx -E -W --keep-going -b html book book/_build/html

myst-nb executes each notebook in a fresh Jupyter kernel (on the CPU, in the notebook's own
folder) and renders its outputs; the chapter table on the landing page takes each chapter's run
time from that execution (book/_ext/chapter_table.py). Nothing is fetched from the network while
building or reading: the theme and myst-nb ship their files, MathJax comes from the
sphinx-mathjax-offline package, and the chapters read only files that tinyconv and matplotlib ship.
"""
import os
import sys
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
sys.path.insert(0, str(BOOK / "_ext"))   # this book's own Sphinx extension

# The kernels import this checkout's tinyconv, also where another checkout is pip-installed.
_paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + _paths)
# Figures go inline into the page, whatever backend the calling shell sets (MPLBACKEND=Agg would hide them).
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"

project = "tinyconv: AlexNet, chapter by chapter"
author = "the tinyconv authors"
copyright = "the tinyconv authors, MIT licence"

# sphinx-mathjax-offline copies MathJax into _static: the formulas render with no network when read
extensions = ["myst_nb", "chapter_table", "sphinx-mathjax-offline"]
root_doc = "index"
exclude_patterns = ["_build", "notebooks/README.md", "**/.ipynb_checkpoints"]

# notebooks/ is a link to the repository's notebooks/ folder: the chapters are built where they live.
nb_execution_mode = "force"              # always run the chapters: their outputs are never stored
nb_execution_timeout = 900               # a guard against a hung kernel, not a speed limit
nb_execution_raise_on_error = False      # report every failing chapter (as a warning), not only the first
nb_execution_show_tb = True              # ... with its traceback in the build log
nb_execution_in_temp = False             # a chapter runs in notebooks/, as it does in Jupyter
nb_merge_streams = True
nb_ipywidgets_js = {}                    # no chapter uses widgets: load no widget JavaScript from a CDN
myst_enable_extensions = ["dollarmath"]

html_theme = "sphinx_book_theme"
html_title = "tinyconv: the course"
html_copy_source = True                  # the source notebooks are served beside the pages ...
html_theme_options = {
    "use_download_button": True,         # ... and the header's download button links each page to its .ipynb
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
