import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from seglab import cli
from seglab.cli import main


def test_misspelled_key_exits_2_naming_key_and_suggestion(tmp_path: Path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("name: x\nseeed: 1\ndata:\n  transactions: tx.parquet\n")
    assert main(["report", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'seeed'; did you mean 'seed'?" in err
    assert "Traceback" not in err


def test_missing_customer_column_exits_2(tmp_path: Path, capsys):
    pd.DataFrame({"order_date": ["2024-01-01"], "amount": [3.0]}).to_csv(
        tmp_path / "tx.csv", index=False
    )
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "x", "data": {"transactions": "tx.csv"}}))
    assert main(["validate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "customer_id not found. Columns found: order_date, amount" in err


def test_synth_then_features(tmp_path: Path, small_config: Path, capsys):
    assert main(["synth", "--customers", "30", "--seed", "4", "--out", str(tmp_path / "s")]) == 0
    assert pd.read_parquet(tmp_path / "s" / "customers.parquet").shape[0] == 30
    out = tmp_path / "f.csv"
    assert (
        main(
            ["features", "--config", str(small_config), "--as-of", "2026-06-30", "--out", str(out)]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert table.columns[0] == "customer_id" and table["customer_id"].is_unique
    assert (table["recency_days"] >= 0).all()


def test_bad_as_of_exits_2(small_config: Path, tmp_path: Path, capsys):
    assert (
        main(
            [
                "features",
                "--config",
                str(small_config),
                "--as-of",
                "31/10/2026",
                "--out",
                str(tmp_path / "f.parquet"),
            ]
        )
        == 2
    )
    assert "expected YYYY-MM-DD" in capsys.readouterr().err


def test_run_reports_cache_hits_on_the_second_call(small_config: Path, tmp_path: Path, capsys):
    out = tmp_path / "results.csv"
    assert main(["run", "--config", str(small_config), "--out", str(out)]) == 0
    assert "10 solutions: 0 from the cache, 10 fitted" in capsys.readouterr().out
    assert main(["run", "--config", str(small_config)]) == 0
    assert "(served whole from the cache)" in capsys.readouterr().out
    assert len(pd.read_csv(out)) == 10


@pytest.mark.parametrize("command", ["synth", "validate", "features", "segments", "run", "report"])
def test_help_for_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: seglab" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-12-31"], "must be dates YYYY-MM-DD"),
        (
            ["--from", "2026-01-01", "--to", "2026-03-31", "--previous", "2025-12-31"],
            "either --as-of/--previous",
        ),
        (["--as-of", "2026-06-30", "--previous", "2026-07-31"], "must come before as_of"),
        (["--from", "2026-01-01"], "needs both --from and --to"),
    ],
)
def test_report_dates_are_checked(small_config: Path, extra, message, capsys):
    assert main(["report", "--config", str(small_config), *extra]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("result.json", "cannot write '.json' files; end the file name in .parquet or .csv"),
        ("folder", "is a folder"),
        ("afile.txt/x.csv", "is a file, not a folder"),
        ("/proc/seglab-test/x.csv", "cannot write there"),  # no one may write there, not root
    ],
)
def test_output_paths_that_cannot_be_written_are_user_errors(
    small_config, tmp_path, capsys, out, message
):
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile.txt").write_text("")
    code = main(["segments", "--config", str(small_config), "--out", str(tmp_path / out)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def _internal_error(args):
    raise RuntimeError("an internal bug")


def test_an_internal_error_is_not_passed_off_as_a_user_error(monkeypatch, small_config, capsys):
    # Exit 2 is for user mistakes only; anything else must escape main() (and so exit 1).
    monkeypatch.setattr(cli, "_validate", _internal_error)
    with pytest.raises(RuntimeError, match="an internal bug"):
        main(["validate", "--config", str(small_config)])
    assert "seglab: error" not in capsys.readouterr().err


def test_an_internal_error_exits_1_with_the_traceback(small_config):
    # The installed command is `sys.exit(seglab.cli.main())`; run it the same way in a fresh
    # interpreter, with a handler that fails the way a bug does.
    script = (
        "import sys\n"
        "import seglab.cli as cli\n"
        "def broken(args):\n"
        "    raise RuntimeError('an internal bug')\n"
        "cli._validate = broken\n"
        "sys.argv = ['seglab', 'validate', '--config', sys.argv[1]]\n"
        "sys.exit(cli.main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", script, str(small_config)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback (most recent call last)" in done.stderr
    assert "RuntimeError: an internal bug" in done.stderr
    assert "seglab: error" not in done.stderr
