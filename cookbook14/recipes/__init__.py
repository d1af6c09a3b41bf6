"""One module per recipe: the step action that installs it (from its StepPlan) and the
library functions its checks use. ACTIONS maps each implemented recipe to its action."""

from __future__ import annotations

from cookbook14.recipes import (
    event_source,
    eventing,
    github_source,
    kn,
    operator,
    service,
    serving,
    triggermesh,
)
from cookbook14.steps import StepAction

ACTIONS: dict[str, StepAction] = {
    "14.1": operator.install,
    "14.2": serving.install,
    "14.3": kn.install,
    "14.4": service.install,
    "14.5": eventing.install,
    "14.6": event_source.install,
    "14.7": github_source.install,
    "14.8": triggermesh.install,
}
