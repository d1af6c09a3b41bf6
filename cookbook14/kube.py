"""The Kubernetes access layer: the only code that talks to the API server.

A small layer over the official client's DynamicClient, so any kind, custom resources
included, is handled the same way. Transient failures (5xx, dropped connections) are retried
with backoff; a 4xx answer is final and raised as a KubeError that quotes the server.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import urllib3
import yaml
from kubernetes import client, config, watch
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION, KubeConfigMerger
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import (
    DynamicApiError,
    NotFoundError,
    ResourceNotFoundError,
)
from kubernetes.dynamic.resource import Resource

from cookbook14.errors import AssetError, Event, KubeError, UsageError
from cookbook14.loopback import is_loopback

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
TRANSIENT_ERRORS = (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)
# Backoff between attempts at a transient failure: 0.2 s doubling to 5 s; 10 attempts at a
# server that answers 5xx.
RETRY_ATTEMPTS = 10
RETRY_FIRST_DELAY = 0.2
RETRY_MAX_DELAY = 5.0
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0
# A request that gets no answer at all (connection refused or reset, nothing back in time) is
# tried again until the API server has been silent for UNREACHABLE_LIMIT seconds; then it, and
# every later request until the server answers again, fails at once with the cause.
UNREACHABLE_LIMIT = 45.0
# A server that never answered is a wrong address or a cluster that is not running.
FIRST_CONTACT_ATTEMPTS = 3
# While the server is silent an attempt may not outlast the limit by much.
SILENT_REQUEST_TIMEOUT = 5.0
# The server ends a watch after its timeoutSeconds; a watch silent this much longer is stalled.
WATCH_GRACE = 10.0
# KubeError.reason of a server that stopped answering.
UNREACHABLE = "Unreachable"


@dataclass(frozen=True)
class ApiResource:
    """One row of `kubectl api-resources`."""

    name: str
    shortnames: tuple[str, ...]
    api_version: str
    namespaced: bool
    kind: str


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.name}{where}"

    @classmethod
    def of(cls, obj: dict) -> ObjectRef:
        meta = obj.get("metadata", {})
        return cls(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


@dataclass(frozen=True)
class Applied:
    """One object an apply wrote: created by it, or found there; `at` is time.time()."""

    ref: ObjectRef
    created: bool
    at: float


@dataclass
class _Contact:
    """When the API server last answered and, while it does not, since when and why."""

    answered_at: float | None = None
    silent_since: float | None = None
    silent_since_utc: datetime | None = None
    cause: str = ""
    given_up: bool = False


class Kube:
    """Apply, get, list, delete, discover, watch, logs and events against one cluster."""

    def __init__(
        self, api_client: client.ApiClient, field_manager: str = "cookbook14", origin: str = ""
    ) -> None:
        self.api_client = api_client
        self.field_manager = field_manager
        # Where the connection came from (context and kubeconfig), for advice in errors.
        self.origin = origin
        self.unreachable_limit = UNREACHABLE_LIMIT
        self._contact = _Contact()
        # Discovery is cached per connection, in a folder removed with this object.
        self._cache_folder = tempfile.TemporaryDirectory(prefix="cookbook14-discovery-")
        self._discovery_cache = Path(self._cache_folder.name) / "discovery.json"
        self._dynamic: DynamicClient | None = None
        # Every object this connection applied, in order, and whether the server created it
        # (what --cleanup may remove) or found it (what it leaves).
        self.applied: list[Applied] = []

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path | None, context: str | None = None) -> Kube:
        """Connect with a kubeconfig file (None: $KUBECONFIG or ~/.kube/config)."""
        where = f"--kubeconfig {kubeconfig}" if kubeconfig else "the default kubeconfig"
        if kubeconfig is not None and not kubeconfig.is_file():
            raise UsageError(
                f"cannot use {where}: no such file; give a readable kubeconfig with "
                "--kubeconfig FILE (and --context NAME to pick a context)"
            )
        config_file = str(kubeconfig) if kubeconfig else None
        try:
            configuration = client.Configuration()
            with _exec_plugin_failures(config_file, context) as failures:
                config.load_kube_config(
                    config_file=config_file,
                    context=context,
                    client_configuration=configuration,
                )
            _, active = config.list_kube_config_contexts(config_file)
        except (ConfigException, OSError, yaml.YAMLError, TypeError, KeyError) as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise UsageError(
                f"cannot use {where}"
                + (f" with --context {context}" if context else "")
                + f": {detail}; give a readable kubeconfig with --kubeconfig FILE "
                "(and --context NAME to pick a context)"
            ) from None
        origin = f"context {context or active['name']} of {where}"
        if failures:
            raise KubeError(f"cannot use {origin}: {failures[0]}")
        _keep_loopback_off_proxies(configuration)
        _report_exec_plugin_failures(configuration, config_file, context)
        # Retries are _retrying's job, with backoff and a clear final message.
        configuration.retries = 0
        return cls(client.ApiClient(configuration), origin=origin)

    @property
    def host(self) -> str:
        return self.api_client.configuration.host

    # -- discovery ---------------------------------------------------------------------

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            with self._answering_as_kubernetes("/version or /api"):
                self._dynamic = self._retrying(
                    "discover the API",
                    lambda: _TimedDynamicClient(
                        self.api_client, str(self._discovery_cache), self._timeout, self._answered
                    ),
                )
        return self._dynamic

    def resource(self, api_version: str, kind: str) -> Resource:
        """The served resource for a kind; refreshes discovery once before giving up."""
        try:
            return self._retrying(
                f"discover {kind}",
                lambda: self.dynamic.resources.get(api_version=api_version, kind=kind),
            )
        except ResourceNotFoundError:
            self._retrying("refresh discovery", self.dynamic.resources.invalidate_cache)
            try:
                return self.dynamic.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                raise KubeError(
                    f"the cluster does not serve {kind} ({api_version}): no such resource in "
                    "API discovery",
                    status=404,
                    reason="NotFound",
                ) from None

    def server_version(self) -> str:
        def call() -> client.VersionInfo:
            info = client.VersionApi(self.api_client).get_code(_request_timeout=self._timeout())
            self._answered()
            return info

        with self._answering_as_kubernetes("/version"):
            info = self._retrying("read /version", call)
        if not getattr(info, "git_version", None):
            raise self._not_kubernetes("/version", "without a gitVersion")
        return info.git_version

    def api_resources(self, group: str) -> list[ApiResource]:
        """What `kubectl api-resources --api-group=<group>` lists: every resource of the group,
        each at the group's preferred version that serves it."""
        try:
            group_info = self._request("GET", f"/apis/{group}")
        except KubeError as error:
            if error.status == 404:
                return []
            raise
        preferred = group_info.get("preferredVersion", {}).get("groupVersion")
        versions = [v["groupVersion"] for v in group_info.get("versions", [])]
        versions.sort(key=lambda gv: gv != preferred)
        seen: dict[str, ApiResource] = {}
        for group_version in versions:
            listing = self._request("GET", f"/apis/{group_version}")
            for entry in listing.get("resources", []):
                if "/" in entry["name"] or entry["name"] in seen:
                    continue
                seen[entry["name"]] = ApiResource(
                    name=entry["name"],
                    shortnames=tuple(entry.get("shortNames") or ()),
                    api_version=group_version,
                    namespaced=bool(entry.get("namespaced")),
                    kind=entry["kind"],
                )
        return sorted(seen.values(), key=lambda row: row.name)

    # -- objects -----------------------------------------------------------------------

    def apply(
        self,
        documents: Iterable[dict],
        namespace: str | None = None,
        wait_for_crds: Callable[[list[str]], None] | None = None,
    ) -> list[dict]:
        """Server-side apply every document (idempotent; the harness owns what it applies).

        Namespaces go first and CustomResourceDefinitions next, as a person applying a
        release file would need; `wait_for_crds` is called with the CRD names before the
        other objects, so custom resources of the same file find their kind served.
        """
        docs = [doc for doc in documents if doc]
        rank = {"Namespace": 0, "CustomResourceDefinition": 1}
        docs.sort(key=lambda doc: rank.get(doc.get("kind", ""), 2))
        applied: list[dict] = []
        crds_pending: list[str] = []
        for doc in docs:
            if crds_pending and doc.get("kind") not in rank:
                if wait_for_crds:
                    wait_for_crds(crds_pending)
                self._retrying("refresh discovery", self.dynamic.resources.invalidate_cache)
                crds_pending = []
            applied.append(self._apply_one(doc, namespace))
            if doc.get("kind") == "CustomResourceDefinition":
                crds_pending.append(doc["metadata"]["name"])
        if crds_pending and wait_for_crds:
            wait_for_crds(crds_pending)
        return applied

    def _apply_one(self, doc: dict, namespace: str | None) -> dict:
        resource = self.resource(doc["apiVersion"], doc["kind"])
        ref = _describe(doc)
        target_namespace = None
        if resource.namespaced:
            target_namespace = doc.get("metadata", {}).get("namespace") or namespace or "default"
        response = self._retrying(
            f"apply {ref}",
            lambda: resource.server_side_apply(
                body=doc,
                namespace=target_namespace,
                field_manager=self.field_manager,
                force_conflicts=True,
                serialize=False,
            ),
        )
        applied = json.loads(response.data)
        # An apply answers 201 Created when it made the object, 200 when it was there.
        self.applied.append(Applied(ObjectRef.of(applied), response.status == 201, time.time()))
        log.info("applied %s (resourceVersion %s)", ref, applied["metadata"].get("resourceVersion"))
        return applied

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict | None:
        resource = self.resource(api_version, kind)
        try:
            return self._retrying(
                f"get {kind} {name}", lambda: resource.get(name=name, namespace=namespace)
            ).to_dict()
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict], str]:
        """Objects of a kind and the list's resourceVersion (to watch from)."""
        resource = self.resource(api_version, kind)
        result = self._retrying(
            f"list {kind}",
            lambda: resource.get(
                namespace=namespace, label_selector=label_selector, field_selector=field_selector
            ),
        ).to_dict()
        return result.get("items", []), result["metadata"].get("resourceVersion", "")

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete an object; False if it was not there."""
        resource = self.resource(api_version, kind)
        try:
            self._retrying(
                f"delete {kind} {name}",
                lambda: resource.delete(
                    name=name, namespace=namespace, body={"propagationPolicy": "Foreground"}
                ),
            )
        except KubeError as error:
            if error.status == 404:
                return False
            raise
        return True

    def watch(
        self,
        api_version: str,
        kind: str,
        resource_version: str,
        timeout: float,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[tuple[str, dict]]:
        """(event type, object) from resource_version on, for at most `timeout` seconds.

        The stream may end early (the server or a proxy dropped it): the caller resumes from
        the last resourceVersion it saw. 410 Gone, a transient failure (5xx, connection lost)
        and a refusal are raised as KubeError; `.transient` tells which can be retried. Once
        the server has not answered for `unreachable_limit` seconds the KubeError says so, with
        reason UNREACHABLE, and is not transient.
        """
        resource = self.resource(api_version, kind)
        seconds = max(1, int(timeout))
        try:
            for event in watch.Watch().stream(
                resource.get,
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                resource_version=resource_version,
                serialize=False,
                timeout_seconds=seconds,
                # The server ends the watch after timeout_seconds; this bounds a stalled one.
                _request_timeout=(CONNECT_TIMEOUT, seconds + WATCH_GRACE),
            ):
                self._answered()
                yield event["type"], event["raw_object"]
        except (DynamicApiError, client.ApiException) as error:
            self._answered()
            raise _kube_error(error, f"watch {kind}") from None
        except TRANSIENT_ERRORS as error:
            if _is_tls_failure(error):
                raise KubeError(
                    f"cannot watch {kind}: the TLS connection to {self.host} failed ({error})"
                ) from None
            self._unanswered(error)
            if self._gave_up():
                raise self.unreachable(f"watch {kind}") from None
            raise KubeError(
                f"the watch of {kind} was cut: {self._contact.cause}", transient=True
            ) from None
        self._answered()

    # -- logs and events ---------------------------------------------------------------

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int | None = None
    ) -> str:
        core = client.CoreV1Api(self.api_client)
        kwargs: dict = {"container": container} if container else {}
        if tail_lines:
            kwargs["tail_lines"] = tail_lines

        def call() -> str:
            text = core.read_namespaced_pod_log(
                pod, namespace, _request_timeout=self._timeout(), **kwargs
            )
            self._answered()
            return text

        return self._retrying(f"read the log of pod {pod}", call)

    def events(
        self, namespace: str | None, name: str | None = None, kind: str | None = None
    ) -> list[Event]:
        """Events about an object (or a whole namespace), oldest first."""
        selectors = []
        if name:
            selectors.append(f"involvedObject.name={name}")
        if kind:
            selectors.append(f"involvedObject.kind={kind}")
        items, _ = self.list("v1", "Event", namespace, field_selector=",".join(selectors) or None)
        items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return [
            Event(
                type=item.get("type", ""),
                reason=item.get("reason", ""),
                object=f"{item['involvedObject'].get('kind', '')}/{item['involvedObject'].get('name', '')}",
                message=(item.get("message") or "").strip(),
                count=int(item.get("count") or 1),
            )
            for item in items
        ]

    # -- plumbing ----------------------------------------------------------------------

    def _request(self, method: str, path: str) -> dict:
        def call() -> dict:
            response = self.dynamic.request(method, path, serialize=False)
            return json.loads(response.data)

        return self._retrying(f"{method} {path}", call)

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        delay = RETRY_FIRST_DELAY
        attempt = 0
        while True:
            attempt += 1
            try:
                result = call()
            except NotFoundError as error:
                self._answered()
                raise _kube_error(error, what) from None
            except (DynamicApiError, client.ApiException) as error:
                self._answered()
                if error.status not in TRANSIENT_STATUS or attempt >= RETRY_ATTEMPTS:
                    raise _kube_error(error, what) from None
                log.info(
                    "%s: %s %s (attempt %d), retrying", what, error.status, error.reason, attempt
                )
            except TRANSIENT_ERRORS as error:
                if _is_tls_failure(error):
                    raise KubeError(
                        f"cannot {what}: the TLS connection to {self.host} failed ({error}); "
                        "check the kubeconfig's server address and certificate authority"
                    ) from None
                self._unanswered(error)
                if self._contact.answered_at is None and attempt >= FIRST_CONTACT_ATTEMPTS:
                    raise KubeError(
                        f"cannot {what}: the API server {self.host} ({self.origin}) does not "
                        f"answer: {self._contact.cause}; check that the cluster is running "
                        "(kind: `kind get clusters`), that the kubeconfig's server is its address "
                        "(`kubectl config view --minify`) and that the context is the cluster's "
                        "(--context NAME)",
                        reason=UNREACHABLE,
                    ) from None
                if self._gave_up():
                    raise self.unreachable(what) from None
                log.info("%s: %s (attempt %d), retrying", what, self._contact.cause, attempt)
            else:
                return result
            # Kept a sleep, not a watch: this is a request to a server that refused or did not
            # answer, so there is nothing to watch; bounded by RETRY_ATTEMPTS and the silence
            # limit (UNREACHABLE_LIMIT).
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY)

    # -- contact with the server -------------------------------------------------------

    def silence(self) -> str | None:
        """What to say of an API server that has stopped answering; None while it answers."""
        contact = self._contact
        if contact.silent_since_utc is None:
            return None
        return (
            f"the API server {self.host} has not answered since "
            f"{contact.silent_since_utc:%H:%M:%S} UTC: {contact.cause}"
        )

    def unreachable(self, what: str) -> KubeError:
        """The error for `what` when the server has been silent too long."""
        contact = self._contact
        silent = time.monotonic() - (contact.silent_since or time.monotonic())
        return KubeError(
            f"cannot {what}: {self.silence()} (no answer for {silent:.0f}s); check that the "
            f"cluster is still running ({self.origin or self.host})",
            reason=UNREACHABLE,
        )

    def _answered(self) -> None:
        self._contact = _Contact(answered_at=time.monotonic())

    def _unanswered(self, error: BaseException) -> None:
        contact = self._contact
        now = time.monotonic()
        if contact.silent_since is None:
            # Silent since its last answer; one that never answered, since this first try.
            contact.silent_since = contact.answered_at if contact.answered_at is not None else now
            contact.silent_since_utc = datetime.now(timezone.utc) - timedelta(
                seconds=now - contact.silent_since
            )
        contact.cause = _cause(error)

    def _gave_up(self) -> bool:
        """Whether the server has now been silent too long (and stays given up on until it
        answers: every later request is tried once)."""
        contact = self._contact
        if contact.silent_since is not None and (
            time.monotonic() - contact.silent_since >= self.unreachable_limit
        ):
            contact.given_up = True
        return contact.given_up

    def _timeout(self) -> tuple[float, float]:
        """(connect, read) seconds for the next request."""
        contact = self._contact
        if contact.silent_since is None:
            return CONNECT_TIMEOUT, REQUEST_TIMEOUT
        left = self.unreachable_limit - (time.monotonic() - contact.silent_since)
        return CONNECT_TIMEOUT, min(REQUEST_TIMEOUT, max(SILENT_REQUEST_TIMEOUT, left))

    @contextmanager
    def _answering_as_kubernetes(self, path: str) -> Iterator[None]:
        """A 404, or an answer that is not Kubernetes' JSON, to GET `path`: the server is not
        a Kubernetes API server, and the error says what to check."""
        try:
            yield
        except KubeError as error:
            if error.status == 404:
                raise self._not_kubernetes(path, "404 Not Found") from None
            raise
        except ValueError as error:
            raise self._not_kubernetes(path, f"something else ({error})") from None

    def _not_kubernetes(self, path: str, answer: str) -> KubeError:
        return KubeError(
            f"{self.host} ({self.origin}) is not a Kubernetes API server: GET {path} answered "
            f"{answer}; check that the kubeconfig's server is the cluster's API address "
            "(`kubectl config view --minify`) and that the context is the cluster's "
            "(--context NAME)"
        )


class _TimedDynamicClient(DynamicClient):
    """Every request has a deadline: the client's own default is to wait forever on a
    stalled API server."""

    def __init__(
        self,
        api_client: client.ApiClient,
        cache_file: str,
        timeout: Callable[[], object],
        answered: Callable[[], None],
    ) -> None:
        self._timeout, self._answered = timeout, answered
        super().__init__(api_client, cache_file=cache_file)

    def request(self, method: str, path: str, body: object = None, **params: object) -> object:
        params.setdefault("_request_timeout", self._timeout())
        try:
            response = super().request(method, path, body, **params)
        except DynamicApiError:
            self._answered()
            raise
        self._answered()
        return response


def _cause(error: BaseException) -> str:
    """`connection refused`, `connection reset`, `no answer within 30s`: what a request that
    got no answer ran into, from the OS error under urllib3's wrappers."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.ReadTimeoutError):
            return "no answer in time (read timed out)"
        if isinstance(current, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
            current, urllib3.exceptions.NewConnectionError
        ):
            return "the connection timed out"
        if isinstance(current, OSError) and current.errno and current.strerror:
            return current.strerror[0].lower() + current.strerror[1:]
        pending += [getattr(current, "reason", None), current.__cause__, current.__context__]
        pending += list(current.args)
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return f"the connection was cut ({error})"
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _keep_loopback_off_proxies(configuration: client.Configuration) -> None:
    """The client takes HTTPS_PROXY/HTTP_PROXY from the environment for every host (its
    Configuration, honouring NO_PROXY only): a loopback API server (a kind cluster) goes
    direct, as kubectl reaches it. A proxy-url the kubeconfig names is kept."""
    if not configuration.proxy or not is_loopback(configuration.host):
        return
    proxies = urllib.request.getproxies()
    from_environment = proxies.get(urlsplit(configuration.host).scheme) or proxies.get("all")
    if configuration.proxy == from_environment:
        log.info(
            "%s is a loopback address: not through the proxy %s",
            configuration.host,
            configuration.proxy,
        )
        configuration.proxy = None


