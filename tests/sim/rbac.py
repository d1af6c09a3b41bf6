"""The ClusterRole aggregation controller of kube-controller-manager.

Follows kubernetes `pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go`:
for every ClusterRole with an `aggregationRule`, the rules of the ClusterRoles its selectors
match (sorted by name, itself excluded, duplicates dropped) become its `rules`, written by
server-side apply with field manager `clusterrole-aggregation-controller` and force. So an
applier that takes `rules` over (they are an atomic list) loses them again at the next sync.
"""

from __future__ import annotations

from typing import Any

from tests.sim.kube_controllers import ReconcileLoop

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io/v1"
FIELD_MANAGER = "clusterrole-aggregation-controller"


def _matches(selector: Obj, labels: dict) -> bool:
    """A LabelSelector's matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist)."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def aggregated_rules(role: Obj, roles: list[Obj]) -> list[Obj]:
    """The rules `role`'s aggregationRule gathers from `roles`."""
    rules: list[Obj] = []
    by_name = sorted(roles, key=lambda r: r["metadata"]["name"])
    for selector in role["aggregationRule"].get("clusterRoleSelectors") or []:
        for other in by_name:
            if other["metadata"]["name"] == role["metadata"]["name"]:
                continue
            if not _matches(selector, other["metadata"].get("labels") or {}):
                continue
            rules += [rule for rule in other.get("rules") or [] if rule not in rules]
    return rules


class ClusterRoleAggregation(ReconcileLoop):
    """Component: keeps every aggregated ClusterRole's rules in sync."""

    name = "sim-clusterrole-aggregation"

    def reconcile(self) -> None:
        roles = self.store.list(RBAC, "ClusterRole")
        aggregated = [role for role in roles if role.get("aggregationRule")]
        self.each(aggregated, lambda role: self._sync(role, roles))

    def _sync(self, role: Obj, roles: list[Obj]) -> None:
        rules = aggregated_rules(role, roles)
        if rules == (role.get("rules") or []):
            return
        self.store.apply(
            {
                "apiVersion": RBAC,
                "kind": "ClusterRole",
                "metadata": {"name": role["metadata"]["name"]},
                "rules": rules,
            },
            manager=FIELD_MANAGER,
            force=True,
        )
