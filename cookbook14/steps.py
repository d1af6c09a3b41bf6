"""Recipe steps and the runner that knows what depends on what.

A step is one recipe's install work, executed from its StepPlan: apply, then wait. The runner
runs a step's prerequisites first, runs each step at most once, and when a step fails, every
step that depends on it is blocked by it (not attempted, and not a failure of its own).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cookbook14 import evidence
from cookbook14.assets import fetch_text
from cookbook14.catalog import Catalog
from cookbook14.errors import HarnessError, WaitTimeout
from cookbook14.kube import Kube, load_documents
from cookbook14.options import Options
from cookbook14.outcomes import Status, StepOutcome
from cookbook14.plan import Plan, StepPlan, crds_established
from cookbook14.waits import Progress, wait_for

log = logging.getLogger(__name__)


class StepFailed(HarnessError):
    def __init__(self, outcome: StepOutcome) -> None:
        super().__init__(f"{outcome.headline()}\n{outcome.error}".rstrip())
        self.outcome = outcome


class StepBlocked(HarnessError):
    def __init__(self, recipe: str, root: StepOutcome) -> None:
        super().__init__(f"blocked by failed {root.headline()}")
        self.recipe = recipe
        self.root = root


class StepNotImplemented(HarnessError):
    pass


def _ignore(*args: object) -> None:
    """Where nobody records figures or warnings (library use without a report)."""


@dataclass
class StepContext:
    """What a step action works with: the cluster, its plan, and where its findings go."""

    kube: Kube
    plan: Plan
    step: StepPlan
    progress: Progress | None = None
    options: Options = field(default_factory=Options)
    catalog: Catalog | None = None
    # The kubeconfig and context of the cluster under test, for tools (kn) that need them.
    kubeconfig: Path | None = None
    context: str | None = None
    # Outcomes of the steps that ran before (their facts: the kn binary, versions found).
    earlier: Mapping[str, StepOutcome] = field(default_factory=dict)
    # measure(name, value, unit): a figure for the report; warn(text): an upstream warning.
    measure: Callable[[str, float, str], None] = _ignore
    warn: Callable[[str], None] = _ignore

    def say(self, message: str) -> None:
        if self.progress:
            self.progress(message)


StepAction = Callable[[StepContext], dict]


def apply_and_wait(ctx: StepContext) -> dict:
    """The common shape of an install step: apply each planned source, then each planned wait."""
    for item in ctx.step.applies:
        documents = list(item.documents) or load_documents(fetch_text(item.source), item.source)
        ctx.kube.apply(
            documents, item.namespace, wait_for_crds=lambda names: _established(ctx, names)
        )
    for planned in ctx.step.waits:
        wait_for(ctx.kube, planned, ctx.progress)
    return {}


def _established(ctx: StepContext, names: list[str]) -> None:
    for planned in crds_established(tuple(names), ctx.plan.deadlines):
        wait_for(ctx.kube, planned, ctx.progress)


def _cluster_evidence(ctx: StepContext | None, step: StepPlan, outcome: StepOutcome) -> None:
    if ctx is None or ctx.kube is None:
        return
    log.info("reading the cluster's evidence of failed step %s", step.recipe)
    try:
        outcome.cluster_evidence = evidence.collect(ctx.kube, step.evidence)
    except BaseException:
        # Ctrl-C while reading: the step still failed, and its evidence file says why it is short.
        outcome.cluster_evidence = "(interrupted while reading the cluster's evidence)"
        raise


class StepRunner:
    """Runs steps in dependency order, once each, and remembers their outcomes."""

    def __init__(
        self,
        plan: Plan,
        make_context: Callable[[StepPlan], StepContext],
        actions: Mapping[str, StepAction],
        on_outcome: Callable[[StepOutcome], None] | None = None,
    ) -> None:
        self.plan = plan
        self.make_context = make_context
        self.actions = actions
        self.on_outcome = on_outcome
        self.outcomes: dict[str, StepOutcome] = {}

    def blocker(self, recipe: str) -> StepOutcome | None:
        """The failed step that already blocks `recipe`, if any (nothing is run)."""
        for required in self.plan.step(recipe).requires:
            outcome = self.outcomes.get(required)
            if outcome and outcome.status is Status.FAILED:
                return outcome
            if outcome and outcome.status is Status.BLOCKED:
                return self.outcomes[outcome.blocked_by]
            deeper = self.blocker(required)
            if deeper:
                return deeper
        return None

    def ensure(self, recipe: str) -> StepOutcome:
        """Run `recipe`'s step (after its prerequisites) unless it already ran."""
        if recipe in self.outcomes:
            return self._settled(self.outcomes[recipe])
        step = self.plan.step(recipe)
        for required in step.requires:
            try:
                self.ensure(required)
            except StepFailed as failure:
                self._record(self._blocked(step, failure.outcome))
                raise StepBlocked(recipe, failure.outcome) from None
            except StepBlocked as blocked:
                self._record(self._blocked(step, blocked.root))
                raise StepBlocked(recipe, blocked.root) from None
        action = self.actions.get(recipe)
        if action is None or not step.implemented:
            self._record(StepOutcome(recipe, step.title, Status.NOT_IMPLEMENTED))
            raise StepNotImplemented(f"step {recipe} ({step.title}) is not implemented yet")
        outcome = StepOutcome(recipe, step.title, Status.FAILED, started=time.time())
        ctx = self.make_context(step)
        try:
            outcome.facts = action(ctx) or {}
            outcome.status = Status.PASSED
        except HarnessError as error:
            outcome.error = str(error)
            if isinstance(error, WaitTimeout):
                outcome.evidence = error.evidence.to_dict()
            _cluster_evidence(ctx, step, outcome)
        except Exception as error:  # a defect or an upstream surprise: still a failed step
            outcome.error = f"unexpected {type(error).__name__}: {error}"
            _cluster_evidence(ctx, step, outcome)
        except BaseException as interruption:
            outcome.status = Status.INTERRUPTED
            outcome.error = f"interrupted ({type(interruption).__name__})"
            raise
        finally:
            outcome.finished = time.time()
            self._record(outcome)
        return self._settled(outcome)

    def _settled(self, outcome: StepOutcome) -> StepOutcome:
        if outcome.status is Status.FAILED:
            raise StepFailed(outcome)
        if outcome.status is Status.BLOCKED:
            raise StepBlocked(outcome.recipe, self.outcomes[outcome.blocked_by])
        if outcome.status is Status.NOT_IMPLEMENTED:
            raise StepNotImplemented(
                f"step {outcome.recipe} ({outcome.title}) is not implemented yet"
            )
        return outcome

    def _blocked(self, step: StepPlan, root: StepOutcome) -> StepOutcome:
        now = time.time()
        return StepOutcome(
            step.recipe,
            step.title,
            Status.BLOCKED,
            started=now,
            finished=now,
            error=f"blocked by failed {root.headline()}",
            blocked_by=root.recipe,
        )

    def _record(self, outcome: StepOutcome) -> None:
        self.outcomes[outcome.recipe] = outcome
        if self.on_outcome:
            self.on_outcome(outcome)
