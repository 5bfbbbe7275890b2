"""The tutorial notebooks: committed without outputs, shaped like tutorials (fast), and run top to bottom (slow).

The slow test executes each notebook as `bash ../shared/acceptance/notebooks.sh` and CI do: nbclient, kernel
``python3``, working directory ``notebooks/``. jupyter_client launches a kernelspec whose ``argv[0]`` is ``python``
with the interpreter that runs the client, so under ``.venv/bin/python -m pytest`` the kernel is the venv's
Python; ``test_kernel_is_this_interpreter`` checks that.
"""

from __future__ import annotations

import sys
import time

import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "python3"


def read(path):
    return nbformat.read(path, as_version=4)


def test_the_tutorials_are_numbered_and_named():
    names = [p.stem for p in NOTEBOOKS]
    assert {"01_signals_and_features", "02_preprocessing", "03_rnn_and_lstm", "04_lstm_voice_conversion", "05_gan",
            "06_speaker_encoder", "07_realtime_streaming", "08_text_to_cloned_speech", "09_evaluation"} <= set(names)
    assert all(n[:2].isdigit() and n[2] == "_" for n in names)
    assert len({n[:2] for n in names}) == len(names), "two notebooks share a number"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(read(path).cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them "
                       "(JupyterLab: Edit > Clear Outputs of All Cells, then save) before committing.")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_imports_workbench_first_explains_and_has_controls(path):
    nb = read(path)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    first_import = next(line for line in code[0].splitlines() if line.startswith(("import ", "from ")))
    assert first_import.startswith(("import workbench", "from workbench")), f"{path.name} starts with {first_import!r}"
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 5
    assert any("ipywidgets" in s for s in code) and any("plots" in s for s in code)  # plots or plots_<area>
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_controls_do_not_redraw_while_executed(path):
    """``interact``/``interactive`` call their function at once and route its output through an Output widget, which
    nbclient mirrors by sending messages back to the busy kernel: executions then hung now and then (seen here, and
    jupyter/nbconvert#2029, jupyter/nbclient#312). ``interact_manual`` redraws only when its button is pressed."""
    code = "\n".join(c.source for c in read(path).cells if c.cell_type == "code")
    assert "interact(" not in code.replace("interact_manual", "") and "interactive(" not in code


def test_kernel_is_this_interpreter():
    """The ``python3`` kernel that runs the notebooks is this Python (the venv's), importing this checkout."""
    nb = new_notebook(cells=[new_code_cell("import sys, workbench\nprint(sys.executable)\nprint(workbench.__file__)")])
    NotebookClient(nb, timeout=120, kernel_name=KERNEL, resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    executable, package = nb.cells[0].outputs[0]["text"].split()
    assert executable == sys.executable
    assert package == str(ROOT / "workbench" / "__init__.py")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path):
    """Every cell runs without error; the notebooks' own asserts check their claims."""
    nb = read(path)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name=KERNEL, resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    print(f"{path.name}: {time.perf_counter() - t0:.0f} s")
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_home_and_readme_name_notebooks_that_exist():
    """The Home page's pipeline table and the README's notebook table point at real notebooks, and cover them all."""
    import re

    stems = {p.stem for p in NOTEBOOKS}
    home = (ROOT / "app_pages" / "home.py").read_text(encoding="utf-8")
    linked = set(re.findall(r"\b(\d\d_[a-z0-9_]+?)(?:\.ipynb)?`", home))
    assert linked and linked <= stems, f"Home links notebooks that do not exist: {sorted(linked - stems)}"
    assert {"02_preprocessing", "06_speaker_encoder", "08_text_to_cloned_speech", "09_evaluation"} <= linked
    readme = set(re.findall(r"^\| `(\d\d_[a-z0-9_]+)` \|", (ROOT / "README.md").read_text(encoding="utf-8"), re.M))
    assert readme == stems, f"README's notebook table differs from notebooks/: {sorted(readme ^ stems)}"
