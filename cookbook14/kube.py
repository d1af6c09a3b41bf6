"""The Kubernetes access layer: the only code that talks to the API server.

A small layer over the official client's DynamicClient, so any kind, custom resources
included, is handled the same way. Transient failures (5xx, dropped connections) are retried
with backoff; a 4xx answer is final and raised as a KubeError that quotes the server.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import urllib3
import yaml
from kubernetes import client, config, watch
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import (
    DynamicApiError,
    NotFoundError,
    ResourceNotFoundError,
)
from kubernetes.dynamic.resource import Resource

from cookbook14.errors import AssetError, Event, KubeError, UsageError

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
TRANSIENT_ERRORS = (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)
# Backoff between attempts at a transient failure: 0.2 s doubling to 5 s, 10 attempts.
RETRY_ATTEMPTS = 10
RETRY_FIRST_DELAY = 0.2
RETRY_MAX_DELAY = 5.0
REQUEST_TIMEOUT = 30.0


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


class Kube:
    """Apply, get, list, delete, discover, watch, logs and events against one cluster."""

    def __init__(self, api_client: client.ApiClient, field_manager: str = "cookbook14") -> None:
        self.api_client = api_client
        self.field_manager = field_manager
        # Discovery is cached per connection, in a folder removed with this object.
        self._cache_folder = tempfile.TemporaryDirectory(prefix="cookbook14-discovery-")
        self._discovery_cache = Path(self._cache_folder.name) / "discovery.json"
        self._dynamic: DynamicClient | None = None

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path | None, context: str | None = None) -> Kube:
        """Connect with a kubeconfig file (None: $KUBECONFIG or ~/.kube/config)."""
        where = f"--kubeconfig {kubeconfig}" if kubeconfig else "the default kubeconfig"
        if kubeconfig is not None and not kubeconfig.is_file():
            raise UsageError(
                f"cannot use {where}: no such file; give a readable kubeconfig with "
                "--kubeconfig FILE (and --context NAME to pick a context)"
            )
        try:
            configuration = client.Configuration()
            config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None,
                context=context,
                client_configuration=configuration,
            )
        except (ConfigException, OSError, yaml.YAMLError, TypeError, KeyError) as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise UsageError(
                f"cannot use {where}"
                + (f" with --context {context}" if context else "")
                + f": {detail}; give a readable kubeconfig with --kubeconfig FILE "
                "(and --context NAME to pick a context)"
            ) from None
        # Retries are _retrying's job, with backoff and a clear final message.
        configuration.retries = 0
        return cls(client.ApiClient(configuration))

    @property
    def host(self) -> str:
        return self.api_client.configuration.host

    # -- discovery ---------------------------------------------------------------------

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            self._dynamic = self._retrying(
                "discover the API",
                lambda: _TimedDynamicClient(self.api_client, cache_file=str(self._discovery_cache)),
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
        info = self._retrying(
            "read /version",
            lambda: client.VersionApi(self.api_client).get_code(_request_timeout=REQUEST_TIMEOUT),
        )
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
        result = self._retrying(
            f"apply {ref}",
            lambda: resource.server_side_apply(
                body=doc,
                namespace=target_namespace,
                field_manager=self.field_manager,
                force_conflicts=True,
            ),
        )
        applied = result.to_dict()
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
        and a refusal are raised as KubeError; `.transient` tells which can be retried.
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
                _request_timeout=(10, seconds + 30),
            ):
                yield event["type"], event["raw_object"]
        except (DynamicApiError, client.ApiException) as error:
            raise _kube_error(error, f"watch {kind}") from None
        except TRANSIENT_ERRORS as error:
            raise KubeError(
                f"the watch of {kind} was cut ({type(error).__name__})", transient=True
            ) from None

    # -- logs and events ---------------------------------------------------------------

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int | None = None
    ) -> str:
        core = client.CoreV1Api(self.api_client)
        kwargs: dict = {"container": container} if container else {}
        if tail_lines:
            kwargs["tail_lines"] = tail_lines
        return self._retrying(
            f"read the log of pod {pod}",
            lambda: core.read_namespaced_pod_log(
                pod, namespace, _request_timeout=REQUEST_TIMEOUT, **kwargs
            ),
        )

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
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                return call()
            except NotFoundError as error:
                raise _kube_error(error, what) from None
            except (DynamicApiError, client.ApiException) as error:
                if error.status not in TRANSIENT_STATUS or attempt == RETRY_ATTEMPTS:
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
                if attempt == RETRY_ATTEMPTS:
                    raise KubeError(
                        f"cannot {what}: the API server at {self.host} did not answer "
                        f"after {attempt} attempts ({error})"
                    ) from None
                log.info("%s: %s (attempt %d), retrying", what, error, attempt)
            # Nothing can be watched for a server that is failing: back off and try again.
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY)
        raise AssertionError("unreachable")


class _TimedDynamicClient(DynamicClient):
    """Every request has a deadline: the client's own default is to wait forever on a
    stalled API server."""

    def request(self, method: str, path: str, body: object = None, **params: object) -> object:
        params.setdefault("_request_timeout", REQUEST_TIMEOUT)
        return super().request(method, path, body, **params)


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
