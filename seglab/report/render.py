"""Render a report notebook: execute it with papermill, export it as HTML without code.

The notebooks ship with the package (``seglab.notebooks``, the checkout's ``notebooks/``
folder), so an installed seglab renders reports outside any checkout.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from importlib.resources import as_file, files
from pathlib import Path

# nbformat validates with jsonschema, which imports rfc3987_syntax when it is installed; that
# module compiles about 40 grammars at import (2 to 3 s, more on a busy machine) for the "iri"
# format checks, which notebook validation never makes. Marking it absent skips that import.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402
import papermill  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from jupyter_core.utils import run_sync  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402

from seglab.errors import SeglabError  # noqa: E402

__all__ = [
    "REPORT_NOTEBOOK",
    "ReportError",
    "execute",
    "export_html",
    "figure_texts",
    "kernel_ahead",
    "render_key",
]

REPORT_NOTEBOOK = "10-report.ipynb"
#: Packages whose version can change a rendered notebook (seglab's own code is keyed apart).
RENDERING_PACKAGES = (
    "matplotlib", "seaborn", "pandas", "numpy", "nbconvert", "nbformat", "papermill", "ipykernel",
    "ipython", "jinja2", "mistune",
)  # fmt: skip
#: The kernel's own log shows errors only: its start-up warning about unencrypted local TCP
#: (ipykernel 7) means nothing to a report's reader and would print with every report.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
#: The log of a kernel started ahead and of its clients, errors only: papermill leaves open the
#: client it makes for a kernel it did not start (the kernel is shut down with its block), and
#: jupyter_client warns when that client is collected.
KERNEL_LOG = logging.getLogger("seglab.report.kernel")
KERNEL_LOG.setLevel(logging.ERROR)
#: What the report notebook's first cell imports: a kernel started ahead imports it early.
WARM_UP = (
    "import IPython.display, seglab.evaluate.agreement, seglab.features, seglab.report.cards, "
    "seglab.report.export, seglab.report.figures, seglab.report.notes, seglab.report.tables"
)
#: The alternative text nbconvert gives a figure that has none.
NO_ALT = re.compile(r'alt="No description has been provided for this image"')
EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)


class ReportError(SeglabError):
    """The report notebook stopped on a user error (bad config or data) in one of its cells."""


@contextmanager
def kernel_ahead(start: bool = True) -> Iterator[AsyncKernelManager | None]:
    """A Python kernel started now, importing what the report notebook imports while the caller
    computes the run (kernel start and imports take about 4 s of a cold report, on a core the run
    leaves idle most of the time); shut down on leaving the block. None when not `start` (say
    the rendering will come from the cache): :func:`execute` then starts its own kernel.
    """
    if not start:
        yield None
        return
    kernel = AsyncKernelManager(kernel_name="python3", log=KERNEL_LOG)
    run_sync(kernel.start_kernel)(extra_arguments=KERNEL_ARGUMENTS)
    client = kernel.client()
    client.start_channels()
    try:
        client.execute(WARM_UP, silent=True, store_history=False)
        yield kernel
    finally:
        client.stop_channels()
        run_sync(kernel.shutdown_kernel)(now=True)


def execute(
    name: str,
    output: Path,
    parameters: dict,
    *,
    failed: Path,
    kernel: AsyncKernelManager | None = None,
) -> float:
    """Run the packaged notebook `name` into `output` with `parameters`; return the seconds.

    `kernel` is a kernel started by :func:`kernel_ahead` (used by one notebook only); by default
    a kernel is started in ``output``'s folder. On a failing cell the executed notebook is copied
    into `failed` and the error names the cell; a seglab error in the notebook is a
    :class:`ReportError` (a user error), anything else a RuntimeError (a bug).
    """
    start = time.perf_counter()
    with as_file(files("seglab.notebooks").joinpath(name)) as source:
        try:
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters=parameters,
                cwd=str(output.parent),
                progress_bar=False,
                request_save_on_cell_execute=False,  # written once, at the end
                kernel_name="python3",
                km=kernel,
                extra_arguments=KERNEL_ARGUMENTS,
            )
        except papermill.PapermillExecutionError as exc:
            failed.mkdir(parents=True, exist_ok=True)
            if output.exists():
                shutil.copy2(output, failed / name)
            where = f"cell {exc.exec_count}" if exc.exec_count else "a cell"
            message = (
                f"the report notebook failed in {where}: {exc.ename}: {exc.evalue}\n"
                f"The last good report is untouched; the failed notebook is in {failed}."
            )
            if exc.ename in _user_error_names():
                raise ReportError(message) from None
            raise RuntimeError(message) from None
    return time.perf_counter() - start


def render_key(name: str) -> dict[str, object]:
    """What a rendering of the packaged notebook `name` depends on besides the run and seglab's
    code: the notebook's bytes and the rendering packages' versions."""
    source = files("seglab.notebooks").joinpath(name).read_bytes()
    versions = {}
    for package in RENDERING_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"notebook": hashlib.sha256(source).hexdigest(), "packages": versions}


def export_html(notebook: Path) -> str:
    """The executed notebook as self-contained HTML: no code cells, no prompts, figures inline,
    each with an alternative text (:func:`figure_texts`).

    The template's scripts loaded from the network (MathJax, require.js) are removed: the report
    has no formulas or widgets, and it must open offline.
    """
    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.log.setLevel(logging.ERROR)  # its warning on missing alternative texts: set below
    executed = nbformat.read(notebook, as_version=4)
    body, _ = exporter.from_notebook_node(executed)
    texts = iter(figure_texts(executed))
    body = NO_ALT.sub(lambda found: f'alt="{html.escape(next(texts, "figure"))}"', body)
    return EXTERNAL_SCRIPT.sub("", body)


def figure_texts(notebook: nbformat.NotebookNode) -> list[str]:
    """A short description of every figure of the notebook, in order: the section it is in and
    the title its cell gives it, else the name of the figure function (``plots.elbow`` ->
    "elbow")."""
    texts, section = [], "report"
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            headings = [line for line in cell.source.splitlines() if line.startswith("#")]
            section = headings[0].lstrip("#").strip() if headings else section
            continue
        figures = sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
        title = re.search(r'title="([^"]+)"', cell.source)
        call = re.search(r"plots\.(\w+)\(", cell.source)
        what = title[1] if title else call[1].replace("_", " ") if call else "figure"
        texts += [f"{section}: {what}"] * figures
    return texts


def _user_error_names() -> set[str]:
    names, pending = set(), [SeglabError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names