@contextmanager
def _exec_plugin_failures(config_file: str | None, context: str | None) -> Iterator[list[str]]:
    """Failures of the kubeconfig's exec credential plugin (users[].user.exec), one line each.

    The client logs them to the root logger and carries on without credentials, so a person
    would see only 401 Unauthorized: they are taken off the root logger, written to the
    harness log and handed to the caller."""
    failures: list[str] = []

    def take(record: logging.LogRecord) -> bool:
        if f"kubernetes{os.sep}config{os.sep}" not in record.pathname:
            return True
        failure = _exec_failure(record.getMessage(), config_file, context)
        log.error("%s", failure)
        failures.append(failure)
        return False

    root = logging.getLogger()
    root.addFilter(take)
    try:
        yield failures
    finally:
        root.removeFilter(take)


def _report_exec_plugin_failures(
    configuration: client.Configuration, config_file: str | None, context: str | None
) -> None:
    """An exec plugin that fails when its expired token is renewed (mid-run) fails the
    request that needed it with the plugin's own words."""
    refresh = configuration.refresh_api_key_hook
    if refresh is None:
        return

    def refresh_or_fail(target: client.Configuration) -> None:
        with _exec_plugin_failures(config_file, context) as failures:
            refresh(target)
        # The client's refresh installs its own hook again.
        target.refresh_api_key_hook = refresh_or_fail
        if failures:
            raise KubeError(failures[0])

    configuration.refresh_api_key_hook = refresh_or_fail


