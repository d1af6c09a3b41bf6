"""The step model: prerequisites first, each step once, failures block their dependents."""

from dataclasses import replace

import pytest

from cookbook14.catalog import Catalog
from cookbook14.errors import ToolError
from cookbook14.options import Options
from cookbook14.plan import build_plan
from cookbook14.steps import (
    Status,
    StepBlocked,
    StepContext,
    StepFailed,
    StepNotImplemented,
    StepRunner,
)

ALL = [f"14.{n}" for n in range(1, 9)]


@pytest.fixture
def plan():
    base = build_plan(Options(), Catalog.load())
    # Every step implemented, so that blocking is seen everywhere, not hidden by "not implemented".
    return replace(base, steps=tuple(replace(step, implemented=True) for step in base.steps))


def runner_with(plan, failing: set[str], ran: list[str]) -> StepRunner:
    def action_for(recipe: str):
        def action(ctx) -> dict:
            ran.append(recipe)
            if recipe in failing:
                raise ToolError(f"{recipe} broke")
            return {}

        return action

    return StepRunner(plan, make_context=lambda step: None, actions={r: action_for(r) for r in ALL})


def test_selecting_a_recipe_installs_its_prerequisites_first(plan):
    ran: list[str] = []
    runner = runner_with(plan, set(), ran)
    runner.ensure("14.6")
    assert ran == ["14.1", "14.2", "14.5", "14.6"]
    runner.ensure("14.6")
    runner.ensure("14.4")
    assert ran == ["14.1", "14.2", "14.5", "14.6", "14.4"], "each step runs once"


def test_a_failed_operator_step_blocks_every_later_step(plan):
    ran: list[str] = []
    runner = runner_with(plan, {"14.1"}, ran)
    with pytest.raises(
        StepFailed, match=r"step 14.1 \(Install the Knative Operator\) failed: 14.1 broke"
    ):
        runner.ensure("14.1")
    for recipe in ALL[1:]:
        if recipe == "14.3":
            runner.ensure(recipe)  # the kn CLI needs no cluster step
            continue
        with pytest.raises(StepBlocked) as blocked:
            runner.ensure(recipe)
        assert "blocked by failed step 14.1 (Install the Knative Operator)" in str(blocked.value)
        assert runner.outcomes[recipe].status is Status.BLOCKED
        assert runner.outcomes[recipe].blocked_by == "14.1"
    assert ran == ["14.1", "14.3"], "blocked steps are not attempted"


def test_blocking_names_the_root_failure_through_a_chain(plan):
    ran: list[str] = []
    runner = runner_with(plan, {"14.2"}, ran)
    with pytest.raises(StepBlocked) as blocked:
        runner.ensure("14.6")
    assert blocked.value.root.recipe == "14.2"
    assert ran == ["14.1", "14.2"]
    assert runner.blocker("14.4").recipe == "14.2"
    assert runner.blocker("14.5") is None


def test_a_step_without_an_action_is_not_implemented(plan):
    runner = StepRunner(plan, make_context=lambda step: None, actions={})
    with pytest.raises(StepNotImplemented, match="step 14.1 .* is not implemented yet"):
        runner.ensure("14.1")
    assert runner.outcomes["14.1"].status is Status.NOT_IMPLEMENTED


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ValueError("bad document"), "unexpected ValueError: bad document"),
        (KeyError("kind"), "unexpected KeyError"),
    ],
)
def test_an_unexpected_exception_fails_the_step(plan, raised, expected):
    def action(ctx) -> dict:
        raise raised

    runner = StepRunner(plan, make_context=lambda step: None, actions={"14.1": action})
    with pytest.raises(StepFailed, match=expected):
        runner.ensure("14.1")
    assert runner.outcomes["14.1"].status is Status.FAILED
    with pytest.raises(StepFailed):
        runner.ensure("14.1")


def test_an_interrupted_step_is_recorded_and_the_interrupt_goes_on(plan):
    def action(ctx) -> dict:
        raise KeyboardInterrupt

    runner = StepRunner(plan, make_context=lambda step: None, actions={"14.1": action})
    with pytest.raises(KeyboardInterrupt):
        runner.ensure("14.1")
    assert runner.outcomes["14.1"].status is Status.INTERRUPTED
    assert runner.outcomes["14.1"].error == "interrupted (KeyboardInterrupt)"


def test_a_steps_facts_are_kept_with_its_outcome(plan):
    runner = StepRunner(
        plan,
        make_context=lambda step: None,
        actions={"14.1": lambda ctx: {"operator_version": "1.11.4"}},
    )
    assert runner.ensure("14.1").facts == {"operator_version": "1.11.4"}
    assert runner.outcomes["14.1"].status is Status.PASSED


def test_a_steps_duration_is_the_time_its_action_took(plan):
    runner = StepRunner(plan, make_context=lambda step: None, actions={"14.1": lambda ctx: {}})
    passed = runner.ensure("14.1")
    assert 0 <= passed.duration < 0.5, "an instant action takes no time"
    assert passed.to_dict()["duration_s"] == round(passed.finished - passed.started, 3)
    failing = runner_with(plan, {"14.2"}, [])
    with pytest.raises(StepBlocked):
        failing.ensure("14.4")
    assert failing.outcomes["14.4"].duration == 0.0, "a blocked step did not run"


def test_a_step_after_a_blocked_one_is_blocked_by_the_root_failure(plan):
    ran: list[str] = []
    runner = runner_with(plan, {"14.1"}, ran)
    with pytest.raises(StepBlocked):
        runner.ensure("14.5")
    assert runner.outcomes["14.5"].status is Status.BLOCKED
    # Asked before 14.7 runs (as a check's setup asks): its prerequisite 14.5 is blocked.
    assert runner.blocker("14.7").recipe == "14.1"
    assert ran == ["14.1"]


def test_a_steps_progress_lines_go_to_the_person_watching(plan):
    said: list[str] = []
    step = plan.step("14.1")
    StepContext(kube=None, plan=plan, step=step, progress=said.append).say("applying")
    assert said == ["applying"]
    StepContext(kube=None, plan=plan, step=step).say("nobody listens")  # no progress: quiet


def test_a_step_whose_prerequisite_never_ran_is_blocked_by_the_failure_below_it(plan):
    runner = runner_with(plan, {"14.1"}, [])
    with pytest.raises(StepFailed):
        runner.ensure("14.1")
    # 14.7 needs 14.5, which has not been attempted; 14.5 needs the failed 14.1.
    assert "14.5" not in runner.outcomes
    assert runner.blocker("14.7").recipe == "14.1"
    assert runner.blocker("14.3") is None, "the kn CLI needs no cluster step"
