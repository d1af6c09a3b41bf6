"""A `kn` double talking to the API server named by the kubeconfig, built as one kn version.

Follows knative/client@release-1.11 (paths relative to that repository):
- `cmd/kn/main.go`: `Error: <err>` then `Run '<cmd> --help' for usage`, exit 1; unknown
  sub-commands; `pkg/kn/root/root.go` + `pkg/templates`: the grouped root help;
- `pkg/kn/commands/version/version.go`: text and `-o json|yaml` (knVersion struct);
- `pkg/kn/commands/service/{create,describe,delete}.go`, `pkg/wait/wait_for_ready.go`
  (`%7.3fs` lines, repeated message -> "...", 2 s error window on Ready=False, watch restarts,
  "timeout: service '<name>' not ready after <n> seconds");
- `pkg/kn/commands/source/ping/{create,delete}.go`, `pkg/kn/commands/flags/sink.go` (bare name
  = ksvc, the referenced object must exist); kn <= 1.16 writes PingSource as v1beta2.
Warnings sent by the API server are printed to stderr as client-go's default handler does.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import queue
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from tests.sim.doubles import scan_flags


def _is_loopback(server: str) -> bool:
    host = (urlsplit(server).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


DEFAULT_VERSION = "v1.11.0"
DEFAULT_WAIT_TIMEOUT = 600
ERROR_WINDOW = 2.0
SERVING = ("serving.knative.dev", "v1")

# Known release builds (tag commit, build time); others are derived (INFERRED).
BUILDS = {"v1.11.0": ("b7508e67", "2023-07-27 08:14:05")}
# `kn version` lists the Serving and Eventing API versions of kn's go.mod, not kn's own
# (knative.dev/serving, knative.dev/eventing requirements at the tag). Known: kn 1.11.2 requires
# serving v1.11.2 and eventing v1.11.5. Others: INFERRED, the same version as kn for both,
# which is how each minor's .0 release pins them.
API_VERSIONS = {"v1.11.2": ("v1.11.2", "v1.11.5")}

ROOT_HELP = """kn is the command line interface for managing Knative Serving and Eventing resources

Find more information about Knative at: https://knative.dev

Serving Commands:
  service      Manage Knative services
  revision     Manage service revisions
  route        List and describe service routes
  domain       Manage domain mappings
  container    Manage service's containers (experimental)

Eventing Commands:
  source       Manage event sources
  broker       Manage message brokers
  trigger      Manage event triggers
  channel      Manage event channels
  subscription Manage event subscriptions
  eventtype    Manage eventtypes

Other Commands:
  plugin       Manage kn plugins
  secret       Manage secrets
  completion   Output shell completion code
  version      Show the version of this client

