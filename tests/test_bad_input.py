"""Bad input: every wrong option, value, combination or environment stops `pytest suites/`
before any cluster work, with one line saying what was wrong and what is accepted.

"The line": pytest renders a UsageError as `ERROR: <message>` followed by a blank line on
stderr (_pytest/config/__init__.py, print_usage_error) and prints nothing on stdout. So a case
passes when stdout is blank, stderr has exactly one non-blank line, that line starts with
`ERROR: `, names the problem and says what is accepted ("accepted: ...", "X applies to ..."
or "give ..."), and no traceback or INTERNALERROR is anywhere. Exit status 4 (README: "4 for a bad option or a missing Docker"). Nothing is left
behind: no run folder under --reports-dir, nothing in the working folder (pytest-kind's
.pytest-kind/), no cluster in the kind double's state, no file in the download cache.

Each case is its own test and runs pytest.main in this process (a subprocess costs a pytest
start-up, over a second each); test_the_command_line_says_the_same runs a few of them through
the real command, in parallel.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cookbook14.errors import UsageError
from cookbook14.options import Options, check_kind_bin, endpoint_url, parse_endpoint
from tests.sim.doubles import BIN_DIR

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "suites"
TOO_LONG = "a" * 51
VALID_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
"""


@dataclass(frozen=True)
class Case:
    """One bad input: pytest arguments ({tmp} is the case's own folder), extra environment,
    and words the error line must contain."""

    id: str
    args: tuple[str, ...]
    says: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def case(id: str, args: str | tuple[str, ...], *says: str, env: dict | None = None) -> Case:
    return Case(id, tuple(args.split()) if isinstance(args, str) else args, says, env or {})


