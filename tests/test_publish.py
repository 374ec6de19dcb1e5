"""Publishing reports: one atomic switch, nothing touched outside the run's folder, no debris."""

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

from seglab.errors import ConfigError
from seglab.run import reports
from seglab.run.config import load_config


def _fake_build(folder: Path, text: str) -> Path:
    work = reports._new_build(folder)
    (work / "report.html").write_text(text)
    return work


def test_a_name_that_is_not_one_folder_is_refused(tmp_path, config_writer):
    for name in ("..", "../escape", "a/b", ".hidden", "", "x" * 101):
        config = config_writer(tmp_path, name=name)
        with pytest.raises(ConfigError, match="one folder name"):
            load_config(config)


def test_the_report_folder_must_lie_inside_the_reports_root(tmp_path):
    with pytest.raises(ConfigError, match="must name one folder inside"):
        reports._report_folder(tmp_path / "reports", "..")
    assert not (tmp_path / ".versions").exists()


def test_publishing_swaps_one_link_and_keeps_one_version(tmp_path):
    folder = reports._report_folder(tmp_path / "reports", "shop")
    first = reports._publish(_fake_build(folder, "first"), folder, "2026-01-31")
    assert first.is_symlink() and (first / "report.html").read_text() == "first"
    old_target = os.readlink(first)
    again = reports._publish(_fake_build(folder, "second"), folder, "2026-01-31")
    assert again == first and (again / "report.html").read_text() == "second"
    assert os.readlink(again) != old_target and not (folder / old_target).exists()
    assert [p.name for p in (folder / ".versions").iterdir()] == [Path(os.readlink(again)).name]
    assert (folder / "index.html").is_file()


def test_a_reader_always_finds_a_report_while_versions_are_published(tmp_path):
    folder = reports._report_folder(tmp_path / "reports", "shop")
    report = reports._publish(_fake_build(folder, "v0"), folder, "2026-01-31") / "report.html"
    seen, stop = [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(report.read_text())
            except FileNotFoundError:
                seen.append(None)

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(1, 30):
        reports._publish(_fake_build(folder, f"v{i}"), folder, "2026-01-31")
    stop.set()
    reader.join()
    assert None not in seen and len(seen) > 30


def test_a_report_from_before_versioning_is_replaced_without_a_gap(tmp_path):
    folder = reports._report_folder(tmp_path / "reports", "shop")
    (folder / "2026-01-31").mkdir()
    (folder / "2026-01-31" / "report.html").write_text("old layout")
    final = reports._publish(_fake_build(folder, "new"), folder, "2026-01-31")
    assert (final / "report.html").read_text() == "new"


def test_published_files_get_normal_permissions(tmp_path):
    folder = reports._report_folder(tmp_path / "reports", "shop")
    final = reports._publish(_fake_build(folder, "x"), folder, "2026-01-31")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((final / "report.html").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(final.resolve().stat().st_mode) == 0o777 & ~mask


def test_builds_of_dead_runs_are_cleaned_up_and_live_ones_kept(tmp_path):
    folder = reports._report_folder(tmp_path / "reports", "shop")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (folder / ".versions" / f".building-{dead.pid}-abc").mkdir()
    live = folder / ".versions" / f".building-{os.getpid()}-def"
    live.mkdir()
    reports._new_build(folder)
    assert not (folder / ".versions" / f".building-{dead.pid}-abc").exists() and live.exists()


def test_a_second_publisher_waits_for_the_first(tmp_path):
    folder = reports._report_folder(tmp_path / "reports", "shop")
    order = []
    with reports._lock(folder):

        def publish() -> None:
            reports._publish(_fake_build(folder, "b"), folder, "2026-01-31")
            order.append("second published")

        thread = threading.Thread(target=publish)
        thread.start()
        time.sleep(1.5)
        order.append("first released")
    thread.join()
    assert order == ["first released", "second published"]


def test_waiting_too_long_for_the_lock_is_a_clear_error(tmp_path):
    folder = reports._report_folder(tmp_path / "reports", "shop")
    with reports._lock(folder):
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from pathlib import Path; from seglab.run import reports; "
             "\ntry:\n    with reports._lock(Path(sys.argv[1]), wait_seconds=1): pass"
             "\nexcept Exception as e: print(type(e).__name__, e)", str(folder)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        out, _ = holder.communicate(timeout=60)
    assert out.startswith("ConfigError another seglab run has been publishing")


def test_nothing_outside_the_reports_folder_is_touched(tmp_path):
    neighbour = tmp_path / "2026-01-31"
    neighbour.mkdir()
    (neighbour / "keep.txt").write_text("mine")
    folder = reports._report_folder(tmp_path / "reports", "shop")
    reports._publish(_fake_build(folder, "x"), folder, "2026-01-31")
    reports._publish(_fake_build(folder, "y"), folder, "2026-01-31")
    assert (neighbour / "keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_workers_leave_within_seconds_when_the_run_is_killed(tmp_path, config_writer):
    config = config_writer(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["data"]["synthetic"]["customers"] = 3000
    raw["experiments"].update(
        n_jobs=2, algorithms=["fuzzy_cmeans", "kmeans", "ward"], k_max=10,
        scalings=["log_standard", "standard", "robust"],
    )  # fmt: skip
    config.write_text(yaml.safe_dump(raw))
    run = psutil.Popen([sys.executable, "-m", "seglab.cli", "run", "--config", str(config)])
    workers: list[psutil.Process] = []
    deadline = time.monotonic() + 240
    while len(workers) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.5)
        workers = [
            p for p in run.children(recursive=True) if "LokyProcess" in " ".join(p.cmdline())
        ]
    assert len(workers) >= 2, "the grid never started its workers"
    solutions = tmp_path / "cache" / "solutions"
    while not (solutions.is_dir() and any(solutions.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.5)  # a solution is stored: the workers are working
    helpers = run.children(recursive=True)  # workers and the resource trackers
    run.send_signal(signal.SIGKILL)
    run.wait()
    _, alive = psutil.wait_procs(helpers, timeout=10)
    assert not alive, f"workers still running 10 s after the run was killed: {alive}"
