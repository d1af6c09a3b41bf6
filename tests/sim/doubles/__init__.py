"""Executables standing in for kind, docker and kn.

`kind.py`, `docker.py` and `kn.py` each expose `main(argv, version=...) -> int`. `bin/` holds
shell wrappers for `kind` and `docker` that tests put first on PATH; the release mirror serves
`executable_script(...)` versions of kind and kn, which the harness downloads and runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN_DIR = Path(__file__).resolve().parent / "bin"


def executable_script(module: str, version: str, repo_root: Path | str = REPO_ROOT,
                      python: str = sys.executable) -> bytes:
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
