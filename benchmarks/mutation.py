"""Mutation score of the harness's core: would the self-tests notice if it were wrong?

    .venv/bin/python benchmarks/mutation.py [--per-module N] [--seed S] [--module NAME]

Makes small, plausible one-place mistakes in cookbook14/ (a comparison flipped, a condition
negated, `and` for `or`, a constant changed, a call's result dropped), one at a time, in a
throwaway copy of the checkout, and runs the self-tests that cover that module against each.
A mutant is killed when those tests fail. Prints each survivor (file:line, the change) and the
score; nothing is asserted.

Why not mutmut or cosmic-ray: most harness tests run `pytest suites/` and the tool doubles in
subprocesses, which mutmut 3's in-process trampolines never reach; cosmic-ray mutates in place
and would run every operator on every node (hundreds of mutants a module at 20-60 s of tests
each: hours on two cores). This samples N mutants a module, deterministically per seed, and
runs only the tests mapped to the module.
"""

from __future__ import annotations

import argparse
import ast
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Module -> the self-tests that answer for it (kept short: each mutant runs them). Fast,
# in-process tests first: `-x` stops at the first failure, so most mutants die in seconds.
E2E = "tests/test_suites_e2e.py::"
ERROR_PATHS = "tests/test_error_paths.py::"
# The access layer's edge cases, but for the whole run behind a dead proxy: ~100 s alone on a
# loaded machine, and the proxy choice it tests is not in the sampled modules' core.
KUBE_EDGES = [
    "tests/test_kube_edges.py",
    "--deselect",
    "tests/test_kube_edges.py::test_a_run_behind_a_dead_proxy_passes_against_a_loopback_cluster",
]
TESTS = {
    "cookbook14/waits.py": [
        "tests/test_error_paths.py",
        "tests/test_kube_waits.py",
        *KUBE_EDGES,
        E2E + "test_a_timed_out_step_reports_the_clusters_evidence",
    ],
    "cookbook14/steps.py": [
        "tests/test_steps.py",
        ERROR_PATHS + "test_a_malformed_release_file_fails_its_step_with_the_cause",
        E2E + "test_a_failed_operator_step_blocks_every_later_recipe",
        E2E + "test_a_timed_out_step_reports_the_clusters_evidence",
    ],
    # The access layer, the apply path (Kube.apply) included.
    "cookbook14/kube.py": [
        "tests/test_error_paths.py",
        "tests/test_kube_waits.py",
        *KUBE_EDGES,
    ],
    "cookbook14/report.py": [
        ERROR_PATHS + "test_blocked_skipped_and_incomplete_recipes_in_summary_and_report",
        ERROR_PATHS + "test_runs_starting_in_the_same_second_get_folders_of_their_own",
        ERROR_PATHS + "test_evidence_files_are_written_into_a_run_folder_not_made_yet",
        "tests/test_provenance.py::test_the_report_lists_assets_and_their_drift",
        E2E + "test_recipe_14_1_passes_on_an_existing_cluster",
        E2E + "test_a_failed_operator_step_blocks_every_later_recipe",
        E2E + "test_a_timed_out_step_reports_the_clusters_evidence",
        E2E + "test_an_interrupted_run_deletes_the_cluster_it_created[ctrl-c]",
    ],
    "cookbook14/providers.py": [
        ERROR_PATHS + "test_a_kind_clusters_kubeconfig_is_readable_by_its_owner_only",
        "tests/test_providers.py",
        E2E + "test_kind_cluster_is_created_used_and_deleted",
        E2E + "test_existing_kind_cluster_is_reused_and_kept",
        E2E + "test_keep_cluster_keeps_what_the_run_created",
        E2E + "test_failure_on_kind_exports_logs_then_deletes",
        ERROR_PATHS + "test_a_cluster_that_cannot_be_deleted_is_a_warning_not_a_failure",
    ],
}
FLIPPED = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    path: str
    line: int
    start: tuple[int, int]
    end: tuple[int, int]
    original: str
    replacement: str

    def describe(self) -> str:
        return f"{self.path}:{self.line}: {self.original!r} -> {self.replacement!r}"


