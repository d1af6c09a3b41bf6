"""The version catalog's own rules, and the plans it yields (no cluster involved)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cookbook14.catalog import COMPONENTS, Catalog, Version
from cookbook14.errors import UsageError
from cookbook14.options import Options
from cookbook14.plan import build_plan

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/releases/download/[\w.-]+/[\w.-]+$")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_every_minor_from_1_11_to_1_23_is_catalogued(catalog):
    assert sorted(catalog.minors, key=Version.parse) == [f"1.{minor}" for minor in range(11, 24)]


@pytest.mark.parametrize("minor", [f"1.{m}" for m in range(11, 24)])
def test_minor_entry_is_consistent(catalog, minor):
    entry = catalog.minors[minor]
    for component, version in entry.versions.items():
        assert version.minor_key == minor, f"{minor}: {component} {version} is of another minor"
    assert entry.node.kubernetes >= entry.min_kubernetes, (
        f"{minor}: node image Kubernetes {entry.node.kubernetes} is older than the minimum "
        f"{entry.min_kubernetes}"
    )
    assert re.fullmatch(r"kindest/node:v[\d.]+@sha256:[0-9a-f]{64}", entry.node.image)
    assert entry.node.tag == f"v{entry.node.kubernetes}"
    # Images built for kind >= 0.20 need kind >= 0.20 (knative-facts.md).
    assert entry.node.kind >= Version(0, 20)


@pytest.mark.parametrize("version", ["book", "latest", *[f"1.{m}" for m in range(11, 24)]])
def test_every_asset_url_is_well_formed(catalog, version):
    release = catalog.resolve(version)
    urls = [
        catalog.url("operator", release.operator, "operator.yaml"),
        catalog.url("serving", release.serving, "serving-core.yaml"),
        catalog.url("kourier", release.kourier, "kourier.yaml"),
        catalog.url("eventing", release.eventing, "eventing-core.yaml"),
        catalog.url("kn", release.kn, "checksums.txt"),
        catalog.url("kind", release.node.kind, "kind-linux-amd64"),
        catalog.url("sockeye", catalog.extras["sockeye"], "release.yaml"),
        catalog.url("triggermesh", catalog.extras["triggermesh"], "triggermesh-crds.yaml"),
    ]
    for url in urls:
        assert URL.match(url), url


def test_book_is_the_chapter_pinned_versions(catalog):
    release = catalog.resolve("book")
    assert {
        name: str(release.version_of(name)) for name in ("operator", "serving", "eventing", "kn")
    } == {
        "operator": "1.11.4",
        "serving": "1.11.0",
        "eventing": "1.11.1",
        "kn": "1.11.0",
    }
    assert str(catalog.extras["sockeye"]) == "0.7.0"
    assert str(catalog.extras["triggermesh"]) == "1.26.0"


def plan_for(version: str, **options):
    return build_plan(Options(knative_version=version, **options), Catalog.load())


def test_book_plan_installs_operator_1_11_4_into_default():
    plan = plan_for("book")
    step = plan.step("14.1")
    assert [a.source for a in step.applies] == [
        "https://github.com/knative/operator/releases/download/knative-v1.11.4/operator.yaml"
    ]
    deployments = {w.name: w.namespace for w in step.waits if w.kind == "Deployment"}
    assert deployments == {"knative-operator": "default", "operator-webhook": "default"}
    assert plan.cluster.node_image.startswith("kindest/node:v1.27.3@sha256:")
    assert plan.cluster.kind_version == "0.20.0"
    assert plan.cluster.domain == "127.0.0.1.sslip.io"
    assert any("serving-default-domain.yaml" in d.what for d in plan.deviations)


def test_plan_for_1_14_uses_the_knative_operator_namespace():
    plan = plan_for("1.14")
    step = plan.step("14.1")
    assert step.applies[0].source.endswith(
        "/knative/operator/releases/download/knative-v1.14.9/operator.yaml"
    )
    assert {w.namespace for w in step.waits if w.kind == "Deployment"} == {"knative-operator"}
    assert plan.release.serving == Version(1, 14, 2)
    assert plan.cluster.node_image.startswith("kindest/node:v1.29.")


@pytest.mark.parametrize("version", ["1.23", "latest"])
def test_plan_for_the_newest_minor(version):
    plan = plan_for(version)
    assert plan.release.minor == "1.23"
    assert str(plan.release.operator) == "1.23.0"
    assert plan.release.operator_namespace == "knative-operator"
    assert plan.cluster.node_image.startswith("kindest/node:v1.36.")


def test_exact_version_clamps_components_and_says_so():
    plan = plan_for("1.14.5")
    assert str(plan.release.operator) == "1.14.5"
    assert str(plan.release.serving) == "1.14.2"
    clamped = [d.what + " " + d.why for d in plan.deviations if d.what == "version pinning"]
    assert any("serving has no release 1.14.5" in text for text in clamped), plan.deviations
    assert plan.release.uncatalogued == ()


def test_mirror_replaces_github_in_every_url():
    plan = plan_for("book", release_mirror="http://127.0.0.1:9/mirror/")
    assert plan.step("14.1").applies[0].source == (
        "http://127.0.0.1:9/mirror/knative/operator/releases/download/knative-v1.11.4/operator.yaml"
    )


def test_timeout_scale_multiplies_every_deadline():
    normal = plan_for("book").step("14.1").waits
    doubled = plan_for("book", timeout_scale=2).step("14.1").waits
    assert [w.timeout * 2 for w in normal] == [w.timeout for w in doubled]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9.9", "Knative 9.9 is not in the catalog"),
        ("1.99", "Knative 1.99 is not in the catalog"),
        ("one.two", "is not a version"),
    ],
)
def test_bad_version_names_the_accepted_values(catalog, value, expected):
    with pytest.raises(UsageError) as raised:
        catalog.resolve(value)
    assert expected in str(raised.value)
    assert "accepted: book, latest, a minor 1.11..1.23" in str(raised.value)


def test_an_unknown_minor_points_at_the_release_finder(catalog):
    with pytest.raises(UsageError, match=r"`cookbook14 releases`"):
        catalog.resolve("1.24")


def test_a_patch_newer_than_the_catalog_is_tried_as_asked_not_clamped(catalog):
    # A release out this morning: the catalog's newest 1.11 operator is 1.11.12. Every component
    # is planned at 1.11.99 and marked uncatalogued; the release's assets decide if it exists.
    plan = plan_for("1.11.99")
    release = plan.release
    assert {str(release.version_of(name)) for name in COMPONENTS} == {"1.11.99"}
    assert release.clamped == ()
    assert set(release.uncatalogued) == set(COMPONENTS)
    assert release.operator_installs == {}, "what an unknown operator patch installs is unknown"
    assert release.to_dict()["uncatalogued"] == list(COMPONENTS)
    assert any(d.what == "uncatalogued release 1.11.99" for d in plan.deviations), plan.deviations
    assert plan.step("14.1").applies[0].source.endswith("/knative-v1.11.99/operator.yaml")


def run_pytest(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--knative-version", "2.0"],
            "ERROR: --knative-version '2.0': Knative 2.0 is not in the catalog",
        ),
        (["--knative-version", "v1.x"], "ERROR: --knative-version 'v1.x' is not a version"),
        (
            ["--cluster", "minikube"],
            "ERROR: --cluster 'minikube' is not a provider; accepted: kind, existing",
        ),
        (["--timeout-scale", "fast"], "ERROR: --timeout-scale 'fast' is not a number"),
        (
            ["--ingress-endpoint", "localhost"],
            "ERROR: --ingress-endpoint 'localhost' is not HOST:PORT",
        ),
        (
            ["--release-mirror", "ftp://x"],
            "ERROR: --release-mirror 'ftp://x' is not an http(s) URL",
        ),
        (
            ["--install-method", "helm"],
            "ERROR: --install-method 'helm' is not a method; accepted: operator (the book's way, "
            "default) or yaml",
        ),
        (["--cold-starts", "two"], "ERROR: --cold-starts 'two' is not a whole number"),
        (["--cold-starts", "0"], "ERROR: --cold-starts 0 must be at least 1; accepted: a whole"),
        (["--domain", "Not A Domain"], "ERROR: --domain 'Not A Domain' is not a DNS domain"),
        (
            # Checked before any fixture runs: a missing kubeconfig is a bad option (exit 4),
            # not an unreachable cluster (exit 3).
            ["--cluster", "existing", "--kubeconfig", "/nonexistent/kubeconfig"],
            "ERROR: cannot use --kubeconfig /nonexistent/kubeconfig: no such file",
        ),
    ],
)
def test_bad_option_stops_the_run_with_one_line(tmp_path, args, expected):
    result = run_pytest("suites/", "--reports-dir", str(tmp_path), *args)
    assert result.returncode == 4, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_plan_option_prints_and_writes_the_plan_without_a_cluster(tmp_path):
    # Nothing would answer at this mirror or with this kubeconfig: --plan must not need them.
    result = run_pytest(
        "suites/",
        "--plan",
        "--knative-version",
        "1.14",
        "--reports-dir",
        str(tmp_path / "r"),
        "--release-mirror",
        "http://127.0.0.1:9",
        "--kubeconfig",
        str(tmp_path / "missing"),
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    written = json.loads(next((tmp_path / "r").glob("*/plan.json")).read_text())
    assert printed["steps"][0]["applies"][0]["source"].startswith(
        "http://127.0.0.1:9/knative/operator/"
    )
    assert printed == written
    assert printed["knative"]["operator"] == "1.14.9"
    assert printed["steps"][0]["waits"][2]["namespace"] == "knative-operator"
    assert [step["recipe"] for step in printed["steps"]] == [f"14.{n}" for n in range(1, 9)]


def test_serving_plan_adds_the_domain_and_kind_nodeport_and_says_why():
    step = plan_for("book").step("14.2")
    cr = next(doc for a in step.applies for doc in a.documents if doc["kind"] == "KnativeServing")
    assert cr["spec"]["config"]["domain"] == {"127.0.0.1.sslip.io": ""}
    assert cr["spec"]["config"]["network"] == {
        "ingress-class": "kourier.ingress.networking.knative.dev"
    }
    nodeport = [a for a in step.applies if a.source == "manifests/kourier-nodeport.yaml"]
    assert [a.namespace for a in nodeport] == ["knative-serving"]
    yaml_path = step.alternatives[0]
    assert [a.source.rsplit("/", 1)[-1] for a in yaml_path.applies[:3]] == [
        "serving-crds.yaml",
        "serving-core.yaml",
        "kourier.yaml",
    ]
    assert "knative-v1.11.0" in yaml_path.applies[2].source
    config = {doc["metadata"]["name"]: doc["data"] for doc in yaml_path.applies[3].documents}
    assert config == {
        "config-network": {"ingress-class": "kourier.ingress.networking.knative.dev"},
        "config-domain": {"127.0.0.1.sslip.io": ""},
    }
    assert yaml_path.applies[4].namespace == "kourier-system"
    whats = " ".join(d.what for d in plan_for("book").deviations)
    assert "kourier-ingress-nodeport" in whats


def test_existing_cluster_plan_adds_no_nodeport():
    plan = plan_for("book", cluster="existing")
    assert not [a for a in plan.step("14.2").applies if "nodeport" in a.source]
    assert not [d for d in plan.deviations if "nodeport" in d.what]
    assert plan.cluster.kind_config is None


def kourier_host_port(kind_config: str) -> int:
    config = yaml.safe_load(Path(kind_config).read_text())
    return config["nodes"][0]["extraPortMappings"][0]["hostPort"]


@pytest.mark.parametrize("engine", ["nerdctl", "finch", "nerdctl.lima"])
def test_kinds_nerdctl_provider_gets_kind_0_23_and_a_port_kind_picks(monkeypatch, engine):
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", engine)
    plan = plan_for("book")
    assert (plan.cluster.container_engine, plan.cluster.kind_version) == (engine, "0.23.0")
    assert plan.cluster.kind_needed_by == (
        f"KIND_EXPERIMENTAL_PROVIDER={engine} (kind's nerdctl provider)"
    )
    assert kourier_host_port(plan.cluster.kind_config) == 0
    assert [(d.what, d.why) for d in plan.deviations if d.recipe == "cluster"] == [
        (
            "kind 0.23.0 instead of 0.20.0",
            f"KIND_EXPERIMENTAL_PROVIDER={engine} (kind's nerdctl provider) needs kind >= "
            f"0.23.0; the node image {plan.cluster.node_image} was published with kind 0.20.0",
        )
    ]
    # A node image of kind 0.24 needs no other kind.
    newer = plan_for("1.16")
    assert newer.cluster.kind_version == "0.24.0"
    assert not [d for d in newer.deviations if d.recipe == "cluster"]


@pytest.mark.parametrize("engine", [None, "docker", "podman", "unknown"])
def test_other_engines_keep_the_node_images_kind_and_the_runtimes_port(monkeypatch, engine):
    if engine is None:
        monkeypatch.delenv("KIND_EXPERIMENTAL_PROVIDER", raising=False)
    else:
        monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", engine)
    plan = plan_for("book")
    # An unknown value kind ignores, and uses Docker.
    assert plan.cluster.container_engine == ("podman" if engine == "podman" else "docker")
    assert plan.cluster.kind_version == "0.20.0"
    assert plan.cluster.kind_needed_by == "the node image of this Knative version"
    assert kourier_host_port(plan.cluster.kind_config) == -1
    assert not [d for d in plan.deviations if d.recipe == "cluster"]


def test_later_recipes_are_planned_from_the_catalog():
    plan = plan_for("1.14")
    assert (
        plan.step("14.3")
        .applies[1]
        .source.endswith("/knative/client/releases/download/knative-v1.14.0/checksums.txt")
    )
    assert (
        plan.step("14.6")
        .applies[0]
        .source.endswith("/n3wscott/sockeye/releases/download/v0.7.0/release.yaml")
    )
    assert (
        plan.step("14.8")
        .applies[0]
        .source.endswith("/triggermesh/triggermesh/releases/download/v1.26.0/triggermesh-crds.yaml")
    )
    github = {(w.kind, w.name, w.namespace) for w in plan.step("14.7").waits}
    assert ("StatefulSet", "github-controller-manager", "knative-eventing") in github
    assert [s.requires for s in plan.steps] == [
        (),
        ("14.1",),
        (),
        ("14.2",),
        ("14.1",),
        ("14.2", "14.5"),
        ("14.5",),
        ("14.5",),
    ]
    assert any(w.startswith("14.8: TriggerMesh is unmaintained") for w in plan.warnings)


def test_kind_image_is_checked_against_the_cluster_and_knative():
    plan = plan_for("book", kind_image="kindest/node:v1.28.0")
    assert plan.cluster.node_image == "kindest/node:v1.28.0"
    assert any(d.what == "node image kindest/node:v1.28.0" for d in plan.deviations)
    with pytest.raises(UsageError, match=r"needs at least 1\.25"):
        plan_for("book", kind_image="kindest/node:v1.24.7")
    with pytest.raises(UsageError, match="applies to --cluster kind only"):
        plan_for("book", kind_image="kindest/node:v1.28.0", cluster="existing")
    with pytest.raises(UsageError, match="has no version tag"):
        plan_for("book", kind_image="my/node")


def test_book_versions_are_within_the_1_11_minor(catalog):
    release = catalog.resolve("book")
    newest = catalog.minors["1.11"].versions
    for component in ("operator", "serving", "eventing", "kourier", "kn"):
        assert release.version_of(component).minor_key == "1.11"
        assert release.version_of(component) <= newest[component]


def test_existing_cluster_plan_keeps_the_clusters_domain():
    plan = plan_for("book", cluster="existing")
    cr = next(
        doc
        for a in plan.step("14.2").applies
        for doc in a.documents
        if doc["kind"] == "KnativeServing"
    )
    assert "domain" not in cr["spec"]["config"]
    assert plan.cluster.domain is None and plan.cluster.node_image is None
    assert any(
        "serving-default-domain.yaml is applied only if the kourier Service has an external IP"
        in d.what
        for d in plan.deviations
    )
    job = next(alt for alt in plan.step("14.2").alternatives if alt.name == "default-domain")
    assert job.applies[0].source.endswith(
        "/knative/serving/releases/download/knative-v1.11.0/serving-default-domain.yaml"
    )
    assert job.waits[0].describe() == (
        "Job default-domain in namespace knative-serving to have Complete=True"
    )


@pytest.mark.parametrize("method", ["operator", "yaml"])
def test_domain_option_is_configured_the_way_the_install_method_allows(method):
    plan = plan_for("book", cluster="existing", domain="example.test", install_method=method)
    step = plan.step("14.2")
    documents = [doc for a in step.applies for doc in a.documents]
    if method == "operator":
        cr = next(doc for doc in documents if doc["kind"] == "KnativeServing")
        assert cr["spec"]["config"]["domain"] == {"example.test": ""}
    else:
        config = {d["metadata"]["name"]: d["data"] for d in documents if d["kind"] == "ConfigMap"}
        assert config["config-domain"] == {"example.test": ""}
    assert step.method == method
    assert not [alt for alt in step.alternatives if alt.name == "default-domain"]
    assert plan.cluster.domain == "example.test"
    reasons = [d.why for d in plan.deviations if "example.test" in d.what]
    assert reasons == ["--domain was given"]


def test_plan_shows_serving_implemented_with_its_install_method(tmp_path):
    result = run_pytest(
        "suites/", "--plan", "--install-method", "yaml", "--reports-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    serving = json.loads(result.stdout)["steps"][1]
    assert (serving["recipe"], serving["implemented"], serving["method"]) == ("14.2", True, "yaml")
    assert [a["name"] for a in serving["alternatives"]] == ["operator"]
    assert serving["evidence"]["namespaces"] == ["knative-serving", "kourier-system"]
