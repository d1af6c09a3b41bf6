"""`cookbook14`: validate Knative releases on top of single `pytest suites/` runs.

    cookbook14 matrix --versions book,1.14,latest [--parallel N] [pytest args...]
    cookbook14 report RUN_DIR... [--out DIR]
    cookbook14 compare BASELINE NEW
    cookbook14 releases [--release-mirror URL]
    cookbook14 versions [--versions supported]      # the version list as JSON (for CI)

Exit status as the main command's: 0 fine, 1 something failed (a check, a newly broken
recipe, a catalog behind upstream), 2 interrupted, 3 upstream or a cluster unreachable, 4 a bad
option; errors are one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cookbook14 import compat, upstream
from cookbook14.catalog import Catalog
from cookbook14.errors import HarnessError, UsageError
from cookbook14.matrix import MatrixRunner, check_matrix, expand_versions, plan_runs
from cookbook14.report import new_folder

EXIT_FAILED, EXIT_INTERRUPTED, EXIT_UNREACHABLE, EXIT_USAGE = 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit 2
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cookbook14", description=__doc__.split("\n", 1)[0], allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    matrix = commands.add_parser(
        "matrix",
        allow_abbrev=False,
        help="one `pytest suites/` run per version, then the report",
        description="Arguments not listed here go to every run's pytest (e.g. -m recipe_14_1).",
    )
    matrix.add_argument("--versions", required=True, help="book,1.14,latest,1.23.1 or supported")
    matrix.add_argument("--parallel", type=int, default=1, help="runs at once (default 1)")
    matrix.add_argument("--cluster", choices=("kind", "existing"), default="kind")
    matrix.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="VERSION=CONTEXT",
        help="with --cluster existing: the kubeconfig context for a version (one per version)",
    )
    matrix.add_argument("--kubeconfig", default=None)
    matrix.add_argument(
        "--reports-dir", default="reports", help="where the matrix folder goes (default reports/)"
    )

    report = commands.add_parser(
        "report", allow_abbrev=False, help="matrix.json/md/html from run folders"
    )
    report.add_argument(
        "runs", nargs="+", type=Path, help="run folders, or folders holding run folders"
    )
    report.add_argument("--out", type=Path, default=Path("reports"), help="default reports/")

    compare = commands.add_parser(
        "compare", allow_abbrev=False, help="what newly broke, got fixed, got markedly slower"
    )
    compare.add_argument("baseline", type=Path, help="a run folder or matrix.json")
    compare.add_argument("new", type=Path, help="a run folder or matrix.json")

    releases = commands.add_parser(
        "releases", allow_abbrev=False, help="upstream releases the catalog does not know"
    )
    releases.add_argument("--release-mirror", default=None, metavar="URL")

    versions = commands.add_parser(
        "versions", allow_abbrev=False, help="the versions to validate, as a JSON list"
    )
    versions.add_argument("--versions", default="supported")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args, rest = _parser().parse_known_args(args_list)
        if rest and args.command != "matrix":
            raise UsageError(
                f"cookbook14 {args.command}: unrecognized arguments: {' '.join(rest)} "
                f"(see cookbook14 {args.command} --help)"
            )
        handler = {
            "matrix": _matrix,
            "report": _report,
            "compare": _compare,
            "releases": _releases,
            "versions": _versions,
        }[args.command]
        return handler(args, rest)
    except UsageError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return EXIT_USAGE
    except HarnessError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _contexts(values: list[str]) -> dict[str, str]:
    contexts = {}
    for value in values:
        version, sep, context = value.partition("=")
        if not sep or not version or not context:
            raise UsageError(f"--context {value!r} must be VERSION=CONTEXT, e.g. 1.14=kind-a")
        contexts[version] = context
    return contexts


def _matrix(args: argparse.Namespace, rest: list[str]) -> int:
    pytest_args = rest[1:] if rest[:1] == ["--"] else rest
    versions = expand_versions(args.versions, Catalog.load())
    contexts = _contexts(args.context)
    # Refused before the matrix folder exists: a bad option leaves nothing behind.
    check_matrix(versions, args.cluster, contexts, args.parallel)
    folder = new_folder(Path(args.reports_dir), time.strftime("matrix-%Y%m%d-%H%M%S"))
    runs = plan_runs(versions, folder, args.cluster, contexts)
    runner = MatrixRunner(runs, pytest_args, args.cluster, args.kubeconfig, args.parallel, say=_say)
    _say(f"matrix of {', '.join(versions)} in {folder} ({args.parallel} at a time)")
    finished = runner.run()
    folders = [run.folder for run in runs if run.folder is not None]
    for run in runs:
        if run.folder is None and run.started is not None:
            tail = run.log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            _say(f"[{run.label}] wrote no report: {tail[0]}")
    if folders:
        for run_folder in folders:
            compat.write_run_report(run_folder)
        paths = compat.write_matrix(compat.build_matrix(folders), folder)
        _say(f"matrix: {paths['html']}")
    if not finished:
        return EXIT_INTERRUPTED
    every_run_passed = all(run.returncode == 0 for run in runs) and len(folders) == len(runs)
    return 0 if every_run_passed else EXIT_FAILED


def run_folders(paths: list[Path]) -> list[Path]:
    """Run folders: each path itself, or the run folders found below it (downloaded artifacts)."""
    found: list[Path] = []
    for path in paths:
        if (path / "summary.json").is_file():
            found.append(path)
            continue
        below = sorted(summary.parent for summary in path.rglob("summary.json"))
        if not below:
            raise UsageError(f"{path} holds no run folder (no summary.json in or below it)")
        found += below
    return found


def _report(args: argparse.Namespace, rest: list[str]) -> int:
    folders = run_folders(args.runs)
    for folder in folders:
        compat.write_run_report(folder)
    paths = compat.write_matrix(compat.build_matrix(folders), args.out)
    for path in paths.values():
        print(path)
    return 0


def _compare(args: argparse.Namespace, rest: list[str]) -> int:
    comparison = compat.compare(compat.load(args.baseline), compat.load(args.new))
    print(comparison.text())
    return EXIT_FAILED if comparison.newly_broken else 0


def _releases(args: argparse.Namespace, rest: list[str]) -> int:
    catalog = Catalog.load()
    unknown = upstream.unknown_to_catalog(
        catalog, upstream.upstream_releases(catalog, args.release_mirror)
    )
    if not unknown:
        print("the catalog knows every upstream release")
        return 0
    print("releases the catalog does not know:")
    for release in unknown:
        print(f"  {release.repo} {release.tag} ({release.published or 'date unknown'})")
    entries = upstream.catalog_entries(catalog, unknown)
    if entries:
        print(
            "\nnew minor(s): add to cookbook14/catalog.yaml (fields marked "
            f"{upstream.TO_FILL!r} need a person):\n"
        )
        print(upstream.entries_yaml(entries), end="")
    else:
        print("\nnewer patches: raise the minor's versions in cookbook14/catalog.yaml")
    return EXIT_FAILED


def _versions(args: argparse.Namespace, rest: list[str]) -> int:
    print(json.dumps(expand_versions(args.versions, Catalog.load())))
    return 0


def _say(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    sys.exit(main())