Use "kn <command> --help" for more information about a given command.
Use "kn options" for a list of global command-line options (applies to all commands)."""

SUB_COMMANDS = {
    "kn service": (
        "Manage Knative services",
        ["apply", "create", "delete", "describe", "export", "import", "list", "update"],
    ),
    "kn source": (
        "Manage event sources",
        ["apiserver", "binding", "container", "list", "list-types", "ping"],
    ),
    "kn source ping": ("Manage ping sources", ["create", "delete", "describe", "list", "update"]),
    "kn revision": ("Manage service revisions", ["delete", "describe", "list"]),
    "kn route": ("List and describe service routes", ["describe", "list"]),
    "kn domain": ("Manage domain mappings", ["create", "delete", "describe", "list", "update"]),
    "kn container": ("Manage service's containers (experimental)", ["add"]),
    "kn broker": ("Manage message brokers", ["create", "delete", "describe", "list", "update"]),
    "kn trigger": ("Manage event triggers", ["create", "delete", "describe", "list", "update"]),
    "kn channel": ("Manage event channels", ["create", "delete", "describe", "list", "list-types"]),
    "kn subscription": (
        "Manage event subscriptions",
        ["create", "delete", "describe", "list", "update"],
    ),
    "kn eventtype": ("Manage eventtypes", ["create", "delete", "describe", "list"]),
    "kn plugin": ("Manage kn plugins", ["list"]),
    "kn secret": ("Manage secrets", ["create"]),
}
LEAF_COMMANDS = {"kn version", "kn completion", "kn options"} | {
    f"{group} {sub}"
    for group, (_, subs) in SUB_COMMANDS.items()
    for sub in subs
    if f"{group} {sub}" not in SUB_COMMANDS
}

VALUE_FLAGS = {
    "kubeconfig",
    "context",
    "cluster",
    "config",
    "namespace",
    "image",
    "port",
    "wait-timeout",
    "output",
    "schedule",
    "data",
    "sink",
    "env",
    "annotation",
    "label",
    "revision-name",
    "scale-window",
    "concurrency-limit",
    "timeout",
    "plugins-dir",
    "encoding",
    "wait-window",
}
BOOLEAN_FLAGS = {
    "no-wait",
    "wait",
    "force",
    "all-namespaces",
    "log-http",
    "help",
    "no-headers",
    "lookup-plugins-in-path",
}
SHORT_FLAGS = {
    "n": "namespace",
    "o": "output",
    "p": "port",
    "e": "env",
    "a": "annotation",
    "l": "label",
    "d": "data",
    "s": "sink",
    "h": "help",
    "A": "all-namespaces",
}
REPEATABLE_FLAGS = {"env", "annotation", "label"}


class KnError(Exception):
    """Printed as `Error: ...`; `usage_hint` adds the `Run '... --help' for usage` line."""

    def __init__(self, message: str, usage_hint: bool = True) -> None:
        super().__init__(message)
        self.usage_hint = usage_hint


@dataclass
class Invocation:
    words: list[str] = field(default_factory=list)
    flags: dict[str, Any] = field(default_factory=dict)

    def flag(self, name: str, default: Any = None) -> Any:
        return self.flags.get(name, default)


def parse_args(argv: list[str]) -> Invocation:
    parsed = Invocation()
    for arg, name, value in scan_flags(argv, VALUE_FLAGS, SHORT_FLAGS, KnError):
        if name is None:
            parsed.words.append(arg)
        elif name in VALUE_FLAGS:
            if name in REPEATABLE_FLAGS:
                parsed.flags.setdefault(name, []).append(value)
            else:
                parsed.flags[name] = value
        elif name in BOOLEAN_FLAGS:
            parsed.flags[name] = value.lower() != "false" if value is not None else True
        else:
            parsed.flags["unknown"] = arg
    return parsed


# --- talking to the API server ---------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class KubeClient:
    """Just enough of client-go's rest client: kubeconfig loading, auth, Retry-After retries."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
        path = (
            kubeconfig
            or next((p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p), None)
            or str(Path.home() / ".kube" / "config")
        )
        try:
            config = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as error:
            raise KnError(f"no or empty kubeconfig: {error}", usage_hint=False) from error
        context_name = context or config.get("current-context")
        contexts = {c["name"]: c.get("context", {}) for c in config.get("contexts") or []}
        if context_name not in contexts:
            raise KnError(f'context "{context_name}" does not exist', usage_hint=False)
        chosen = contexts[context_name]
        cluster = next(
            c["cluster"] for c in config.get("clusters") or [] if c["name"] == chosen.get("cluster")
        )
        user = next(
            (
                u.get("user") or {}
                for u in config.get("users") or []
                if u["name"] == chosen.get("user")
            ),
            {},
        )
        self.server = cluster["server"].rstrip("/")
        self.default_namespace = namespace or chosen.get("namespace") or "default"
        self.session = requests.Session()
        if _is_loopback(self.server):
            # kn is a Go program: golang.org/x/net/http/httpproxy never proxies loopback.
            self.session.trust_env = False
        self.session.headers["User-Agent"] = "kn/simulated"
        self.session.headers["Accept"] = "application/json"
        self.session.verify = self._ca(cluster)
        if user.get("token") or user.get("tokenFile"):
            token = user.get("token") or Path(user["tokenFile"]).read_text().strip()
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif user.get("username"):
            self.session.auth = (user["username"], user.get("password", ""))
        certificate = self._file(user, "client-certificate")
        key = self._file(user, "client-key")
        if certificate and key:
            self.session.cert = (certificate, key)
        self.warnings: list[str] = []

    @staticmethod
    def _file(entry: dict, name: str) -> str | None:
        if entry.get(f"{name}-data"):
            with tempfile.NamedTemporaryFile(delete=False, prefix="kn-", suffix=".pem") as handle:
                handle.write(base64.b64decode(entry[f"{name}-data"]))
            return handle.name
        return entry.get(name)

    def _ca(self, cluster: dict) -> bool | str:
        if cluster.get("insecure-skip-tls-verify"):
            return False
        return self._file(cluster, "certificate-authority") or True

    def request(
        self, method: str, path: str, body: dict | None = None, params: dict | None = None
    ) -> dict:
        # client-go retries a 429/5xx only when the server sends Retry-After (up to 10 times).
        for _ in range(10):
            response = self.session.request(
                method, self.server + path, json=body, params=params, timeout=30
            )
            retry_after = response.headers.get("Retry-After")
            if response.status_code in (429, 500, 502, 503, 504) and retry_after:
                time.sleep(min(float(retry_after), 1.0))
                continue
            break
        self.warnings += [
            self._warning_text(w) for w in response.headers.get("Warning", "").split(", 299") if w
        ]
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.reason
            except ValueError:
                message = response.text.strip() or response.reason
            raise ApiError(response.status_code, message)
        return response.json() if response.content else {}

    @staticmethod
    def _warning_text(header: str) -> str:
        """`299 - "text"` -> `text` (RFC 7234 warn-code, agent, quoted text)."""
        text = header.strip()
        if text.startswith("299"):
            text = text[3:].strip()
        text = text.removeprefix("-").strip()
        return text[1:-1] if text.startswith('"') and text.endswith('"') else text

    def get(self, path: str) -> dict | None:
        try:
            return self.request("GET", path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise


def resource_path(group: str, version: str, namespace: str, plural: str, name: str = "") -> str:
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    path = f"{prefix}/namespaces/{namespace}/{plural}"
    return f"{path}/{name}" if name else path


class Watch:
    """A watch stream read on a daemon thread, so the waiting loop keeps its own timeouts.

    An abandoned watch is left to its thread: closing a response that another thread is
    reading blocks until the server ends the stream.
    """

    def __init__(self, client: KubeClient, collection: str, name: str, timeout: float) -> None:
        self.events: queue.Queue[dict | None] = queue.Queue()
        params = {
            "watch": "true",
            "fieldSelector": f"metadata.name={name}",
            "timeoutSeconds": str(int(timeout) + 1),
        }
        self._thread = threading.Thread(
            target=self._read, args=(client, collection, params, name), daemon=True
        )
        self._thread.start()

    def _read(self, client: KubeClient, collection: str, params: dict, name: str) -> None:
        try:
            response = client.session.get(
                client.server + collection, params=params, stream=True, timeout=(10, None)
            )
            if response.status_code == 200:
                # chunk_size=1: requests' default buffers 512 bytes, holding back the last event.
                for line in response.iter_lines(chunk_size=1):
                    if not line:
                        continue
                    event = json.loads(line)
                    if event.get("object", {}).get("metadata", {}).get("name") == name:
                        self.events.put(event)
        except (requests.RequestException, ValueError, AttributeError):
            pass  # a broken stream is a closed watch: the waiter starts a new one
        self.events.put(None)


def in_sync(obj: dict) -> bool:
    """wait_for_ready.go isGivenEqualsObservedGeneration."""
    observed = (obj.get("status") or {}).get("observedGeneration")
    return observed is not None and observed == obj.get("metadata", {}).get("generation")


def wait_for_ready(
    client: KubeClient, collection: str, name: str, kind: str, timeout: float, out: Any
) -> float:
    """Wait until Ready=True, printing condition messages; returns seconds since the last watch."""
    previous_message = None
    overall_deadline = time.monotonic() + timeout
    while True:
        start = time.monotonic()
        watch = Watch(client, collection, name, overall_deadline - start)
        false_since: float | None = None
        false_error = ""
        while True:
            now = time.monotonic()
            if now >= overall_deadline:
                raise KnError(f"timeout: {kind} '{name}' not ready after {int(timeout)} seconds")
            if false_since is not None and now - false_since >= ERROR_WINDOW:
                raise KnError(false_error)
            try:
                event = watch.events.get(timeout=min(overall_deadline - now, 0.05))
            except queue.Empty:
                continue
            if event is None or event.get("type") == "ERROR":
                break
            obj = event["object"]
            if not in_sync(obj):
                continue
            for condition in (obj.get("status") or {}).get("conditions") or []:
                if condition.get("type") != "Ready":
                    continue
                if condition.get("status") == "True":
                    return time.monotonic() - start
                if condition.get("status") == "False" and false_since is None:
                    false_since = time.monotonic()
                    false_error = f"{condition.get('reason', '')}: {condition.get('message', '')}"
                message = condition.get("message", "")
                if message:
                    text = "..." if message == previous_message else message
                    print(f"{time.monotonic() - start:7.3f}s {text}", file=out, flush=True)
                    previous_message = message
        if time.monotonic() >= overall_deadline:
            raise KnError(f"timeout: {kind} '{name}' not ready after {int(timeout)} seconds")


# --- commands ------------------------------------------------------------------------------


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("."))


