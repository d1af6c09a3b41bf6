"""Ctrl-C at every phase of a kind run, once and twice, as a terminal sends it (to the whole
process group): the run exits 2 with summary.json, and leaves no cluster, no process and no
partial file behind.

Each phase is reached by watching the run's harness.log (or the mirror's knob) for the moment
it starts, and held open where it would otherwise be over in milliseconds: the mirror stalls the
kn download, the simulated API server is frozen (SIGSTOP) during 14.1's apply, held-pod-logs
holds the evidence reading until the cluster is deleted, and a kind in front of the double takes
its time to delete.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cookbook14 import tools
from cookbook14.tools import host_platform, run
from tests.launch import ROOT, kind_args, kind_clusters, recipes, suites_command
from tests.sim.doubles import BIN_DIR
from tests.sim.faults import HELD_POD_LOGS

NAME = "interrupted"
PHASE_TIMEOUT = 120


@dataclass
class Run:
    """A `pytest suites/` run in a process group (session) of its own, as a terminal starts it."""

    process: subprocess.Popen
    reports: Path
    lines: list[str] = field(default_factory=list)

    def log(self) -> str:
        logs = list(self.reports.glob("*/harness.log"))
        return logs[0].read_text(errors="replace") if logs else ""

    def until(self, reached: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + PHASE_TIMEOUT
        while not reached():
            assert self.process.poll() is None, f"the run ended before {what}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {what} in {PHASE_TIMEOUT}s:\n{self.log()}"
            time.sleep(0.02)

    def interrupt(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)

    def output(self) -> str:
        return "".join(self.lines)


def start(tmp_path: Path, sim, env: dict, *args: str) -> Run:
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        suites_command(reports, *kind_args(sim, NAME, *args)),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    run = Run(process, reports)
    threading.Thread(target=lambda: run.lines.extend(process.stdout), daemon=True).start()
    return run


def sim_pid(env: dict) -> int:
    return int((Path(env["SIM_KIND_STATE"]) / NAME / "pid").read_text())


def leftovers(env: dict, group: int) -> list[str]:
    """Every live process of this test's run (zombies are gone, whoever reaps them): those of
    its process group, and those in sessions of their own, which all inherit its
    SIM_KIND_STATE."""
    marker = f"SIM_KIND_STATE={env['SIM_KIND_STATE']}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state, _, pgrp = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[:3]
            ours = int(pgrp) == group or marker in (entry / "environ").read_bytes().split(b"\0")
            if ours and state not in ("Z", "X"):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def partial_files(*folders: Path) -> list[Path]:
    return [
        path
        for folder in folders
        for path in folder.rglob("*")
        if path.name.endswith((".part", ".tmp")) or path.name.startswith(".")
    ]


@pytest.fixture
def held_delete_env(tmp_path, kind_env) -> tuple[dict, Path]:
    """kind_env with a kind on PATH whose `delete cluster` waits until the returned file
    exists (at most a minute), then runs the double's: a second Ctrl-C lands in the deletion
    however slow the machine."""
    release = tmp_path / "deletion-released"
    wrapper = tmp_path / "bin" / "kind"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = delete ]; then\n'
        f"  for _ in $(seq 1200); do [ -e {release} ] && break; sleep 0.05; done\n"
        "fi\n"
        f'exec {BIN_DIR / "kind"} "$@"\n'
    )
    wrapper.chmod(0o755)
    kind_env["PATH"] = f"{wrapper.parent}:{kind_env['PATH']}"
    return kind_env, release


def deleting(run: Run) -> bool:
    """Whether `kind delete cluster` runs: started (the harness logs its pid), not only logged."""
    return "a Ctrl-C from now on waits for it to finish" in run.log()


def kn_binary() -> str:
    os_name, arch = host_platform()
    return f"kn-{os_name}-{arch}"


# phase -> (the recipe selected, extra options, extra environment); each phase is reached as
# the test's body says.
PHASES = {
    "download": ("recipe_14_3", (), {}),
    # kubeadm init taking a minute: the Ctrl-C lands in `kind create cluster`.
    "create": ("recipe_14_1", (), {"SIM_KIND_CREATE_SECONDS": "60"}),
    "apply": ("recipe_14_1", (), {}),
    # Fifty times slower than real: the operator's pods take ~100 s to start, a margin no load
    # eats between the harness logging its wait and the Ctrl-C (at 5x, ~10 s, it was one).
    "wait": ("recipe_14_1", (), {"SIM_TIME_SCALE": "50.0"}),
    # The operator's wait times out (6 s of its ~100 s; its pod is there, Pending, from the
    # start); the pod's log is then held until the cluster is deleted.
    "evidence": (
        "recipe_14_1",
        ("--timeout-scale", "0.02"),
        {"SIM_TIME_SCALE": "50.0", "SIM_FAULTS": HELD_POD_LOGS},
    ),
    "teardown": ("recipe_14_1", (), {}),
}


@pytest.mark.parametrize("signals", [1, 2], ids=["once", "twice"])
@pytest.mark.parametrize("phase", list(PHASES))
def test_an_interrupt_at_any_phase_leaves_nothing_behind(
    tmp_path, sim_cluster, held_delete_env, phase, signals
):
    env, release_deletion = held_delete_env
    recipe, options, extra_env = PHASES[phase]
    env.update(extra_env)
    knobs = sim_cluster.mirror_knobs
    if phase == "download":
        knobs.stall_on = kn_binary()
    elif phase == "apply":
        knobs.stall_on = "operator.yaml"
    run = start(tmp_path, sim_cluster, env, "-m", recipe, *options)
    frozen: int | None = None
    try:
        if phase == "download":
            run.until(knobs.stalled.is_set, "kn download")
        elif phase == "create":
            run.until(lambda: "kind create cluster" in run.log(), "kind create cluster")
        elif phase == "apply":
            run.until(knobs.stalled.is_set, "fetch of operator.yaml")
            # The API server stops answering before the harness has operator.yaml: it cannot
            # get past the apply.
            frozen = sim_pid(env)
            os.kill(frozen, signal.SIGSTOP)
            knobs.release.set()
        elif phase == "wait":
            run.until(
                lambda: "waiting up to 300s for Deployment knative-operator" in run.log(),
                "the wait for the operator",
            )
        elif phase == "evidence":
            run.until(lambda: "reading the cluster's evidence" in run.log(), "evidence reading")
        else:
            run.until(lambda: deleting(run), "kind delete cluster")
        run.interrupt()
        if frozen:
            os.kill(frozen, signal.SIGCONT)
            frozen = None
        if signals == 2:
            if phase == "teardown":
                run.until(lambda: "interrupted: letting" in run.log(), "the interrupted deletion")
            else:
                run.until(lambda: deleting(run), "kind delete cluster")
            # The kind in front of the double is held: this lands in the deletion.
            run.interrupt()
        release_deletion.touch()
        run.process.wait(timeout=PHASE_TIMEOUT)
    finally:
        if frozen:
            os.kill(frozen, signal.SIGCONT)
        knobs.release.set()
        release_deletion.touch()
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
    time.sleep(0.2)  # the reader thread's last lines
    output = run.output()
    assert run.process.returncode == 2, output
    assert "Traceback" not in output, output
    assert "left behind" not in output, output
    if signals == 2:
        assert "SIGINT again: finishing the cluster's deletion and summary.json first" in output
    assert kind_clusters(env) == [], output
    assert leftovers(env, run.process.pid) == [], output
    assert partial_files(tmp_path / "reports", tmp_path / "cache") == []
    summary = json.loads(next(run.reports.glob("*/summary.json")).read_text())
    assert summary["run"]["exit_status"] == 2
    assert summary["run"]["interrupted_by"] == ["SIGINT"] * signals, output
    step = recipes(summary)[recipe.replace("recipe_", "").replace("_", ".")]["step"]
    if phase == "create":
        assert step is None, "no step runs before the cluster is there"
    elif phase == "evidence":
        assert step["status"] == "failed", step
        evidence = next(run.reports.glob("*/evidence/14.1.txt")).read_text()
        assert "(interrupted while reading the cluster's evidence)" in evidence
    elif phase == "teardown":
        assert step["status"] == "passed", step
        assert "interrupted: letting" in run.log()
    else:
        assert step["status"] == "interrupted", step
    if phase == "apply":
        assert "waiting up to 300s for Deployment" not in run.log(), "interrupted in the apply"


def test_an_interrupt_while_docker_is_checked_still_writes_summary_json(
    tmp_path, sim_cluster, kind_env
):
    """The first thing a kind run does is ask Docker (`docker info`); pytest runs no
    sessionfinish when that start is interrupted, so the verdict is written there."""
    kind_env["SIM_DOCKER_INFO_SECONDS"] = "60"
    run = start(tmp_path, sim_cluster, kind_env, "-m", "recipe_14_1")
    try:
        run.until(lambda: "docker info" in run.log(), "docker info")
        run.interrupt()
        run.process.wait(timeout=PHASE_TIMEOUT)
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
    time.sleep(0.2)  # the reader thread's last lines
    output = run.output()
    assert run.process.returncode == 2, output
    assert kind_clusters(kind_env) == [] and leftovers(kind_env, run.process.pid) == [], output
    summary = json.loads(next(run.reports.glob("*/summary.json")).read_text())
    assert summary["run"]["exit_status"] == 2
    assert summary["run"]["interrupted_by"] == ["SIGINT"], output
    assert recipes(summary)["14.1"]["step"] is None, "nothing ran"


def test_a_cluster_that_cannot_be_deleted_is_the_last_line_with_its_command(
    tmp_path, sim_cluster, kind_env
):
    # A kind whose `delete cluster` fails (Docker refusing to remove the node container),
    # and a Ctrl-C while 14.1 waits for the operator.
    wrapper = tmp_path / "bin" / "kind"
    wrapper.parent.mkdir()
    refuse = wrapper.with_name("refuse-delete")
    refuse.touch()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = delete ] && [ -e {refuse} ]; then\n'
        "  echo 'ERROR: failed to delete cluster: error removing container' >&2; exit 1\n"
        "fi\n"
        f'exec {BIN_DIR / "kind"} "$@"\n'
    )
    wrapper.chmod(0o755)
    kind_env["PATH"] = f"{wrapper.parent}:{kind_env['PATH']}"
    kind_env["SIM_TIME_SCALE"] = "50.0"  # as PHASES["wait"]
    run = start(tmp_path, sim_cluster, kind_env, "-m", "recipe_14_1")
    try:
        run.until(
            lambda: "waiting up to 300s for Deployment knative-operator" in run.log(),
            "the wait for the operator",
        )
        run.interrupt()
        run.process.wait(timeout=PHASE_TIMEOUT)
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
    time.sleep(0.2)
    output = run.output()
    assert run.process.returncode == 2, output
    assert "Traceback" not in output, output
    last = output.strip().splitlines()[-1]
    prefix = f"the kind cluster {NAME} is left behind; delete it with: "
    assert last.startswith(prefix), output
    command = last.removeprefix(prefix)
    summary = json.loads(next(run.reports.glob("*/summary.json")).read_text())
    assert summary["cluster"]["left_behind"] == command
    assert summary["run"]["exit_status"] == 2
    assert kind_clusters(kind_env) == [NAME]
    # The command said is the one that deletes it, once Docker lets it.
    refuse.unlink()
    subprocess.run(shlex.split(command), env=kind_env, check=True, capture_output=True)
    assert kind_clusters(kind_env) == []


@pytest.fixture
def ctrl_c_while_starting(monkeypatch) -> list[subprocess.Popen]:
    """subprocess.Popen as run() calls it, with a Ctrl-C arriving as the tool has just started
    (the fork done, Popen not yet returned): the tools it started."""
    started: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def starting(*args, **kwargs) -> subprocess.Popen:
        started.append(popen(*args, **kwargs))
        signal.raise_signal(signal.SIGINT)
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", starting)
    return started


def test_a_ctrl_c_while_a_tool_starts_stops_that_tool(ctrl_c_while_starting):
    with pytest.raises(KeyboardInterrupt):
        run(["sleep", "30"])
    [tool] = ctrl_c_while_starting
    assert tool.poll() is not None, "the tool was left running, with nobody to wait for it"


def test_a_ctrl_c_as_a_tools_output_is_first_read_stops_that_tool(monkeypatch) -> None:
    """The last moment before run() waits on a tool: a Ctrl-C there stops the tool too."""
    started: list[subprocess.Popen] = []
    reader = tools._LinesAsTheyCome

    def ctrl_c_as_reading_starts(process: subprocess.Popen, on_line) -> tools._LinesAsTheyCome:
        started.append(process)
        signal.raise_signal(signal.SIGINT)
        return reader(process, on_line)

    monkeypatch.setattr(tools, "_LinesAsTheyCome", ctrl_c_as_reading_starts)
    with pytest.raises(KeyboardInterrupt):
        run(["sleep", "30"], on_line=lambda line: None)
    [tool] = started
    assert tool.poll() is not None, "the tool was left running, with nobody to wait for it"


def test_a_ctrl_c_while_a_deletion_starts_waits_for_it(ctrl_c_while_starting, tmp_path):
    done = tmp_path / "deleted"
    with pytest.raises(KeyboardInterrupt):
        run(["sh", "-c", f"sleep 0.5; touch {done}"], finish_on_interrupt=True)
    assert done.exists(), "the deletion was cut short or left to run on its own"


def test_a_ctrl_c_as_a_deletion_is_announced_waits_for_it(tmp_path) -> None:
    """The moment a person (or test_an_interrupt_at_any_phase) sees "a Ctrl-C from now on waits
    for it to finish" in harness.log, a Ctrl-C must already wait (round 12: one landing just
    after that line escaped run() and the deletion was not waited for)."""
    done = tmp_path / "deleted"

    class CtrlCOnTheAnnouncement(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "a Ctrl-C from now on waits" in record.getMessage():
                signal.raise_signal(signal.SIGINT)

    handler = CtrlCOnTheAnnouncement()
    tools_log = logging.getLogger("cookbook14.tools")
    tools_log.addHandler(handler)
    level = tools_log.level
    tools_log.setLevel(logging.INFO)
    try:
        with pytest.raises(KeyboardInterrupt):
            run(["sh", "-c", f"sleep 0.5; touch {done}"], finish_on_interrupt=True)
    finally:
        tools_log.removeHandler(handler)
        tools_log.setLevel(level)
    assert done.exists(), "the deletion was cut short or left to run on its own"


def test_an_interrupt_landing_where_python_has_no_line_is_still_reported() -> None:
    """Seen under load: the signal landed on an instruction without a line number (urllib3),
    and pytest's report of the interrupt failed on that traceback entry (exit 1)."""
    from fixtures.session import pytest_keyboard_interrupt

    def interrupted() -> None:
        raise KeyboardInterrupt

    try:
        interrupted()
    except KeyboardInterrupt as caught:
        error = caught
    head = error.__traceback__
    # An entry whose instruction offset maps to no line, as CPython 3.11 leaves one.
    lineless = types.TracebackType(head.tb_next, head.tb_next.tb_frame, 10**6, -1)
    if lineless.tb_lineno is not None:
        # Under a trace function (coverage.py) CPython takes the line from the frame instead.
        pytest.skip(f"this interpreter gives the entry line {lineless.tb_lineno}: not lineless")
    head.tb_next = lineless
    with pytest.raises(TypeError):
        pytest.ExceptionInfo.from_exception(error).getrepr(funcargs=True)
    excinfo = pytest.ExceptionInfo.from_exception(error)
    pytest_keyboard_interrupt(excinfo)
    report = str(excinfo.getrepr(funcargs=True))
    assert "raise KeyboardInterrupt" in report and "KeyboardInterrupt" in report
