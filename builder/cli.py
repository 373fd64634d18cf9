"""Command line: arguments → config → build; prints the summary and how to load the result."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

SUBCOMMANDS = ("publish", "verify", "inspect", "stages", "init", "version")
VERIFY_MISMATCH = 3
log = logging.getLogger("builder")


def tool_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("zh-corpus-builder")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zh-corpus-builder",
        description="Build a clean, deduplicated, versioned Chinese dataset from raw web text.",
        epilog="other commands: init, stages, inspect, verify, publish, version (`python -m builder COMMAND --help`)",
    )
    parser.add_argument("-V", action="version", version=f"zh-corpus-builder {tool_version()}", help="print the tool's version and exit")
    parser.add_argument("--config", required=True, help="YAML config (see configs/zh.yaml, or write one with `init`)")
    parser.add_argument("--input", nargs="+", metavar="PATH_OR_GLOB", help="replace the config's input paths")
    parser.add_argument("--output", metavar="DIR", help="replace the publish root folder")
    parser.add_argument("--version", metavar="X.Y.Z", help="replace the dataset version to publish (the tool's own: -V)")
    parser.add_argument("--workers", type=int, metavar="N", help="replace executor.workers")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--limit", type=int, metavar="N", help="read only the first N documents (still publishes a version)")
    amount.add_argument("--sample", type=int, metavar="N",
                        help="run the stages on a seeded sample of N documents into OUT/NAME/samples/: never a version")
    parser.add_argument("--seed", type=int, default=0, help="with --sample: which sample (default 0)")
    parser.add_argument("--dry-run", action="store_true", help="validate the config and count the input; write nothing")
    parser.add_argument("--fresh", action="store_true",
                        help="start over: ignore (and remove) the finished work an interrupted build of this version left to resume")
    _add_loudness(parser)
    return parser


def _add_loudness(parser: argparse.ArgumentParser) -> None:
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="the builder's steps, and tracebacks")
    loudness.add_argument("-q", "--quiet", action="store_true", help="no progress bar, summary only on errors")
    parser.add_argument("--log-file", metavar="PATH", help="also write the builder's steps (debug level) to this file")


def subcommand_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zh-corpus-builder", description="Publish, verify or inspect a built version; list stages; start a config.")
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish", help="upload a built version folder as a release, without rebuilding it")
    publish.add_argument("version_dir", metavar="OUT/NAME/vX.Y.Z")
    publish.add_argument("--to", choices=["hub"], required=True, help="where to publish")
    publish.add_argument("--repo-id", required=True, metavar="ORG/NAME", help="Hugging Face dataset repository")
    publish.add_argument("--private", action="store_true", help="create the repository private (if it does not exist)")
    verify = commands.add_parser("verify", help="check a version against its MANIFEST.json")
    verify.add_argument("version_dir", metavar="OUT/NAME/vX.Y.Z")
    verify.add_argument("--rebuild", action="store_true", help="also rebuild it from the manifest and compare the bytes")
    inspect = commands.add_parser("inspect", help="show kept and removed documents of a version or a --sample run, with reasons")
    inspect.add_argument("run_dir", metavar="OUT/NAME/vX.Y.Z")
    inspect.add_argument("--reason", help="only documents removed for this reason (e.g. quality.spam, dedup.near); `kept` for kept ones")
    inspect.add_argument("--id", dest="doc_id", help="one document, kept or removed, by id")
    inspect.add_argument("--n", type=int, default=5, help="documents to show per reason (default 5)")
    stages = commands.add_parser("stages", help="every stage, its parameters, defaults and meaning")
    stages.add_argument("--schema", metavar="PATH", help="write the config's JSON Schema here (for editors), '-' for stdout")
    init = commands.add_parser("init", help="write the flagship config to start from")
    init.add_argument("directory", nargs="?", default=".", metavar="DIR")
    commands.add_parser("version", help="print the tool's version")
    for command in (publish, verify, inspect, stages, init):
        _add_loudness(command)
    return parser


def user_errors() -> tuple[type[Exception], ...]:
    """Errors that are the user's to fix (exit 2). Imported here, not at the top: `--help` and
    `version` need none of the builder's modules and answer at once."""
    from builder.config import ConfigError
    from builder.io.readers import InputError
    from builder.publish import PublishError

    return (ConfigError, InputError, PublishError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        args = subcommand_parser().parse_args(argv)
        if args.command == "version":
            print(f"zh-corpus-builder {tool_version()}")
            return 0
        action = {"publish": _publish, "verify": _verify, "inspect": _inspect, "stages": _stages, "init": _init}[args.command]
    else:
        args = build_parser().parse_args(argv)
        action = _build
    _configure_logging(args)
    errors = user_errors()
    try:
        return action(args)
    except errors as err:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        # A build that kept its finished work says how to resume (builder.runner.ResumableInterrupt).
        print(getattr(err, "message", None) or ("interrupted: nothing was published" if action is _build else "interrupted"), file=sys.stderr)
        return 130
    except Exception as err:  # a bug, not a user error: say so, and how to see more
        if args.verbose:
            traceback.print_exc()
        print(f"internal error: {type(err).__name__}: {err} (nothing was published; rerun with -v for the traceback)", file=sys.stderr)
        return 1


def _configure_logging(args: argparse.Namespace) -> None:
    """Only the builder's own logger speaks up with -v: libraries (matplotlib's font search...) stay at warnings."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.DEBUG if args.verbose or args.log_file else logging.WARNING)
    if args.log_file:
        handler = logging.FileHandler(args.log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        if not args.verbose:  # the file gets every step; the terminal only warnings
            for root_handler in logging.getLogger().handlers:
                root_handler.setLevel(logging.WARNING)


# Command-line flags that replace config keys, so a bad value is blamed on the flag, not on a line of the file.
FLAGS = {"input.paths": "--input", "publish.root": "--output", "version": "--version", "executor.workers": "--workers"}


def _build(args: argparse.Namespace) -> int:
    from builder.config import ConfigError, load_config, locate
    from builder.io.readers import InputError
    from builder.report import format_summary
    from builder.runner import Build

    overrides = {}
    if args.input:
        overrides["input.paths"] = args.input
    if args.output:
        overrides["publish.root"] = args.output
    if args.version:
        overrides["version"] = args.version
    if args.workers is not None:
        overrides["executor.workers"] = args.workers
    for flag, value in (("--limit", args.limit), ("--sample", args.sample)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} {value}: must be a positive number of documents")
    config = load_config(args.config, overrides, FLAGS)
    progress = not args.quiet and sys.stderr.isatty() and not os.environ.get("CI")
    try:
        build = Build(config, limit=args.limit, progress=progress, sample=args.sample, seed=args.seed, fresh=args.fresh)
    except InputError as err:
        pattern = getattr(err, "pattern", None)
        if args.input or pattern not in config.input.paths:
            raise
        where = locate(args.config, ("input", "paths", config.input.paths.index(pattern)))
        raise ConfigError(f"{where}: input.paths[{config.input.paths.index(pattern)}]: {err}") from None
    if args.dry_run:
        result = build.count_only()
        print(format_summary(config, result))
        return 0
    result = build.run_sample() if args.sample else build.run()
    if not args.quiet:
        print(format_summary(config, result))
    else:
        print(result.sample_dir or result.version_dir)
    return 0


def _publish(args: argparse.Namespace) -> int:
    from pathlib import Path

    from builder.publish import PublishError
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
        print(f"{version_dir.name} {what}: {outcome} the manifest ({verdict.checked} shards, artifacts and files checked)")
        for problem in verdict.problems:
            print(f"  {problem}")
        for note in verdict.notes:
            print(f"  note: {note}")
    return 0 if all(v.matches for _, v in verdicts) else VERIFY_MISMATCH


def _inspect(args: argparse.Namespace) -> int:
    from pathlib import Path

    from builder.inspect import inspect_run

    print(inspect_run(Path(args.run_dir), reason=args.reason, doc_id=args.doc_id, n=args.n))
    return 0


def _stages(args: argparse.Namespace) -> int:
    import json

    from builder.explain import config_schema, describe_stages

    if args.schema:
        text = json.dumps(config_schema(), ensure_ascii=False, indent=2) + "\n"
        if args.schema == "-":
            sys.stdout.write(text)
        else:
            with open(args.schema, "w", encoding="utf-8") as handle:
                handle.write(text)
            print(f"wrote the config's JSON Schema to {args.schema}")
            print(f"use it in an editor: put `# yaml-language-server: $schema={args.schema}` on the first line of your config")
        return 0
    print(describe_stages())
    return 0


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from builder.explain import write_starter

    written = write_starter(Path(args.directory))
    print(f"wrote {written}")
    print("next: set input.paths in it to your files, then try it on a sample (nothing is published):")
    print(f"  python -m builder --config {written} --sample 2000")
    print("and build the first version when the funnel looks right:")
    print(f"  python -m builder --config {written}")
    return 0