def build_info(version: str) -> tuple[str, str]:
    if version in BUILDS:
        return BUILDS[version]
    # INFERRED: quarterly minors from 1.11 (2023-07-27), patches two weeks apart.
    major, minor, patch = (version_tuple(version) + (0, 0, 0))[:3]
    day = datetime.datetime(2023, 7, 27, 8, 14, 5) + datetime.timedelta(
        days=91 * (minor - 11 + 100 * (major - 1)) + 14 * patch
    )
    return hashlib.sha256(version.encode()).hexdigest()[:8], day.strftime("%Y-%m-%d %H:%M:%S")


def print_version(invocation: Invocation, version: str) -> int:
    revision, date = build_info(version)
    serving, eventing = API_VERSIONS.get(version, (version, version))
    apis = {
        "serving": [f"serving.knative.dev/v1 (knative-serving {serving})"],
        "eventing": [
            f"sources.knative.dev/v1 (knative-eventing {eventing})",
            f"eventing.knative.dev/v1 (knative-eventing {eventing})",
        ],
    }
    output = invocation.flag("output")
    if output is None:
        print(
            f"Version:      {version}\nBuild Date:   {date}\nGit Revision: {revision}\n"
            "Supported APIs:\n* Serving"
        )
        print("\n".join(f"  - {api}" for api in apis["serving"]))
        print("* Eventing")
        print("\n".join(f"  - {api}" for api in apis["eventing"]))
        return 0
    document = {
        "Version": version,
        "BuildDate": date,
        "GitRevision": revision,
        "SupportedAPIs": dict(sorted(apis.items())),
    }
    if output.lower() == "json":
        # Go's json.MarshalIndent(v, "", "\t") without a trailing newline.
        sys.stdout.write(json.dumps(document, indent="\t"))
    elif output.lower() == "yaml":
        sys.stdout.write(yaml.safe_dump(document, sort_keys=False))
    else:
        raise KnError("invalid value for output flag, choose one among 'json' or 'yaml'")
    return 0


