"""Command line: arguments → config → build; prints the summary and how to load the result."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from builder.config import ConfigError, load_config
from builder.io.readers import InputError
from builder.publish.local import VersionExists
from builder.report import format_summary

USER_ERRORS = (ConfigError, InputError, VersionExists)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zh-corpus-builder",
        description="Build a clean, deduplicated, versioned Chinese dataset from raw web text.",
    )
    parser.add_argument("--config", required=True, help="YAML config (see configs/zh.yaml)")
    parser.add_argument("--input", nargs="+", metavar="PATH_OR_GLOB", help="replace the config's input paths")
    parser.add_argument("--output", metavar="DIR", help="replace the publish root folder")
    parser.add_argument("--version", metavar="X.Y.Z", help="replace the version to publish")
    parser.add_argument("--limit", type=int, metavar="N", help="read only the first N documents")
    parser.add_argument("--dry-run", action="store_true", help="validate the config and count the input; write nothing")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks")
    loudness.add_argument("-q", "--quiet", action="store_true", help="no progress bar, summary only on errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _build(args)
    except USER_ERRORS as err:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was published", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, not a user error: say so, and how to see more
        if args.verbose:
            traceback.print_exc()
        print(f"internal error: {type(err).__name__}: {err} (nothing was published; rerun with -v for the traceback)", file=sys.stderr)
        return 1


def _build(args: argparse.Namespace) -> int:
    from builder.runner import Build

    overrides = {}
    if args.input:
        overrides["input.paths"] = args.input
    if args.output:
        overrides["publish.root"] = args.output
    if args.version:
        overrides["version"] = args.version
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be a positive number of documents")
    config = load_config(args.config, overrides)
    progress = not args.quiet and sys.stderr.isatty() and not os.environ.get("CI")
    build = Build(config, limit=args.limit, progress=progress)
    if args.dry_run:
        result = build.count_only()
        print(format_summary(config, result))
        return 0
    result = build.run()
    if not args.quiet:
        print(format_summary(config, result))
    else:
        print(result.version_dir)
    return 0
