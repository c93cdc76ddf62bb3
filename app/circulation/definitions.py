"""Validation of a workflow definition as a graph: every step reachable, every step with an
assignee, every path of approvals ending, every reference resolvable."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.circulation import END, Assignee, StepDefinition, StepKind, WorkflowDefinition


@dataclass(frozen=True, slots=True)
class DefinitionProblem:
    problem: str
    step: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"problem": self.problem, "step": self.step, "message": self.message}


def next_key(definition: WorkflowDefinition, step: StepDefinition) -> str:
    """Where approvals lead from `step`: its `next`, else the following step, else the end."""
    if step.next is not None:
        return step.next
    keys = [s.key for s in definition.steps]
    position = keys.index(step.key)
    return keys[position + 1] if position + 1 < len(keys) else END


def step_by_key(definition: WorkflowDefinition, key: str) -> StepDefinition | None:
    return next((s for s in definition.steps if s.key == key), None)


def find_problems(definition: WorkflowDefinition) -> list[DefinitionProblem]:
    problems = _duplicate_keys(definition)
    if problems:
        return problems
    for step in definition.steps:
        problems += _step_problems(definition, step)
    if problems:
        return problems
    return _unreachable(definition) + _cycles_without_exit(definition)


def _duplicate_keys(definition: WorkflowDefinition) -> list[DefinitionProblem]:
    seen: set[str] = set()
    problems = []
    for step in definition.steps:
        if step.key in seen or step.key == END:
            problems.append(
                DefinitionProblem(
                    "duplicate-step", step.key, f"step key {step.key!r} is used twice"
                )
            )
        seen.add(step.key)
    return problems


def _step_problems(definition: WorkflowDefinition, step: StepDefinition) -> list[DefinitionProblem]:
    return (
        _assignee_problems(definition, step)
        + _quorum_problems(step)
        + _reference_problems(definition, step)
    )


def _assignee_problems(
    definition: WorkflowDefinition, step: StepDefinition
) -> list[DefinitionProblem]:
    if not step.assignees:
        return [DefinitionProblem("no-assignee", step.key, f"step {step.key!r} has no assignee")]
    problems = []
    for assignee in step.assignees:
        if assignee.mapping is not None and assignee.mapping not in definition.mappings:
            problems.append(
                DefinitionProblem(
                    "unknown-mapping",
                    step.key,
                    f"step {step.key!r} looks up {assignee.fact!r} in an unknown mapping "
                    f"{assignee.mapping!r}",
                )
            )
    if step.escalate_to is not None and step.escalate_to.fact is not None:
        problems.append(
            DefinitionProblem(
                "bad-escalation",
                step.key,
                f"step {step.key!r} escalates to a fact; escalate to a user or a role",
            )
        )
    return problems


def _quorum_problems(step: StepDefinition) -> list[DefinitionProblem]:
    if step.kind != StepKind.quorum:
        if step.quorum is not None:
            return [
                DefinitionProblem(
                    "bad-quorum", step.key, f"step {step.key!r} sets a quorum but is {step.kind}"
                )
            ]
        return []
    if step.quorum is None:
        return [DefinitionProblem("bad-quorum", step.key, f"quorum step {step.key!r} needs N")]
    if _all_users(step.assignees) and step.quorum > len(step.assignees):
        return [
            DefinitionProblem(
                "bad-quorum",
                step.key,
                f"step {step.key!r} needs {step.quorum} approvals of {len(step.assignees)} users",
            )
        ]
    return []


def _all_users(assignees: list[Assignee]) -> bool:
    return all(a.user is not None for a in assignees)


def _reference_problems(
    definition: WorkflowDefinition, step: StepDefinition
) -> list[DefinitionProblem]:
    keys = {s.key for s in definition.steps} | {END}
    problems = []
    for label, target in (("next", step.next), ("on_reject", step.on_reject)):
        if target is not None and target not in keys:
            problems.append(
                DefinitionProblem(
                    "unknown-step",
                    step.key,
                    f"step {step.key!r} has {label} {target!r}, which is not a step",
                )
            )
    return problems


def _edges(definition: WorkflowDefinition, step: StepDefinition) -> set[str]:
    return {next_key(definition, step), step.on_reject} - {END}


def _unreachable(definition: WorkflowDefinition) -> list[DefinitionProblem]:
    reached = {definition.steps[0].key}
    frontier = [definition.steps[0]]
    while frontier:
        step = frontier.pop()
        for key in _edges(definition, step) - reached:
            reached.add(key)
            target = step_by_key(definition, key)
            assert target is not None
            frontier.append(target)
    return [
        DefinitionProblem(
            "unreachable-step",
            s.key,
            f"step {s.key!r} cannot be reached from {definition.steps[0].key!r}",
        )
        for s in definition.steps
        if s.key not in reached
    ]


def _cycles_without_exit(definition: WorkflowDefinition) -> list[DefinitionProblem]:
    """Approvals follow `next`; a chain of `next` that never reaches the end is a trap."""
    problems: list[DefinitionProblem] = []
    reported: set[frozenset[str]] = set()
    for step in definition.steps:
        cycle = _next_cycle(definition, step)
        if cycle is not None and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            path = " -> ".join([*cycle, cycle[0]])
            problems.append(
                DefinitionProblem(
                    "cycle-without-exit", cycle[0], f"the steps {path} loop with no way to the end"
                )
            )
    return problems


def _next_cycle(definition: WorkflowDefinition, start: StepDefinition) -> list[str] | None:
    path: list[str] = []
    step: StepDefinition | None = start
    while step is not None and step.key not in path:
        path.append(step.key)
        step = step_by_key(definition, next_key(definition, step))
    if step is None:
        return None
    return path[path.index(step.key) :]
