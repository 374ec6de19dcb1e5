"""End-to-end: render reports with papermill and check the artefacts."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from seglab.cli import main
from seglab.report.render import REPORT_NOTEBOOK, ReportError, execute, kernel_ahead
from seglab.run.pipeline import open_run
from seglab.run.reports import render_report, summary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, config_writer) -> Path:
    folder = tmp_path_factory.mktemp("run")
    config = config_writer(folder)
    return render_report(config, out_root=folder / "reports")


def test_report_has_embedded_figures_and_no_code(rendered: Path):
    assert rendered.name == "2026-10-31" and rendered.parent.name == "small"
    html = (rendered / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') >= 2
    assert "open_run(" not in html  # input cells are hidden
    assert not re.search(r'(?:src|href)="https?://', html), "the report must open offline"
    assert "Customer segmentation report" in html
    # Every figure says what it shows to a screen reader: its section and its title.
    texts = re.findall(r'<img alt="([^"]*)"', html)
    assert len(texts) == html.count('src="data:image/png;base64,')
    assert "Movement since the previous period: Segments (by id)" in texts
    assert "The answer: segment sizes" in texts and "No description" not in html


def _text(html: str) -> str:
    """The visible text of a report: no styles, scripts or image data."""
    for pattern in (r"<style.*?</style>", r"<script.*?</script>", r'src="data:[^"]+"'):
        html = re.sub(pattern, "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_report_opens_with_the_answer_and_reads_cleanly(rendered: Path):
    html = (rendered / "report.html").read_text()
    text = _text(html)
    order = [text.index(s) for s in ("The answer", "The segments", "Future value",
                                     "Appendix: technical evidence", "Lifetime value models",
                                     "Notes on this run")]  # fmt: skip
    assert order == sorted(order)
    for segment_id in ("S1", "S2", "S3", "S4"):
        assert f"{segment_id} · " in text  # a card per segment
    assert "Recommended action." in text
    assert re.search(r"Over the next year the customers are expected to bring \*?\*?[\d,]+", text)
    assert not re.search(r"\d\.\d+e[+-]\d+", text), "numbers in scientific notation"
    assert "application/vnd.jupyter.stderr" not in html.split("</style>")[-1]
    assert not re.search(r"\w+Warning:", text), "a library warning reached the page"
    assert " rows × " not in text, "pandas cut a table without saying where the rest is"
    caption = re.search(r"Showing the first (\d+) of ([\d,]+) rows .*? in (tables/\S+\.csv)", text)
    assert caption, "the long heuristic table says it is cut and where the rest is"
    full = pd.read_csv(rendered / caption.group(3))
    assert len(full) == int(caption.group(2).replace(",", ""))


def test_artefacts(rendered: Path):
    segments = pd.read_parquet(rendered / "segments.parquet")
    customers = pd.read_parquet(rendered.parents[2] / "data" / "customers.parquet")
    assert segments["customer_id"].is_unique
    assert set(segments["customer_id"]) == set(customers["customer_id"])
    assert set(segments["segment_id"]) == {"S1", "S2", "S3", "S4"}
    run = json.loads((rendered / "run.json").read_text())
    assert run["seed"] == 0 and run["as_of"] == "2026-10-31"
    assert len(run["data_fingerprint"]) == 64
    assert run["packages"]["pandas"] and run["config"]["name"] == "small"
    assert {"load", "features", "heuristics", "experiments", "profile"} <= run["timings"][
        "steps"
    ].keys()
    assert (rendered / "stages" / "fields.json").is_file()
    assert (rendered / "10-report.ipynb").is_file()
    # Every scheme's label and the segment's name travel with each customer, in Parquet and CSV.
    assert {"segment_name", "rfm_segment", "abc", "frequency_tiers"} <= set(segments.columns)
    csv = pd.read_csv(rendered / "segments.csv")
    assert len(csv) == len(segments) and list(csv.columns) == list(segments.columns)
    results = pd.read_parquet(rendered / "results.parquet")
    assert results["solution"].is_unique and len(results) == 2 * 5  # kmeans, fuzzy x k 2..6
    summary = json.loads((rendered / "summary.json").read_text())
    assert summary["chosen_solution"] == "value/log_standard/kmeans/k=4/seed=0"
    assert sum(c["customers"] for c in summary["clusters"].values()) == len(segments)
    value = summary["clv"]
    assert list(value["bgnbd"]) == ["a", "alpha", "b", "log_likelihood", "r"]  # sorted keys
    assert list(value["gamma_gamma"]) == ["gamma", "p", "q"] and value["reason"] is None
    assert segments["clv"].notna().all() and segments["p_alive"].between(0, 1).all()


def test_the_notebook_reads_the_run_folder_it_ships_with(rendered: Path):
    run = open_run(rendered)
    assert run.choice.solution == "value/log_standard/kmeans/k=4/seed=0"
    assert summary(run) == json.loads((rendered / "summary.json").read_text())
    html = (rendered / "report.html").read_text()
    assert run.segmentation.profile["name"].iloc[0] in html


def test_a_cold_rerun_elsewhere_gives_identical_artefacts(rendered: Path, tmp_path):
    # Same inputs and seed, a fresh cache: everything is computed again and must agree.
    config = rendered.parents[2] / "config.yaml"
    raw = yaml.safe_load(config.read_text())
    raw["cache_dir"] = str(tmp_path / "fresh-cache")
    raw["data"] = {k: str(config.parent / v) if k in ("transactions", "customers") else v
                   for k, v in raw["data"].items()}  # fmt: skip
    again_config = tmp_path / "config.yaml"
    again_config.write_text(yaml.safe_dump(raw))
    again = render_report(again_config, out_root=tmp_path / "reports")
    results = pd.read_parquet(rendered / "results.parquet")
    rerun = pd.read_parquet(again / "results.parquet")
    assert not rerun["cached"].any()  # really computed again
    for name in ("segments.parquet", "summary.json"):
        assert (again / name).read_bytes() == (rendered / name).read_bytes(), name
    stable = [c for c in results.columns if c not in ("fit_seconds", "cached")]
    pd.testing.assert_frame_equal(rerun[stable], results[stable])
    # The fresh report is rendered from the recomputed run and names the same segments.
    names = open_run(again).segmentation.profile["name"]
    assert names.tolist() == open_run(rendered).segmentation.profile["name"].tolist()
    html = (again / "report.html").read_text()
    assert all(name in html for name in names)


def _notebook_started(report: Path) -> str:
    """When papermill started executing the report's notebook (ISO time)."""
    notebook = json.loads((report / "10-report.ipynb").read_text())
    return notebook["metadata"]["papermill"]["start_time"]