def group_help(path: str) -> str:
    short, subs = SUB_COMMANDS[path]
    width = max(len(sub) for sub in subs) + 1
    lines = [f"{short}\n", "Usage:", f"  {path} [options]\n", "Available Commands:"]
    lines += [f"  {sub.ljust(width)}" for sub in subs]
    lines.append(f'\nUse "{path} <command> --help" for more information about a given command.')
    return "\n".join(lines)


def make_client(invocation: Invocation) -> KubeClient:
    return KubeClient(
        invocation.flag("kubeconfig"), invocation.flag("context"), invocation.flag("namespace")
    )


def single_name(invocation: Invocation, command: str, what: str) -> str:
    names = invocation.words[len(command.split()) - 1 :]
    if len(names) != 1:
        raise KnError(
            f"'{command.removeprefix('kn ')}' requires the {what} name given as single argument"
        )
    return names[0]


def print_warnings(client: KubeClient) -> None:
    # The API server's Warning headers (the serving webhook's), as client-go prints them.
    for warning in client.warnings:
        print(f"Warning: {warning}", file=sys.stderr)


def service_create(invocation: Invocation) -> int:
    name = single_name(invocation, "kn service create", "service")
    image = invocation.flag("image")
    if not image:
        raise KnError(
            "'service create' requires the image name to run provided with the --image option"
        )
    client = make_client(invocation)
    namespace = client.default_namespace
    collection = resource_path(*SERVING, namespace, "services")
    if client.get(f"{collection}/{name}") is not None and not invocation.flag("force"):
        raise KnError(
            f"cannot create service '{name}' in namespace '{namespace}' because the "
            "service already exists and no --force option was given"
        )
    container: dict[str, Any] = {"image": image, "resources": {}}
    if invocation.flag("port"):
        port_name, _, number = str(invocation.flag("port")).rpartition(":")
        port = {"containerPort": int(number)}
        if port_name:
            port["name"] = port_name
        container["ports"] = [port]
    if invocation.flag("env"):
        container["env"] = [
            dict(zip(("name", "value"), item.split("=", 1), strict=False))
            for item in invocation.flag("env")
        ]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    service = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        "client.knative.dev/updateTimestamp": stamp,
                        "client.knative.dev/user-image": image,
                    }
                },
                "spec": {"containers": [container]},
            }
        },
    }
    client.request("POST", collection, service)
    print_warnings(client)
    if invocation.flag("no-wait") or invocation.flag("wait") is False:
        print(f"Service '{name}' created in namespace '{namespace}'.")
        return 0
    print(f"Creating service '{name}' in namespace '{namespace}':\n", flush=True)
    timeout = float(invocation.flag("wait-timeout", DEFAULT_WAIT_TIMEOUT))
    duration = wait_for_ready(client, collection, name, "service", timeout, sys.stdout)
    print(f"{duration:7.3f}s Ready to serve.\n")
    live = client.request("GET", f"{collection}/{name}")
    status = live.get("status") or {}
    print(
        f"Service '{name}' created to latest revision '{status.get('latestReadyRevisionName')}' "
        f"is available at URL:\n{status.get('url')}"
    )
    return 0