EXISTING = "--cluster existing --kubeconfig {tmp}/kubeconfig"
CATALOGUE = [
    # versions
    case("version-word", "--knative-version banana", "--knative-version", "banana"),
    case("version-too-old", "--knative-version 1.9", "1.9"),
    case("version-major-2", "--knative-version 2.0", "2.0"),
    case("version-empty", ("--knative-version", ""), "--knative-version"),
    case("version-patch-of-unknown-minor", "--knative-version 1.99.1", "1.99"),
    # cluster mode
    case("cluster-unknown", "--cluster foo", "--cluster 'foo'", "kind, existing"),
    case("cluster-upper-case", "--cluster KIND", "--cluster 'KIND'"),
    # numbers
    case("timeout-scale-zero", "--timeout-scale 0", "--timeout-scale 0"),
    case("timeout-scale-negative", "--timeout-scale=-2", "--timeout-scale -2"),
    case("timeout-scale-word", "--timeout-scale slow", "--timeout-scale 'slow'"),
    case("timeout-scale-nan", "--timeout-scale nan", "--timeout-scale nan"),
    case("cold-starts-zero", "--cold-starts 0", "--cold-starts 0"),
    case("cold-starts-negative", "--cold-starts=-3", "--cold-starts -3"),
    case("cold-starts-word", "--cold-starts two", "--cold-starts 'two'"),
    case("cold-starts-fraction", "--cold-starts 1.5", "--cold-starts '1.5'"),
    # install method, domain, mirror
    case("install-method-helm", "--install-method helm", "--install-method 'helm'"),
    case("domain-spaces", ("--domain", "Not A Domain"), "--domain 'Not A Domain'"),
    case("domain-leading-dash", "--domain=-bad.example", "--domain '-bad.example'"),
    case("domain-too-long", ("--domain", ("a" * 60 + ".") * 5 + "io"), "--domain"),
    case("mirror-ftp", "--release-mirror ftp://mirror.example", "--release-mirror"),
    case("mirror-no-scheme", "--release-mirror mirror.example/github", "--release-mirror"),
    # ingress endpoint
    case("endpoint-no-port", "--ingress-endpoint localhost", "--ingress-endpoint 'localhost'"),
    case("endpoint-port-zero", "--ingress-endpoint 127.0.0.1:0", "127.0.0.1:0"),
    case("endpoint-port-too-big", "--ingress-endpoint 127.0.0.1:70000", "127.0.0.1:70000"),
    case("endpoint-https", "--ingress-endpoint https://127.0.0.1:8443", "plain http"),
    case("endpoint-url-path", "--ingress-endpoint http://127.0.0.1:8080/x", "127.0.0.1:8080/x"),
    case("endpoint-url-no-host", "--ingress-endpoint http://:8080", "http://:8080"),
    case("endpoint-url-bad-port", "--ingress-endpoint http://h:99999", "http://h:99999"),
    case("endpoint-ipv6-no-port", "--ingress-endpoint [::1]", "[::1]"),
    # reports folder
    case("reports-under-a-file", "--reports-dir {tmp}/a-file/reports", "--reports-dir"),
    case("reports-in-proc", "--reports-dir /proc/cookbook14", "/proc/cookbook14"),
    case("reports-under-a-file-plan", "--plan --reports-dir {tmp}/a-file/r", "--reports-dir"),
    case("reports-in-proc-plan", "--plan --reports-dir /proc/cookbook14", "/proc/cookbook14"),
    # kind binary
    case("kind-bin-missing", "--kind-bin {tmp}/no-kind", "no such file"),
    case("kind-bin-directory", "--kind-bin {tmp}", "not a file"),
    case("kind-bin-not-executable", "--kind-bin {tmp}/a-file", "not executable"),
    case("kind-bin-empty", "--kind-bin {tmp}/empty-program", "empty file"),
    case("kind-bin-text", "--kind-bin {tmp}/text-program", "not a program"),
    # kind cluster name, as kind validates it
    case("name-upper-case", "--cluster-name Bad_Name", "'Bad_Name'", "^[a-z0-9.-]+$"),
    case("name-slash", "--cluster-name a/b", "'a/b'"),
    case("name-empty", ("--cluster-name", ""), "--cluster-name ''"),
    case("name-too-long", f"--cluster-name {TOO_LONG}", "51 characters", "at most 50"),
    # options of the other cluster mode
    case("existing-with-name", f"{EXISTING} --cluster-name x", "--cluster-name applies to"),
    case("existing-with-keep", f"{EXISTING} --keep-cluster", "--keep-cluster applies to"),
    case(
        "existing-with-kind-image",
        f"{EXISTING} --kind-image kindest/node:v1.29.2",
        "--kind-image applies to",
    ),
    case("existing-with-kind-bin", f"{EXISTING} --kind-bin {BIN_DIR}/kind", "--kind-bin applies"),
    case("kind-with-context", "--cluster kind --context kind-x", "--context kind-x applies to"),
    case(
        "existing-kubeconfig-missing", "--cluster existing --kubeconfig {tmp}/none", "no such file"
    ),
    case("existing-kubeconfig-directory", "--cluster existing --kubeconfig {tmp}", "not a file"),
    case("existing-kubeconfig-not-one", "--cluster existing --kubeconfig {tmp}/a-file", "a-file"),
    case("existing-context-missing", f"{EXISTING} --context nope", "--context nope"),
    # node image
    case("kind-image-no-tag", "--kind-image nginx", "--kind-image 'nginx'"),
    case("kind-image-too-old", "--kind-image kindest/node:v1.20.0", "1.20.0"),
    # the same checks behind --plan and --collect-only
    case("plan-bad-cluster", "--plan --cluster foo", "--cluster 'foo'"),
    case("collect-only-bad-name", "--collect-only --cluster-name Bad", "'Bad'"),
    # environment
    case("addopts-bad-cluster", "", "--cluster 'bar'", env={"PYTEST_ADDOPTS": "--cluster bar"}),
    case("cache-under-a-file", "", "download cache", env={"XDG_CACHE_HOME": "{tmp}/a-file/c"}),
    case(
        "env-kubeconfig-missing",
        "--cluster existing",
        "default kubeconfig",
        env={"KUBECONFIG": "{tmp}/none", "HOME": "{tmp}/work"},
    ),
]


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    left_behind: list[str]


def _prepare(folder: Path) -> None:
    """What the cases point at: a plain file, an empty and a text 'program', a kubeconfig."""
    folder.mkdir(exist_ok=True)
    (folder / "a-file").write_text("not a folder, not a program\n")
    (folder / "empty-program").touch(mode=0o755)
    (folder / "text-program").write_text("kind, but not really\n")
    (folder / "text-program").chmod(0o755)
    (folder / "kubeconfig").write_text(VALID_KUBECONFIG)
    for name in ("work", "reports", "cache", "kind-state"):
        (folder / name).mkdir()


def _left_behind(folder: Path) -> list[str]:
    """Anything a stopped run made: run folders, files in the cache, clusters, or any file in
    the working folder (pytest-kind's .pytest-kind/)."""
    found = [f"reports/{entry.name}" for entry in (folder / "reports").iterdir()]
    found += [f"cache: {path}" for path in (folder / "cache").rglob("*") if path.is_file()]
    found += [f"kind cluster {entry.name}" for entry in (folder / "kind-state").iterdir()]
    found += [f"work/{entry.name}" for entry in (folder / "work").iterdir()]
    return found


