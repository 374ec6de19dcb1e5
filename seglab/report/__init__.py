"""Report: figures (plain data in, a Figure out), the report's sentences, papermill rendering of
the packaged notebooks, and the index page of a series."""
