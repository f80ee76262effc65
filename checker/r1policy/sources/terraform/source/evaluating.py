"""What the for-expression and function readers need of the expression evaluator (`expr.Evaluator`):
evaluate a node, display it, its parts, an unknown value naming why, and the loop variables in scope."""

from __future__ import annotations

from typing import Any, Protocol

from r1policy.sources.cloudformation.values import Unknown


class Evaluating(Protocol):
    loop: dict[str, Any]

    def display(self, node: Any) -> str: ...

    def unknown(self, node: Any, what: str, refs: frozenset[str] = frozenset()) -> Unknown: ...

    def eval(self, node: Any) -> Any: ...

    def parts(self, node: Any) -> list[Any]: ...
