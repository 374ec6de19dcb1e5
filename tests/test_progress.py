"""Progress bars: on a terminal, never with --quiet or when the output is not a terminal."""

from __future__ import annotations

import io
import sys

from seglab.progress import progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_shows_the_bar(monkeypatch):
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    assert list(progress_bar(range(3), desc="grid", unit="job")) == [0, 1, 2]
    assert "grid" in screen.getvalue() and "3/3" in screen.getvalue()


def test_quiet_and_a_log_file_show_nothing(monkeypatch):
    for stream, enabled in ((_Terminal(), False), (io.StringIO(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        assert list(progress_bar(range(3), desc="grid", enabled=enabled)) == [0, 1, 2]
        assert stream.getvalue() == ""