def age(timestamp: str | None) -> str:
    if not timestamp:
        return ""
    created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def print_object(obj: dict, output: str) -> None:
    if output == "json":
        print(json.dumps(obj, indent=4))
    elif output == "yaml":
        print(yaml.safe_dump(obj, sort_keys=True), end="")
    else:
        raise KnError(
            f'unable to match a printer suitable for the output format "{output}", '
            "allowed formats are: json,jsonpath,jsonpath-as-json,jsonpath-file,name,"
            "go-template,go-template-file,template,templatefile,yaml"
        )


def service_describe(invocation: Invocation) -> int:
    name = single_name(invocation, "kn service describe", "service")
    client = make_client(invocation)
    namespace = client.default_namespace
    try:
        service = client.request("GET", resource_path(*SERVING, namespace, "services", name))
    except ApiError as error:
        raise KnError(str(error), usage_hint=False) from error
    if invocation.flag("output"):
        print_object(service, invocation.flag("output"))
        return 0
    metadata, status = service["metadata"], service.get("status") or {}
    print(f"Name:       {name}\nNamespace:  {namespace}")
    print(f"Age:        {age(metadata.get('creationTimestamp'))}")
    print(f"URL:        {status.get('url', '')}\n\nRevisions:")
    for target in status.get("traffic") or []:
        revision_name = target.get("revisionName", "")
        revision = client.get(resource_path(*SERVING, namespace, "revisions", revision_name)) or {}
        label = "@latest " if target.get("latestRevision") else ""
        generation = (
            revision.get("metadata", {})
            .get("labels", {})
            .get("serving.knative.dev/configurationGeneration", "?")
        )
        print(
            f"  {target.get('percent', 0)}%  {label}({revision_name}) [{generation}] "
            f"({age(revision.get('metadata', {}).get('creationTimestamp'))})"
        )
        containers = revision.get("spec", {}).get("containers") or [{}]
        revision_status = revision.get("status") or {}
        print(f"        Image:     {containers[0].get('image', '')}")
        print(
            f"        Replicas:  {revision_status.get('actualReplicas', 0)}/"
            f"{revision_status.get('desiredReplicas', 0)}"
        )
    print("\nConditions:\n  OK TYPE                   AGE REASON")
    symbols = {"True": "++", "False": "!!", "Unknown": "??"}
    for condition in status.get("conditions") or []:
        print(
            f"  {symbols.get(condition.get('status'), '??')} "
            f"{condition.get('type', ''):<22}{age(condition.get('lastTransitionTime')):>4} "
            f"{condition.get('reason', '')}".rstrip()
        )
    return 0