def mutants_of(path: str, root: Path = ROOT) -> list[Mutant]:
    source = (root / path).read_text()
    tree = ast.parse(source)
    found: list[Mutant] = []

    def add(node: ast.AST, replacement: ast.AST | str) -> None:
        original = ast.get_source_segment(source, node)
        if original is None:
            return
        text = replacement if isinstance(replacement, str) else ast.unparse(replacement)
        if text != original and "\n" not in original:
            found.append(
                Mutant(
                    path,
                    node.lineno,
                    (node.lineno, node.col_offset),
                    (node.end_lineno, node.end_col_offset),
                    original,
                    text,
                )
            )

    docstrings = {
        id(body[0].value)
        for body in (getattr(n, "body", None) for n in ast.walk(tree) if isinstance(n, ast.AST))
        if isinstance(body, list)
        and body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            flipped = FLIPPED.get(type(node.ops[0]))
            if flipped:
                add(node, ast.Compare(node.left, [flipped()], node.comparators))
        elif isinstance(node, ast.BoolOp):
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            add(node, ast.BoolOp(other, node.values))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, node.operand)
        elif isinstance(node, (ast.If, ast.While)) and not isinstance(node.test, ast.UnaryOp):
            add(node.test, ast.UnaryOp(ast.Not(), node.test))
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            if isinstance(node.value, bool):
                add(node, repr(not node.value))
            elif isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                add(node, repr(node.value + 1 if node.value == 0 else node.value * 2))
        elif isinstance(node, ast.Return) and node.value is not None:
            add(node, "return None")
    return found


def apply(mutant: Mutant, source: str) -> str:
    lines = source.splitlines(keepends=True)
    (row, col), (end_row, end_col) = mutant.start, mutant.end
    line = lines[row - 1]
    assert row == end_row and line[col:end_col] == mutant.original, mutant
    lines[row - 1] = line[:col] + mutant.replacement + line[end_col:]
    return "".join(lines)


def copy_checkout(target: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def failure(copy: Path, tests: list[str], timeout: float) -> str | None:
    """Why the tests fail in `copy` (pytest's summary line), None when they pass."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=copy,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"no result within {timeout:.0f}s"  # a mutant that hangs the tests is noticed
    if result.returncode == 0:
        return None
    failed = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return (failed or result.stdout.strip().splitlines()[-1:] or ["no output"])[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-module", type=int, default=12, help="mutants per module (12)")
    parser.add_argument("--seed", type=int, default=14, help="sampling seed (14)")
    parser.add_argument("--module", action="append", help="only this module (repeatable)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per test run")
    args = parser.parse_args()
    modules = args.module or list(TESTS)
    unknown = [m for m in modules if m not in TESTS]
    if unknown:
        parser.error(f"--module {unknown[0]}: accepted: {', '.join(TESTS)}")
    rng = random.Random(args.seed)
    total = dead = 0
    survivors: list[str] = []
    per_module: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="cookbook14-mutants-") as folder:
        copy = Path(folder)
        copy_checkout(copy)
        for module in modules:
            broken = failure(copy, TESTS[module], args.timeout)
            if broken:
                print(f"skipped  {module}: its tests fail without any mutant ({broken})")
                continue
            # From the copy: the checkout may change while this runs.
            candidates = mutants_of(module, copy)
            chosen = rng.sample(candidates, min(args.per_module, len(candidates)))
            original = (copy / module).read_text()
            for mutant in sorted(chosen, key=lambda m: m.line):
                started = time.monotonic()
                (copy / module).write_text(apply(mutant, original))
                try:
                    noticed = failure(copy, TESTS[module], args.timeout) is not None
                finally:
                    (copy / module).write_text(original)
                total += 1
                dead += noticed
                killed_here, tried_here = per_module.get(module, (0, 0))
                per_module[module] = (killed_here + noticed, tried_here + 1)
                verdict = "killed" if noticed else "SURVIVED"
                print(
                    f"{verdict:8} {mutant.describe()} ({time.monotonic() - started:.0f}s)",
                    flush=True,
                )
                if not noticed:
                    survivors.append(mutant.describe())
    print()
    for module, (killed_here, tried_here) in per_module.items():
        print(f"{module}: {killed_here}/{tried_here} killed")
    print(f"mutation score: {dead}/{total} killed ({100 * dead / max(total, 1):.0f}%)")
    for survivor in survivors:
        print(f"  survived: {survivor}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
