"""plan(): the reconcile actions from desired node specs against running ones."""

import itertools

from archviz.lab.reconcile import Start, Stop, Update, plan
from archviz.node.spec import NodeSpec


def test_missing_node_is_started():
    """A desired node that is not running gets a Start."""
    spec = NodeSpec("node-1")
    assert plan([spec], {}) == [Start(spec)]


def test_unwanted_node_is_stopped():
    """A running node that is no longer desired gets a Stop."""
    assert plan([], {"node-1": NodeSpec("node-1")}) == [Stop("node-1")]


def test_changed_runtime_params_are_updated():
    """A running node whose spec changed gets an Update with the new spec."""
    new = NodeSpec("node-1", weight=3, capacity=20, latency_ms=50)
    assert plan([new], {"node-1": NodeSpec("node-1")}) == [Update(new)]


def test_equal_specs_need_no_action():
    """Desired equal to running plans nothing."""
    specs = [NodeSpec("node-1"), NodeSpec("node-2", weight=2)]
    assert plan(specs, {s.name: s for s in specs}) == []


def test_stops_come_before_starts_and_updates():
    """Stops are ordered first so that their ports free up before starts."""
    actions = plan(
        [NodeSpec("a-new"), NodeSpec("b-kept", weight=5)],
        {"b-kept": NodeSpec("b-kept"), "z-old": NodeSpec("z-old")},
    )
    assert actions == [
        Stop("z-old"),
        Start(NodeSpec("a-new")),
        Update(NodeSpec("b-kept", weight=5)),
    ]


def test_plan_is_sorted_by_name_whatever_the_input_order():
    """The same inputs in any order give the same plan, sorted by name."""
    desired = [NodeSpec("node-3"), NodeSpec("node-1"), NodeSpec("node-2")]
    running = {"old-b": NodeSpec("old-b"), "old-a": NodeSpec("old-a")}
    expected = [Stop("old-a"), Stop("old-b")] + [Start(NodeSpec(f"node-{i}")) for i in (1, 2, 3)]
    for order in itertools.permutations(desired):
        assert plan(order, dict(reversed(running.items()))) == expected


def _apply(actions: list, running: dict[str, NodeSpec]) -> dict[str, NodeSpec]:
    result = dict(running)
    for action in actions:
        if isinstance(action, Stop):
            del result[action.name]
        else:
            result[action.spec.name] = action.spec
    return result


def _states() -> list[dict[str, NodeSpec]]:
    names = ("node-1", "node-2", "node-3")
    variants = (None, NodeSpec, lambda name: NodeSpec(name, weight=2, latency_ms=10))
    states = []
    for choice in itertools.product(variants, repeat=len(names)):
        states.append({n: make(n) for n, make in zip(names, choice, strict=True) if make})
    return states


def test_applying_any_plan_reaches_desired_with_minimal_actions():
    """For every small desired/running pair, the plan converges and touches only differences."""
    states = _states()
    for desired, running in itertools.product(states, repeat=2):
        actions = plan(desired.values(), running)
        assert _apply(actions, running) == desired
        differing = {n for n in desired.keys() | running.keys() if desired.get(n) != running.get(n)}
        touched = [a.name if isinstance(a, Stop) else a.spec.name for a in actions]
        assert sorted(touched) == sorted(differing)
        kinds = [type(a) for a in actions]
        assert kinds == sorted(kinds, key=[Stop, Start, Update].index)
