"""Executables standing in for kind, docker and kn.

`kind.py`, `docker.py` and `kn.py` each expose `main(argv, version=...) -> int`. `bin/` holds
shell wrappers for `kind` and `docker` that tests put first on PATH; the release mirror serves
`executable_script(...)` versions of kind and kn, which the harness downloads and runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN_DIR = Path(__file__).resolve().parent / "bin"
# The interpreter bin/'s launchers run the doubles with: the self-tests set it to their own
# (sys.executable), so the doubles run in whatever virtual environment runs the tests.
PYTHON_ENV = "SIM_PYTHON"


def with_this_python(env: dict[str, str]) -> dict[str, str]:
    """`env` with the doubles' launchers pointed at this interpreter."""
    return {**env, PYTHON_ENV: sys.executable}


def executable_script(
    module: str, version: str, repo_root: Path | str = REPO_ROOT, python: str = sys.executable
) -> bytes:
    """A runnable file that starts `tests.sim.doubles.<module>` built as `version`.

    The bytes depend only on their arguments, so the mirror's checksums stay valid across
    requests and restarts of the same environment.
    """
    return (
        f"#!{python}\n"
        f"# Simulated {module} {version}: a test double of tests/sim/doubles/{module}.py\n"
        "import sys\n"
        f"sys.path.insert(0, {str(repo_root)!r})\n"
        f"from tests.sim.doubles.{module} import main\n"
        f"sys.exit(main(sys.argv[1:], version={version!r}))\n"
    ).encode()


def engine_named(folder: Path, name: str) -> Path:
    """The docker double as another engine's CLI in `folder` (podman's and nerdctl's commands
    mirror docker's): it answers for that engine's containers only."""
    path = folder / name
    path.write_text(f'#!/bin/sh\nSIM_CONTAINER_CLI={name} exec {BIN_DIR / "docker"} "$@"\n')
    path.chmod(0o755)
    return path


def scan_flags(
    argv: list[str],
    value_flags: set[str],
    short_flags: dict[str, str],
    missing_value: Callable[[str], Exception],
    double_dash_short: bool = False,
) -> Iterator[tuple[str, str | None, str | None]]:
    """Read a command line as pflag does: `(arg, None, None)` for a positional, `(arg, name,
    value)` for a flag. `--flag=value` and `-f=value` carry their value; a flag in
    `value_flags` given without one takes the next argument (`missing_value(message)` is
    raised when there is none); any other flag without `=` has value None. Single-dash names
    go through `short_flags` (double-dash ones too with `double_dash_short`)."""
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if not arg.startswith("-") or arg == "-":
            yield arg, None, None
            continue
        name, has_value, value = arg.lstrip("-").partition("=")
        if double_dash_short or not arg.startswith("--"):
            name = short_flags.get(name, name)
        if not has_value and name in value_flags:
            if index >= len(argv):
                raise missing_value(f"flag needs an argument: {arg}")
            value = argv[index]
            index += 1
        elif not has_value:
            yield arg, name, None
            continue
        yield arg, name, value
