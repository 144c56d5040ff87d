"""The chapters in notebooks/ as stored: numbered, clean, checking something, with solutions.

The book build (tests/test_book.py) executes every chapter on the CPU. Here: what can be read off
the stored files, and, on a machine with CuPy and a GPU, the chapters with GPU cells executed in a
real Jupyter kernel (their GPU cells are skipped in the book, which is built on the CPU).
"""
import ast
import os
import pathlib

import pytest

from tinyconv import backend

nbformat = pytest.importorskip("nbformat")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GPU_CHAPTERS = [p for p in NOTEBOOKS if "cupy_available()" in p.read_text()]
CELL_TIMEOUT_S = 900   # a guard against a hung kernel, not a speed test
LONGEST_CELL = 30      # lines: longer cells are split (about 25 is the aim)
SOLUTION_TAG = "hide-cell"


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def kernel_env():
    """The parent's environment with this checkout first on PYTHONPATH."""
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def test_chapters_are_numbered_in_reading_order():
    names = [p.name for p in NOTEBOOKS]
    assert names, "no notebooks found in notebooks/"
    numbers = [int(n[:2]) for n in names]
    assert numbers == list(range(len(names))), f"chapters must be 00, 01, 02, ... without gaps: {names}"


def test_gpu_chapters_are_found():
    assert GPU_CHAPTERS, "no chapter has a GPU cell (backend.cupy_available()): the GPU run below checks nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_clean_and_checks_something(path):
    """Stored without outputs (small diffs), on the python3 kernel, with at least one assert."""
    nb = nbformat.read(path, as_version=4)
    code = code_cells(path)
    assert all(not c.outputs and c.execution_count is None for c in code), \
        f"{path.name} has stored outputs: clear them (Kernel > Restart & Clear Output) before committing"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: use the python3 kernel"
    assert any("assert " in c.source for c in code), f"{path.name} asserts nothing: check the idea it teaches"
    assert not any("sys.path" in c.source for c in code), f"{path.name}: import the installed package, no sys.path"


def unguarded_imports(source: str, module: str) -> list:
    """Line numbers of ``import module`` / ``from module ...`` outside a try that catches ImportError."""
    tree = ast.parse(source)
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers):
            guarded |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(n == module or n.startswith(module + ".") for n in names) and id(node) not in guarded:
            found.append(node.lineno)
    return found


def test_the_torch_check_finds_unguarded_imports():
    assert unguarded_imports("import torch\n", "torch") == [1]
    assert unguarded_imports("from torch import nn\n", "torch") == [1]
    assert unguarded_imports("try:\n    import torch\nexcept ImportError:\n    torch = None\n", "torch") == []
    assert unguarded_imports("import torchvision\n", "torch") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_pytorch(path):
    """PyTorch is only a reference: every import of it sits in a try that catches ImportError."""
    for i, cell in enumerate(code_cells(path)):
        lines = unguarded_imports(cell.source, "torch")
        assert not lines, f"{path.name}, code cell {i}: `import torch` outside try/except ImportError (line {lines})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_code_cells_are_short(path):
    for i, cell in enumerate(code_cells(path)):
        lines = len(cell.source.splitlines())
        assert lines <= LONGEST_CELL, f"{path.name}, code cell {i}: {lines} lines, split it (at most {LONGEST_CELL})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_exercise_has_a_folded_solution(path):
    """After '## Exercises' each exercise (a markdown cell) is followed by its solution: a code cell
    the book folds away (tag hide-cell) and JupyterLab shows collapsed."""
    cells = nbformat.read(path, as_version=4).cells
    start = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and "## Exercises" in c.source), None)
    assert start is not None, f"{path.name} has no '## Exercises' section"
    rest = cells[start:]
    exercises, solutions = rest[0::2], rest[1::2]
    assert len(exercises) == len(solutions) >= 1, f"{path.name}: every exercise needs one solution cell right after it"
    for k, (exercise, solution) in enumerate(zip(exercises, solutions), 1):
        assert exercise.cell_type == "markdown" and f"**{k}.**" in exercise.source, \
            f"{path.name}: exercise {k} should be a markdown cell that starts '**{k}.**'"
        assert solution.cell_type == "code" and SOLUTION_TAG in solution.metadata.get("tags", []), \
            f"{path.name}: the solution to exercise {k} should be a code cell tagged {SOLUTION_TAG!r}"
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, \
            f"{path.name}: the solution to exercise {k} should be collapsed in JupyterLab (jupyter.source_hidden)"


@pytest.mark.gpu
@pytest.mark.skipif(not backend.cupy_available(),
                    reason="needs CuPy and a CUDA GPU (the book runs these chapters on the CPU)")
@pytest.mark.parametrize("path", GPU_CHAPTERS, ids=[p.name for p in GPU_CHAPTERS])
def test_gpu_chapter_executes(path):
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},  # the notebook's folder is its working directory
    )
    client.execute(env=kernel_env())  # raises CellExecutionError naming the cell and the traceback
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
