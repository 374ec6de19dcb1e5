"""Run: the typed config, the content-addressed cache, the experiment grid, the orchestrator and
its run folders, and the reports built from them. The command line is its thin face."""