def _arguments(item: Case, folder: Path) -> list[str]:
    args = [arg.replace("{tmp}", str(folder)) for arg in item.args]
    if "--reports-dir" not in args:
        args += ["--reports-dir", str(folder / "reports")]
    return [str(SUITES), "-p", "no:cacheprovider", *args]


def _environment(item: Case, folder: Path) -> dict[str, str]:
    """The case's environment: should it get as far as a cluster, it meets the doubles (Docker
    down, so a kind run stops at once), never a real kind or kubeconfig."""
    return {
        "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
        "SIM_PYTHON": sys.executable,
        "SIM_DOCKER_DOWN": "1",
        "SIM_KIND_STATE": str(folder / "kind-state"),
        "XDG_CACHE_HOME": str(folder / "cache"),
        "KUBECONFIG": str(folder / "kubeconfig"),
        "PY_COLORS": "0",
        **{key: value.replace("{tmp}", str(folder)) for key, value in item.env.items()},
    }


def _run_in_process(item: Case, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """pytest.main as the `pytest` command runs it, minus the interpreter's start (a second per
    case on a busy machine); test_the_command_line_says_the_same checks the real command."""
    _prepare(folder)
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _environment(item, folder).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(folder / "work")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = int(pytest.main(_arguments(item, folder)))
        except BaseException:  # what the command would print as a traceback
            traceback.print_exc()
            code = -1
    return Outcome(code, stdout.getvalue(), stderr.getvalue(), _left_behind(folder))


def _run_command(item: Case, folder: Path) -> Outcome:
    _prepare(folder)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *_arguments(item, folder)],
        cwd=folder / "work",
        env={**env, **_environment(item, folder)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Outcome(result.returncode, result.stdout, result.stderr, _left_behind(folder))


def assert_one_line(item: Case, outcome: Outcome) -> None:
    everything = outcome.stdout + outcome.stderr
    assert "Traceback" not in everything and "INTERNALERROR" not in everything, everything
    assert outcome.returncode == 4, everything
    assert not outcome.stdout.strip(), everything
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), everything
    line = lines[0]
    for words in item.says:
        assert words in line, line
    advice = ("accepted", "applies to", "give ")
    assert any(words in line for words in advice), f"says nothing of what is accepted: {line}"
    assert outcome.left_behind == [], outcome.left_behind


def test_the_catalogue_has_at_least_40_bad_inputs():
    assert len({item.id for item in CATALOGUE}) == len(CATALOGUE) >= 40


@pytest.mark.parametrize("item", CATALOGUE, ids=[item.id for item in CATALOGUE])
def test_bad_input_stops_the_run_with_one_line(item: Case, tmp_path, monkeypatch):
    assert_one_line(item, _run_in_process(item, tmp_path, monkeypatch))


# The issue's own findings, through the real command: its exit status, its streams.
BY_COMMAND = [
    "reports-in-proc",
    "reports-under-a-file-plan",
    "kind-bin-not-executable",
    "addopts-bad-cluster",
]


def test_the_command_line_says_the_same(tmp_path):
    items = [item for item in CATALOGUE if item.id in BY_COMMAND]
    with ThreadPoolExecutor(max_workers=len(BY_COMMAND)) as pool:
        outcomes = pool.map(lambda item: _run_command(item, tmp_path / item.id), items)
        for item, outcome in zip(items, outcomes, strict=True):
            assert_one_line(item, outcome)


# -- the accepted forms, and the kind double ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "endpoint"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:8080", ("::1", 8080)),
        ("http://127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("http://kourier.example/", ("kourier.example", 80)),
        ("http://[::1]:31080", ("::1", 31080)),
    ],
)
def test_ingress_endpoint_takes_host_port_or_an_http_url(value, endpoint):
    assert parse_endpoint(value) == endpoint
    # Requests go to the same place: an IPv6 address in brackets.
    host, port = endpoint
    url = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
    assert endpoint_url(endpoint) == url


@pytest.mark.parametrize("name", ["cookbook14-1-11", "a", "kind.local", "x" * 50])
def test_kind_cluster_names_kind_accepts_are_accepted(name):
    assert Options(cluster_name=name).cluster_name == name


def test_the_kind_double_passes_the_kind_bin_check():
    check_kind_bin(BIN_DIR / "kind")