def _exec_failure(message: str, config_file: str | None, context: str | None) -> str:
    detail = message.strip()
    if detail.startswith("exec: "):
        detail = detail[len("exec: ") :]
    returned, _, stderr = detail.partition(". ")
    if returned.startswith("process returned "):
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        detail = "; ".join(lines) or f"exit status {returned.rsplit(' ', 1)[-1]}"
    return (
        f"the kubeconfig's exec credential plugin {_exec_command(config_file, context)} "
        f"failed: {detail}"
    )


def _exec_command(config_file: str | None, context: str | None) -> str:
    try:
        merged = KubeConfigMerger(config_file or KUBE_CONFIG_DEFAULT_LOCATION).config
        user = merged["contexts"].get_with_name(context or merged["current-context"])
        credentials = merged["users"].get_with_name(user["context"]["user"])
        return str(credentials["user"]["exec"]["command"])
    except (ConfigException, OSError, yaml.YAMLError, KeyError, TypeError):
        return "(its command unknown)"


def load_documents(text: str, source: str) -> list[dict]:
    """The objects of a multi-document YAML manifest; anything else is an AssetError."""
    try:
        # libyaml's loader where PyYAML was built with it: release files run to megabytes.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        documents = [doc for doc in yaml.load_all(text, Loader=loader) if doc]
    except yaml.YAMLError as error:
        raise AssetError(f"{source} is not valid YAML: {str(error).splitlines()[0]}") from None
    for number, doc in enumerate(documents, 1):
        if not (
            isinstance(doc, dict)
            and doc.get("apiVersion")
            and doc.get("kind")
            and doc.get("metadata", {}).get("name")
        ):
            raise AssetError(
                f"{source}: document {number} is not a Kubernetes object (needs apiVersion, "
                "kind and metadata.name)"
            )
    return documents


def _is_tls_failure(error: Exception) -> bool:
    """A certificate problem does not go away by retrying."""
    reason = getattr(error, "reason", None)
    return isinstance(error, urllib3.exceptions.SSLError) or isinstance(
        reason, urllib3.exceptions.SSLError
    )


def _describe(doc: dict) -> str:
    meta = doc.get("metadata", {})
    where = f" in namespace {meta['namespace']}" if meta.get("namespace") else ""
    return f"{doc.get('kind')} {meta.get('name')}{where}"


def _kube_error(error: client.ApiException, what: str) -> KubeError:
    """Quote the server's Status message, which names the object and the rule broken."""
    message, reason = "", ""
    try:
        body = json.loads(error.body) if error.body else {}
        message, reason = body.get("message", ""), body.get("reason", "")
    except (TypeError, ValueError):
        message = str(error.body or "")
    detail = message or f"{error.status} {error.reason}"
    return KubeError(
        f"cannot {what}: {detail} (HTTP {error.status})",
        error.status,
        reason,
        transient=error.status in TRANSIENT_STATUS,
    )
