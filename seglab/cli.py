"""The ``seglab`` command: synth, validate, features, segments, run, report, score, cache.

Exit codes: 0 success; 2 a user error (bad config, bad data, bad arguments), printed as one
paragraph without a traceback; 1 an internal error (a bug: the traceback is printed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from seglab.errors import ConfigError, SeglabError

__all__ = ["main"]

USER_ERROR = 2
TABLE_FORMATS = (".parquet", ".csv")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="seglab: %(message)s")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except SeglabError as exc:
        print(f"seglab: error: {exc}", file=sys.stderr)
        return USER_ERROR


def _synth(args: argparse.Namespace) -> int:
    from seglab.data import synth

    if args.customers > args.part_customers:
        out = Path(args.out)
        paths = synth.write_parts(
            args.customers, out / "transactions", out / "customers.parquet",
            seed=args.seed, part_customers=args.part_customers, progress=not args.quiet,
        )  # fmt: skip
    else:
        paths = synth.write(synth.generate(args.customers, seed=args.seed), args.out)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from seglab.data.reading import load
    from seglab.run.config import load_config

    config = load_config(args.config)
    data = load(config.data)
    print(f"config '{config.name}' is valid; transactions: {config.data.transactions}")
    print(data.cleaning.to_frame().to_string(index=False))
    return 0


def _features(args: argparse.Namespace) -> int:
    from seglab.run.pipeline import customer_features

    features = customer_features(args.config, as_of=args.as_of)
    table = features.table.reset_index()
    _write_table(table, Path(args.out))
    print(
        f"{len(table)} customers x {table.shape[1] - 1} features as of {features.as_of}: {args.out}"
    )
    return 0


def _segments(args: argparse.Namespace) -> int:
    import pandas as pd

    from seglab.run.pipeline import run_heuristics

    features, result = run_heuristics(args.config, as_of=args.as_of)
    as_of = features.as_of
    table = result.labels.astype(str).join(result.tags).reset_index()
    _write_table(table, Path(args.out))
    with pd.option_context("display.width", 160, "display.max_columns", 12):
        for name, summary in result.summaries.items():
            print(f"\n== {name}\n{summary.to_string(index=False)}")
    for row in result.skipped.itertuples():
        print(f"skipped {row.scheme}: {row.reason}")
    for scheme, warnings in result.warnings.groupby("scheme", sort=False):
        for message in warnings["message"].head(3):
            print(f"warning {scheme}: {message}")
        if len(warnings) > 3:
            print(f"warning {scheme}: (+{len(warnings) - 3} more)")
    print(f"\n{len(table)} customers x {result.labels.shape[1]} schemes as of {as_of}: {args.out}")
    return 0


def _write_table(table, out: Path) -> None:
    """Write `table` to `out`; its extension chooses the format (.parquet or .csv)."""
    suffix = out.suffix.lower()
    if out.is_dir():
        raise ConfigError(f"--out '{out}' is a folder; give a file name ending in .parquet or .csv")
    if suffix not in TABLE_FORMATS:
        raise ConfigError(
            f"--out '{out}': cannot write '{out.suffix or 'no extension'}' files; end the file "
            f"name in {' or '.join(TABLE_FORMATS)}"
        )
    parent = next((p for p in [out.parent, *out.parent.parents] if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(f"--out '{out}': '{parent}' is a file, not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            table.to_csv(out, index=False)
        else:
            table.to_parquet(out, index=False)
    except OSError as exc:
        raise ConfigError(
            f"--out '{out}': cannot write there ({exc.strerror}); choose a folder you may write to"
        ) from None


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from seglab.run.pipeline import compute_run, is_cached, open_run

    reused = is_cached(args.config, as_of=args.as_of)
    folder = compute_run(args.config, as_of=args.as_of, progress=not args.quiet)
    run = open_run(folder)
    columns = ["rank", "solution", "votes", "n_voting", "reference_silhouette", "balance"]
    with pd.option_context("display.width", 160, "display.max_columns", 10):
        print(run.choice.top()[columns].to_string(index=False))
    print(
        f"\n{len(run.grid.results)} solutions: {run.grid.cache_hits} from the cache, "
        f"{run.grid.computed} fitted; chosen ({run.choice.chosen_by}): {run.choice.solution}"
    )
    print(run.choice.statement)
    print(f"run folder: {folder}" + (" (served whole from the cache)" if reused else ""))
    if args.out:
        _write_table(run.grid.results, Path(args.out))
        print(f"results: {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from seglab.run.reports import render_report, render_series

    series = (args.start, args.end)
    if any(series) and not all(series):
        raise ConfigError("a series needs both --from and --to (and --every month|quarter)")
    if all(series):
        if args.as_of or args.previous:
            raise ConfigError(
                "give either --as-of/--previous (one report) or --from/--to (a series, where "
                "each report's previous period is the one before)"
            )
        folders = render_series(
            args.config, start=args.start, end=args.end, every=args.every, out_root=args.out,
            progress=not args.quiet,
        )  # fmt: skip
        for folder in folders:
            print(f"report: {folder / 'report.html'}")
        print(f"index: {folders[-1].parent / 'index.html'}")
        return 0
    folder = render_report(
        args.config, as_of=args.as_of, previous_as_of=args.previous, out_root=args.out,
        progress=not args.quiet,
    )  # fmt: skip
    print(f"report: {folder / 'report.html'}")
    return 0


def _score(args: argparse.Namespace) -> int:
    import pandas as pd

    from seglab.interpret.identity import segment_number
    from seglab.run.scoring import score

    scores = score(args.model, args.config, as_of=args.as_of)
    table = scores.customers
    counts = table.groupby(["segment_id", "segment_name"]).size().reset_index()
    counts = counts.sort_values("segment_id", key=lambda ids: ids.map(segment_number))
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(counts.rename(columns={0: "customers"}).to_string(index=False))
        print("\ndrift against the training customers (population stability index):")
        print(scores.drift.to_string(index=False))
    for warning in scores.warnings:
        print(f"warning: {warning}")
    if args.out:
        _write_table(table.reset_index(), Path(args.out))
        print(f"{len(table)} customers scored: {args.out}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    import pandas as pd

    from seglab.run.cache import Cache
    from seglab.run.config import load_config

    cache = Cache(load_config(args.config).cache_dir)
    if cache.root is None:
        print("this config caches nothing (cache_dir: null)")
        return 0
    if args.action == "prune":
        removed, freed = cache.prune(args.older_than)
        age = "" if args.older_than is None else f" unused for {args.older_than:g} days"
        print(f"removed {removed} entries{age} ({freed / 1e6:,.1f} MB) from {cache.root}")
        return 0
    table = cache.info()
    print(f"cache: {cache.root}")
    with pd.option_context("display.width", 160):
        print(table.to_string(index=False) if len(table) else "(empty)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seglab", description="Customer segmentation workbench: data, features, reports."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument(
        "--quiet", action="store_true",
        help="no progress bars (they are also off when the output is not a terminal)",
    )  # fmt: skip

    synth = commands.add_parser(
        "synth", parents=[quiet], help="generate the synthetic transactions and customers"
    )
    synth.add_argument("--customers", type=int, default=20_000, help="number of customers")
    synth.add_argument("--seed", type=int, default=0, help="random seed")
    synth.add_argument("--out", required=True, help="folder for the two Parquet files")
    synth.add_argument(
        "--part-customers",
        type=int,
        default=200_000,
        help="above this many customers, write the transactions as a folder of parts of this "
        "many customers each, in bounded memory (default 200000)",
    )
    synth.set_defaults(handler=_synth)

    validate = commands.add_parser("validate", help="check a config and its data")
    validate.add_argument("--config", required=True, help="YAML config file")
    validate.set_defaults(handler=_validate)

    features = commands.add_parser("features", help="write the customer feature table")
    features.add_argument("--config", required=True, help="YAML config file")
    features.add_argument("--as-of", help="report date YYYY-MM-DD (default: the config's)")
    features.add_argument("--out", required=True, help="output .parquet or .csv file")
    features.set_defaults(handler=_features)

    segments = commands.add_parser(
        "segments", help="label every customer with every heuristic scheme (RFM, ABC, ...)"
    )
    segments.add_argument("--config", required=True, help="YAML config file")
    segments.add_argument("--as-of", help="report date YYYY-MM-DD (default: the config's)")
    segments.add_argument("--out", required=True, help="output .parquet or .csv file")
    segments.set_defaults(handler=_segments)

    run = commands.add_parser(
        "run", parents=[quiet],
        help="compute every stage and write the run folder (cached: a rerun reuses it)",
    )  # fmt: skip
    run.add_argument("--config", required=True, help="YAML config file")
    run.add_argument("--as-of", help="report date YYYY-MM-DD (default: the config's)")
    run.add_argument("--out", help="optional .parquet or .csv file for the results table")
    run.set_defaults(handler=_run)

    score = commands.add_parser(
        "score", help="assign customers to the segments of a saved segmentation"
    )
    score.add_argument("--model", required=True, help="segmentation.skops written beside a report")
    score.add_argument("--config", required=True, help="YAML config naming the transactions")
    score.add_argument("--as-of", help="date YYYY-MM-DD the features describe (default: config's)")
    score.add_argument("--out", help="optional .parquet or .csv file for the scored customers")
    score.set_defaults(handler=_score)

    cache = commands.add_parser(
        "cache", help="show or trim the cache of features, solutions and runs"
    )
    cache.add_argument("action", choices=["info", "prune"], help="info: sizes; prune: delete")
    cache.add_argument("--config", required=True, help="YAML config file (names the cache)")
    cache.add_argument(
        "--older-than", type=float, metavar="DAYS",
        help="prune only entries unused for more than DAYS days (default: every entry)",
    )  # fmt: skip
    cache.set_defaults(handler=_cache)

    report = commands.add_parser(
        "report", parents=[quiet], help="render the HTML report for one date, or a series of dates"
    )
    report.add_argument("--config", required=True, help="YAML config file")
    report.add_argument("--as-of", help="report date YYYY-MM-DD (default: the config's)")
    report.add_argument(
        "--previous", help="date migration is measured from (default: one month before)"
    )
    report.add_argument("--from", dest="start", help="first date of a series of reports")
    report.add_argument("--to", dest="end", help="last date of a series of reports")
    report.add_argument(
        "--every", choices=["month", "quarter"], default="month", help="period of a series"
    )
    report.add_argument("--out", default="reports", help="reports root (default: reports/)")
    report.set_defaults(handler=_report)
    return parser


if __name__ == "__main__":
    sys.exit(main())