def test_an_option_of_the_other_cluster_mode_is_refused_in_the_library_too():
    with pytest.raises(UsageError, match="--keep-cluster applies to --cluster kind only"):
        Options(cluster="existing", keep_cluster=True)


def _kind(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SIM_PYTHON": sys.executable, "SIM_KIND_STATE": str(tmp_path / "state")}
    return subprocess.run(
        [BIN_DIR / "kind", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_kind_double_refuses_an_invalid_name_as_kind_does(tmp_path):
    result = _kind(tmp_path, "create", "cluster", "--name", "Bad_Name")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ERROR: failed to create cluster: 'Bad_Name' is not a valid cluster name, cluster names "
        "must match `^[a-z0-9.-]+$`"
    ]
    assert not list((tmp_path / "state").iterdir())


def test_the_kind_double_warns_of_a_long_name_before_validating(tmp_path):
    name = "A" * 51
    result = _kind(tmp_path, "create", "cluster", f"--name={name}")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f'cluster name "{name}" is probably too long, this might not work properly on some systems',
        f"ERROR: failed to create cluster: '{name}' is not a valid cluster name, cluster names "
        "must match `^[a-z0-9.-]+$`",
    ]
    assert not list((tmp_path / "state").iterdir())


# -- where pytest roots the run, what --collect-only and --plan leave alone --------------------


def test_pytest_from_the_project_root_runs_the_suites_whatever_the_kubeconfig(tmp_path):
    # The kubeconfig's folder is outside the checkout: pytest's first parse takes the value
    # for a path and would root the run there, collecting the self-tests.
    kubeconfig = tmp_path / "elsewhere" / "kubeconfig"
    kubeconfig.parent.mkdir()
    kubeconfig.write_text(VALID_KUBECONFIG)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--cluster",
            "existing",
            "--kubeconfig",
            str(kubeconfig),
            "--reports-dir",
            str(tmp_path / "reports"),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert collected and all(line.startswith("suites/") for line in collected), result.stdout
    assert not (tmp_path / "reports").exists(), "--collect-only wrote a run folder"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["elsewhere", "kubeconfig"]


def _installed(folder: Path) -> dict[str, str]:
    """An environment in which pyproject.toml's pytest11 entry points are installed, as
    `pip install -e .` installs them (a dist-info on the path: what importlib.metadata, and
    so pytest, reads), whether or not this checkout was installed again since they changed."""
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    plugins = project["entry-points"]["pytest11"]
    dist = folder / "site" / "cookbook14_entry_points-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cookbook14-entry-points\nVersion: 0\n"
    )
    lines = [f"{name} = {target}" for name, target in plugins.items()]
    (dist / "entry_points.txt").write_text("[pytest11]\n" + "\n".join(lines) + "\n")
    return {**os.environ, "PYTHONPATH": str(folder / "site")}


def test_pytest_from_the_project_root_takes_option_values_for_values(tmp_path):
    # --reports-dir is the harness's own option: unless the plugin is loaded before pytest
    # parses the options (its entry point), the existing folder passes for the path to test,
    # there is no conftest.py there, and pytest refuses the harness's options.
    env = _installed(tmp_path / "install")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(VALID_KUBECONFIG)
    (tmp_path / "reports").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--kubeconfig", str(kubeconfig), "--cluster"]
        + ["existing", "--reports-dir", str(tmp_path / "reports"), "--collect-only"]
        + ["-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rootdir: {ROOT}\n" in result.stdout, result.stdout
    assert "configfile: pyproject.toml" in result.stdout, result.stdout
    assert f"<Dir {ROOT.name}>\n  <Dir suites>" in result.stdout, "collection starts at the project"
    assert list((tmp_path / "reports").iterdir()) == []


def test_collect_only_writes_no_report_folder_and_still_deselects_the_other_method(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITES), "--collect-only", "-q"]
        + ["-p", "no:cacheprovider", "--reports-dir", str(tmp_path / "reports")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deselected" in result.stdout.splitlines()[-1], result.stdout
    assert list(tmp_path.iterdir()) == [], "--collect-only left something behind"


def test_plan_does_not_import_the_kubernetes_client(tmp_path):
    probe = (
        "import sys, pytest\n"
        f"code = pytest.main([{str(SUITES)!r}, '--plan', '-p', 'no:cacheprovider', "
        f"'--reports-dir', {str(tmp_path)!r}])\n"
        "print(code, sorted(name for name in sys.modules if name.split('.')[0] == 'kubernetes')[:3])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.splitlines()[-1] == "0 []", result.stdout[-2000:] + result.stderr