def test_a_warm_rerun_reuses_the_cached_run_and_rendering_and_republishes(rendered: Path):
    before = (rendered / "segments.parquet").read_bytes()
    html = (rendered / "report.html").read_bytes()
    version, started = rendered.resolve(), _notebook_started(rendered)
    stages = sorted(p.name for p in (rendered.parents[2] / "cache" / "runs").iterdir())
    again = render_report(rendered.parents[2] / "config.yaml", out_root=rendered.parents[1])
    assert again == rendered and (again / "segments.parquet").read_bytes() == before
    assert sorted(p.name for p in (rendered.parents[2] / "cache" / "runs").iterdir()) == stages
    # Same run, notebook and rendering packages: the executed notebook and its HTML come from
    # the cache (the notebook did not run again), published as a new version.
    assert again.resolve() != version and not version.exists()
    assert _notebook_started(again) == started
    assert (again / "report.html").read_bytes() == html
    timings = json.loads((again / "run.json").read_text())["timings"]
    assert timings["notebook_cached"] and timings["html_s"] == 0.0


def test_a_changed_rendering_package_renders_the_notebook_again(rendered: Path, monkeypatch):
    import seglab.run.reports as reports

    started = _notebook_started(rendered)
    key = reports.render_key(REPORT_NOTEBOOK)
    newer = {**key, "packages": {**key["packages"], "matplotlib": "99.0"}}
    monkeypatch.setattr(reports, "render_key", lambda name: newer)
    again = render_report(rendered.parents[2] / "config.yaml", out_root=rendered.parents[1])
    assert _notebook_started(again) > started
    assert not json.loads((again / "run.json").read_text())["timings"]["notebook_cached"]
    html = (again / "report.html").read_text()
    assert "Customer segmentation report" in html and 'src="data:image/png;base64,' in html


