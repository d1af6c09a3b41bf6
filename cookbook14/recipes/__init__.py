"""One module per recipe: the step action that installs it (from its StepPlan) and the
library functions its checks use. ACTIONS maps each implemented recipe to its action."""

from __future__ import annotations

from cookbook14.recipes import eventing, operator, serving
from cookbook14.steps import StepAction

ACTIONS: dict[str, StepAction] = {
    "14.1": operator.install,
    "14.2": serving.install,
    "14.5": eventing.install,
}
