"""Report series dates: month and quarter ends, and the previous period each report is
measured from (no notebook is rendered here; tests/test_report.py renders a monthly series)."""

import datetime as dt
from pathlib import Path

import pytest

from seglab.cli import main
from seglab.errors import ConfigError
from seglab.run import reports
from seglab.run.reports import period_ends


def _iso(dates):
    return [d.isoformat() for d in dates]


@pytest.mark.parametrize(
    ("start", "end", "ends"),
    [
        ("2026-01-01", "2026-12-31", ["2026-03-31", "2026-06-30", "2026-09-30", "2026-12-31"]),
        ("2025-11-15", "2026-05-31", ["2025-12-31", "2026-03-31"]),  # mid-quarter on both sides
        ("2024-02-01", "2024-03-31", ["2024-03-31"]),  # the end is included
        ("2024-03-31", "2024-03-31", ["2024-03-31"]),
    ],
)
def test_quarter_ends_by_hand(start, end, ends):
    assert _iso(period_ends(start, end, "quarter")) == ends


def test_no_quarter_end_in_the_range_says_widen_it():
    with pytest.raises(ConfigError, match="no quarter ends between 2026-04-01 and 2026-06-29"):
        period_ends("2026-04-01", "2026-06-29", "quarter")
    with pytest.raises(ConfigError, match="--every must be one of month, quarter, got 'week'"):
        period_ends("2026-01-01", "2026-12-31", "week")


def test_a_quarterly_series_from_the_command_line(
    small_config: Path, tmp_path, monkeypatch, capsys
):
    # Each report is measured from the quarter before it and keeps the previous report's
    # segment ids; the first one from the quarter end three months before it.
    calls = []

    def fake_render(config, *, as_of, previous_as_of, out_root, progress, reference):
        folder = Path(out_root) / "small" / as_of.isoformat()
        folder.mkdir(parents=True)
        calls.append((as_of.isoformat(), previous_as_of.isoformat(), reference))
        return folder

    monkeypatch.setattr(reports, "render_report", fake_render)
    out = tmp_path / "reports"
    args = ["report", "--config", str(small_config), "--out", str(out), "--every", "quarter"]
    assert main([*args, "--from", "2026-02-15", "--to", "2026-10-31"]) == 0
    folder = out / "small"
    assert calls == [
        ("2026-03-31", "2025-12-31", None),
        ("2026-06-30", "2026-03-31", folder / "2026-03-31" / reports.MODEL_FILE),
        ("2026-09-30", "2026-06-30", folder / "2026-06-30" / reports.MODEL_FILE),
    ]
    printed = capsys.readouterr().out
    assert printed.count("report: ") == 3 and str(folder / "2026-09-30" / "report.html") in printed
    assert dt.date.fromisoformat(calls[-1][0]) <= dt.date(2026, 10, 31)
