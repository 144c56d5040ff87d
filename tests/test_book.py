"""The course as a book: every chapter executed by the book build, then read in a real browser.

The test run builds the book once, with the README's command (book/conf.py: Sphinx, myst-nb, the
book theme), into book/_build/html; that build is where the chapters are executed, each in a fresh
Jupyter kernel on the CPU. The tests then check what a reader gets: every chapter ran without an
error, the landing page lists every chapter with the run time this build measured, each page links
its source notebook and its neighbours, and, in headless Chromium (Debian's `chromium` and
`chromium-driver`, installed by scripts/install_chromium.sh), every page renders with no error
output and every figure loaded. With TINYCONV_BOOK_SCREENSHOTS=DIR the browser test also saves
screenshots of two chapters to DIR.
"""
import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")
pytest.importorskip("sphinx_book_theme")
bs4 = pytest.importorskip("bs4")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
OUT = BOOK / "_build" / "html"
BUILD = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-b", "html", "book", "book/_build/html"]
BUILD_TIMEOUT_S = 3600   # a guard against a hung kernel, not a speed limit
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOT_CHAPTERS = ("01_autograd_from_scratch", "07_the_architecture")

spec = importlib.util.spec_from_file_location("chapter_table", BOOK / "_ext" / "chapter_table.py")
chapter_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chapter_table)


def run_build(cwd, command, log_path):
    """Run a Sphinx build; its exit status, with stdout and stderr written to ``log_path``."""
    with open(log_path, "w") as log:
        done = subprocess.run(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT_S)
    return done.returncode


