"""Command line: arguments → config → build; prints the summary and how to load the result."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from builder.config import ConfigError, load_config
from builder.io.readers import InputError
from builder.publish import PublishError
from builder.report import format_summary

USER_ERRORS = (ConfigError, InputError, PublishError)
SUBCOMMANDS = ("publish", "verify")
VERIFY_MISMATCH = 3


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


def subcommand_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zh-corpus-builder", description="Publish or verify an already-built version.")
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish", help="upload a built version folder as a release, without rebuilding it")
    publish.add_argument("version_dir", metavar="OUT/NAME/vX.Y.Z")
    publish.add_argument("--to", choices=["hub"], required=True, help="where to publish")
    publish.add_argument("--repo-id", required=True, metavar="ORG/NAME", help="Hugging Face dataset repository")
    publish.add_argument("--private", action="store_true", help="create the repository private (if it does not exist)")
    verify = commands.add_parser("verify", help="check a version against its MANIFEST.json")
    verify.add_argument("version_dir", metavar="OUT/NAME/vX.Y.Z")
    verify.add_argument("--rebuild", action="store_true", help="also rebuild it from the manifest and compare the bytes")
    for command in (publish, verify):
        loudness = command.add_mutually_exclusive_group()
        loudness.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks")
        loudness.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        args = subcommand_parser().parse_args(argv)
        action = _publish if args.command == "publish" else _verify
    else:
        args = build_parser().parse_args(argv)
        action = _build
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return action(args)
    except USER_ERRORS as err:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was published" if action is _build else "interrupted", file=sys.stderr)
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


def _publish(args: argparse.Namespace) -> int:
    from pathlib import Path

    from builder.publish.hub import HubRepo, publish_to_hub
    from builder.publish.verify import rehash

    version_dir = Path(args.version_dir)
    verdict = rehash(version_dir)
    if not verdict.matches:
        raise PublishError(f"{version_dir} does not match its manifest ({'; '.join(verdict.problems)}): not publishing it")
    progress = not args.quiet and sys.stderr.isatty() and not os.environ.get("CI")
    commit = publish_to_hub(version_dir, HubRepo(args.repo_id, args.private), progress)
    print(f"published {version_dir.name} to {args.repo_id} at commit {commit}, tag {version_dir.name}")
    print(f'load it:   load_dataset("{args.repo_id}", revision="{version_dir.name}")')
    return 0


def _verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from builder.publish.verify import rebuild, rehash

    version_dir = Path(args.version_dir)
    verdicts = [("files", rehash(version_dir))]
    if args.rebuild:
        verdicts.append(("rebuild", rebuild(version_dir)))
    for what, verdict in verdicts:
        outcome = "matches" if verdict.matches else "DOES NOT MATCH"
        print(f"{version_dir.name} {what}: {outcome} the manifest ({verdict.checked} shards and artifacts checked)")
        for problem in verdict.problems:
            print(f"  {problem}")
        for note in verdict.notes:
            print(f"  note: {note}")
    return 0 if all(v.matches for _, v in verdicts) else VERIFY_MISMATCH