def test_a_failing_notebook_is_kept_and_named(tmp_path):
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    failed = tmp_path / "failed"
    with pytest.raises((ReportError, RuntimeError), match="failed in cell"):
        execute(REPORT_NOTEBOOK, tmp_path / REPORT_NOTEBOOK, {"run_dir": str(not_a_run)},
                failed=failed)  # fmt: skip
    assert (failed / REPORT_NOTEBOOK).is_file()


def test_failed_run_keeps_the_last_good_report(rendered: Path, capsys):
    config = rendered.parents[2] / "config.yaml"
    raw = yaml.safe_load(config.read_text())
    raw["data"]["transactions"] = "data/customers.parquet"  # no order_date nor amount
    broken = config.with_name("broken.yaml")
    broken.write_text(yaml.safe_dump(raw))
    good = (rendered / "report.html").read_bytes()
    code = main(["report", "--config", str(broken), "--out", str(rendered.parents[1])])
    assert code == 2
    err = capsys.readouterr().err
    assert "order_date" in err and "Columns found: customer_id" in err
    assert "Traceback" not in err
    assert (rendered / "report.html").read_bytes() == good


def test_monthly_series_renders_and_a_broken_config_keeps_earlier_reports(
    tmp_path, config_writer, capsys
):
    config = config_writer(tmp_path)
    out = tmp_path / "reports"
    args = [
        "report",
        "--config",
        str(config),
        "--from",
        "2026-09-01",
        "--to",
        "2026-10-31",
        "--every",
        "month",
    ]
    assert main([*args, "--out", str(out)]) == 0
    folder = out / "small"
    periods = ["2026-09-30", "2026-10-31"]
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("2026")) == periods
    index = (folder / "index.html").read_text()
    assert all(f'href="{p}/report.html"' in index for p in periods)
    assert 'src="data:image/png;base64,' in index
    # Each report measures migration from the one before.
    october = (folder / "2026-10-31" / "report.html").read_text()
    assert "Since <strong>2026-09-30</strong>" in october
    good = {p: (folder / p / "report.html").read_bytes() for p in periods}

    raw = yaml.safe_load(config.read_text())
    raw["data"]["columns"] = {"customer_id": "no_such_column"}
    config.write_text(yaml.safe_dump(raw))
    capsys.readouterr()
    assert main([*args, "--out", str(out)]) == 2
    assert "no_such_column" in capsys.readouterr().err
    assert {p: (folder / p / "report.html").read_bytes() for p in periods} == good
    assert all(f'href="{p}/report.html"' in (folder / "index.html").read_text() for p in periods)


def test_a_kernel_started_ahead_imports_the_report_modules_and_ends_with_its_block():
    from jupyter_core.utils import run_sync

    # A failed run still shuts the kernel down.
    with pytest.raises(KeyError), kernel_ahead() as kernel:
        client = kernel.blocking_client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        printed = []
        code = "import sys; print(sorted(m for m in sys.modules if m.startswith('seglab.re')))"
        client.execute_interactive(
            code, timeout=120, output_hook=lambda msg: printed.append(msg["content"])
        )
        client.stop_channels()
        raise KeyError("the run failed")
    text = "".join(content.get("text", "") for content in printed)
    assert "seglab.report.figures" in text and "seglab.report.export" in text
    assert not run_sync(kernel.is_alive)()