@pytest.fixture(scope="session")
def book():
    """The book, built once per test run (under pytest-xdist, by the first worker that gets here)."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    log, status = OUT.parent / "build.log", OUT.parent / "build-status.json"
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    with open(OUT.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = json.loads(status.read_text()) if status.exists() else {}
        if not (run_id and done.get("run") == run_id):
            done = {"run": run_id, "returncode": run_build(ROOT, BUILD, log)}
            status.write_text(json.dumps(done))
    report = OUT / "execution.json"
    return SimpleNamespace(returncode=done["returncode"], log=log.read_text(),
                           executions=json.loads(report.read_text()) if report.exists() else {})


def page(path: Path) -> "bs4.BeautifulSoup":
    return bs4.BeautifulSoup(path.read_text(), "html.parser")


def test_run_time_is_written_in_seconds_and_minutes():
    assert chapter_table.run_time({"runtime": 48.4, "succeeded": True}) == "48 s"
    assert chapter_table.run_time({"runtime": 125.2, "succeeded": True}) == "2 min 05 s"
    assert chapter_table.run_time({"runtime": 3.0, "succeeded": False, "error": "CellExecutionError"}) == \
        "failed (CellExecutionError)"
    assert chapter_table.run_time(None) == "not executed"


@pytest.mark.slow
def test_chapter_table_reports_this_builds_run_times_and_failures(tmp_path):
    """A two-chapter book: the table shows the run time myst-nb measured, or that the chapter failed."""
    (tmp_path / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BOOK / '_ext')!r})\n"
        "extensions = ['myst_nb', 'chapter_table']\nnb_execution_mode = 'force'\n"
        "nb_execution_raise_on_error = False\nexclude_patterns = ['_build', 'jupyter_execute']\n")
    for name, source in (("ok", "import time\ntime.sleep(1.5)\nprint('done')"), ("broken", "1 / 0")):
        cells = [nbformat.v4.new_markdown_cell(f"# {name}"), nbformat.v4.new_code_cell(source)]
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    (tmp_path / "index.md").write_text("# Both\n\n```{chapter-table}\nok | §1 | sleeps\n"
                                       "broken | §2 | divides by zero\n```\n\n```{toctree}\nok\nbroken\n```\n")
    status = run_build(tmp_path, [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", ".", "_build"],
                       tmp_path / "build.log")
    assert status != 0, "a failing chapter must fail a build run with -W"
    executions = json.loads((tmp_path / "_build" / "execution.json").read_text())
    assert executions["ok"]["succeeded"] and executions["ok"]["runtime"] >= 1.5
    assert not executions["broken"]["succeeded"] and "ZeroDivisionError" in executions["broken"]["traceback"]
    rows = [[td.get_text(" ", strip=True) for td in tr.select("td")]
            for tr in page(tmp_path / "_build" / "index.html").select("table.chapter-table tbody tr")]
    assert rows == [["ok", "§1", "sleeps", chapter_table.run_time(executions["ok"])],
                    ["broken", "§2", "divides by zero", "failed (CellExecutionError)"]]


@pytest.mark.slow
def test_book_builds_without_warnings(book):
    tail = "\n".join(line for line in book.log.splitlines() if "WARNING" in line or "ERROR" in line)
    assert book.returncode == 0, f"the book build failed (book/_build/build.log):\n{tail[-4000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_is_executed_by_the_build(book, path):
    run = book.executions.get(f"notebooks/{path.stem}")
    assert run is not None, f"the build did not execute {path.name} (see book/_build/build.log)"
    assert run["succeeded"], f"{path.name} failed in the book build: {run['error']}\n{run['traceback']}"


@pytest.mark.slow
def test_landing_page_lists_every_chapter_with_its_run_time_from_the_build(book):
    rows = page(OUT / "index.html").select("table.chapter-table tbody tr")
    table = {}
    for row in rows:
        cells = row.select("td")
        table[cells[0].select_one("a")["href"]] = [td.get_text(" ", strip=True) for td in cells]
    assert list(table) == [f"notebooks/{p.stem}.html" for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        chapter, paper, what, run_time = table[f"notebooks/{path.stem}.html"]
        assert chapter.startswith(path.stem[:2] + " · ") and what, (chapter, what)
        assert re.fullmatch(r"\d+ s|\d+ min \d\d s", run_time), (path.name, run_time)
        assert run_time == chapter_table.run_time(book.executions[f"notebooks/{path.stem}"])


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_page_links_its_source_notebook_and_its_neighbours(book, path):
    html = page(OUT / "notebooks" / f"{path.stem}.html")
    source = html.select_one("a.btn-download-source-button")
    assert source is not None and source["href"] == f"../_sources/notebooks/{path.name}"
    assert (OUT / "_sources" / "notebooks" / path.name).read_bytes() == path.read_bytes()
    position = NOTEBOOKS.index(path)
    previous = html.select_one("a.left-prev")["href"]
    assert previous == ("../index.html" if position == 0 else f"{NOTEBOOKS[position - 1].stem}.html")
    following = html.select_one("a.right-next")
    last = position == len(NOTEBOOKS) - 1
    assert (following is None) if last else following["href"] == f"{NOTEBOOKS[position + 1].stem}.html"


@pytest.fixture(scope="session")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (bash scripts/install_chromium.sh)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tinyconv-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1280,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


PAGE_STATE = """
const images = Array.from(document.images);
return {
    heading: (document.querySelector("main h1") || {innerText: ""}).innerText,
    errorOutputs: document.querySelectorAll(".output.error, .output.traceback, .output.stderr").length,
    traceback: document.body.innerText.includes("Traceback"),
    images: images.length,
    notLoaded: images.filter(img => !img.complete || img.naturalWidth === 0).map(img => img.src),
    height: document.documentElement.scrollHeight,
};
"""

# Waits for MathJax (copied into the book, no network) to typeset; counts the formulas and what it rendered.
MATH_STATE = """
const done = arguments[arguments.length - 1];
const formulas = document.querySelectorAll("div.math, span.math").length;
const started = Date.now();
(function wait() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        const typeset = () => document.querySelectorAll("mjx-container").length;
        MathJax.startup.promise.then(() => done({formulas, typeset: typeset()}));
    } else if (Date.now() - started > 10000) {
        done({formulas, typeset: 0});
    } else {
        setTimeout(wait, 50);
    }
})();
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["index"] + [f"notebooks/{stem}" for stem in IDS])
def test_page_renders_in_chromium(book, browser, name):
    browser.set_window_size(1280, 1600)
    browser.get((OUT / f"{name}.html").as_uri())
    state = browser.execute_script(PAGE_STATE)
    assert state["heading"], f"{name}: no heading rendered"
    assert state["errorOutputs"] == 0 and not state["traceback"], f"{name}: error or traceback output on the page"
    assert not state["notLoaded"], f"{name}: figures that did not load: {state['notLoaded']}"
    browser.set_script_timeout(30)
    math = browser.execute_async_script(MATH_STATE)
    assert math["typeset"] >= math["formulas"], f"{name}: {math['formulas']} formulas, {math['typeset']} typeset"
    if name.startswith("notebooks/") and "plt.show()" in (ROOT / f"{name}.ipynb").read_text():
        assert state["images"] > 0, f"{name} draws figures, but the page shows none"
    shots = os.environ.get("TINYCONV_BOOK_SCREENSHOTS")
    if shots and name.split("/")[-1] in SCREENSHOT_CHAPTERS:
        Path(shots).mkdir(parents=True, exist_ok=True)
        browser.set_window_size(1280, min(state["height"], 16000))
        assert browser.save_screenshot(str(Path(shots) / f"{name.split('/')[-1]}.png"))