def wait_until_gone(client: KubeClient, path: str, kind: str, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while client.get(path) is not None:
        if time.monotonic() >= deadline:
            raise KnError(f"timeout: {kind} '{name}' not deleted after {int(timeout)} seconds")
        time.sleep(0.05)


def service_delete(invocation: Invocation) -> int:
    names = invocation.words[2:]
    if not names:
        raise KnError("'service delete' requires the service name(s)")
    client = make_client(invocation)
    namespace = client.default_namespace
    failures = []
    for name in names:
        path = resource_path(*SERVING, namespace, "services", name)
        try:
            client.request("DELETE", path)
            if not invocation.flag("no-wait"):
                timeout = float(invocation.flag("wait-timeout", DEFAULT_WAIT_TIMEOUT))
                wait_until_gone(client, path, "service", name, timeout)
            print(f"Service '{name}' successfully deleted in namespace '{namespace}'.")
        except ApiError as error:
            failures.append(str(error))
    if failures:
        raise KnError("\n".join(failures), usage_hint=False)
    return 0


def ping_api_version(version: str) -> str:
    return "v1beta2" if version_tuple(version)[:2] <= (1, 16) else "v1"


def resolve_sink(client: KubeClient, sink: str, namespace: str) -> dict:
    """flags/sink.go: `ksvc:`/bare name, `broker:`, `channel:` refs (must exist) or a URI."""
    if sink.startswith(("http://", "https://")):
        return {"uri": sink}
    prefix, _, name = sink.rpartition(":")
    kinds = {
        "": ("serving.knative.dev", "v1", "Service", "services"),
        "ksvc": ("serving.knative.dev", "v1", "Service", "services"),
        "broker": ("eventing.knative.dev", "v1", "Broker", "brokers"),
        "channel": ("messaging.knative.dev", "v1", "Channel", "channels"),
    }
    if prefix not in kinds:
        raise KnError(
            f"unsupported sink prefix: '{prefix}', please use prefixes: broker, channel, ksvc"
        )
    group, version, kind, plural = kinds[prefix]
    try:
        client.request("GET", resource_path(group, version, namespace, plural, name))
    except ApiError as error:
        raise KnError(str(error)) from error
    return {
        "ref": {
            "apiVersion": f"{group}/{version}",
            "kind": kind,
            "name": name,
            "namespace": namespace,
        }
    }


def ping_create(invocation: Invocation, version: str) -> int:
    name = single_name(invocation, "kn source ping create", "Ping source")
    if not invocation.flag("sink"):
        raise KnError('required flag(s) "sink" not set')
    client = make_client(invocation)
    namespace = client.default_namespace
    api_version = ping_api_version(version)
    spec: dict[str, Any] = {}
    if invocation.flag("schedule"):
        spec["schedule"] = invocation.flag("schedule")
    if invocation.flag("data"):
        spec["data"] = invocation.flag("data")
    spec["sink"] = resolve_sink(client, invocation.flag("sink"), namespace)
    source = {
        "apiVersion": f"sources.knative.dev/{api_version}",
        "kind": "PingSource",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    try:
        client.request(
            "POST",
            resource_path("sources.knative.dev", api_version, namespace, "pingsources"),
            source,
        )
    except ApiError as error:
        raise KnError(
            f"cannot create PingSource '{name}' in namespace '{namespace}' because: {error}",
            usage_hint=False,
        ) from error
    print(f"Ping source '{name}' created in namespace '{namespace}'.")
    return 0


def ping_delete(invocation: Invocation, version: str) -> int:
    name = single_name(invocation, "kn source ping delete", "Ping source")
    client = make_client(invocation)
    namespace = client.default_namespace
    path = resource_path(
        "sources.knative.dev", ping_api_version(version), namespace, "pingsources", name
    )
    try:
        client.request("DELETE", path)
    except ApiError as error:
        raise KnError(
            f"cannot delete PingSource '{name}' in namespace '{namespace}' because: {error}",
            usage_hint=False,
        ) from error
    print(f"Ping source '{name}' deleted in namespace '{namespace}'.")
    return 0


def command_path(words: list[str]) -> tuple[str, list[str]]:
    """The longest known command prefix of the positional words, and what follows it."""
    path = "kn"
    for index, word in enumerate(words):
        candidate = f"{path} {word}"
        if candidate not in SUB_COMMANDS and candidate not in LEAF_COMMANDS:
            return path, words[index:]
        path = candidate
        if candidate in LEAF_COMMANDS:
            return path, words[index + 1 :]
    return path, []


def run(argv: list[str], version: str) -> int:
    invocation = parse_args(argv)
    if invocation.words[:1] == ["help"]:
        invocation.words = invocation.words[1:]
        invocation.flags["help"] = True
    path, rest = command_path(invocation.words)
    if path == "kn" and rest:
        raise KnError(f'unknown command "{rest[0]}" for "kn"')
    if path in SUB_COMMANDS and rest and not invocation.flag("help"):
        subs = ", ".join(SUB_COMMANDS[path][1])
        raise KnError(
            f"unknown sub-command '{rest[0]}' for '{path}'. Available sub-commands: {subs}"
        )
    if "unknown" in invocation.flags:
        raise KnError(f"unknown flag: {invocation.flags['unknown']} for '{path}'")
    if path == "kn":
        print(ROOT_HELP)
        return 0
    if path in SUB_COMMANDS:
        print(group_help(path))
        return 0
    if invocation.flag("help"):
        print(f"{path}\n\nUsage:\n  {path} [options]")
        return 0
    handlers = {
        "kn version": lambda: print_version(invocation, version),
        "kn service create": lambda: service_create(invocation),
        "kn service describe": lambda: service_describe(invocation),
        "kn service delete": lambda: service_delete(invocation),
        "kn source ping create": lambda: ping_create(invocation, version),
        "kn source ping delete": lambda: ping_delete(invocation, version),
    }
    if path not in handlers:
        raise KnError(f"'{path}' is not implemented by the simulated kn", usage_hint=False)
    try:
        return handlers[path]()
    except ApiError as error:
        raise KnError(str(error), usage_hint=False) from error
    except requests.ConnectionError as error:
        raise KnError(
            f'Get "{error.request.url if error.request else ""}": dial tcp: '
            "connect: connection refused",
            usage_hint=False,
        ) from error


def main(argv: list[str], version: str = DEFAULT_VERSION) -> int:
    try:
        return run(argv, version)
    except KnError as error:
        message = str(error)
        print(f"Error: {message.removeprefix('Error: ')}", file=sys.stderr)
        if error.usage_hint:
            hint = "kn"
            if "'kn " in message:
                hint = message.split("'kn ", 1)[1].split("'", 1)[0]
                hint = f"kn {hint}"
            print(f"Run '{hint} --help' for usage", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
