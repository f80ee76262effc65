"""Many deployments judged on two cores (issue 23): a forked helper judges the tail of the list while
this process judges the head, and hands back the findings, notices and sort keys it built.

Judging one deployment reads only what the whole run decided before (facts, Cedar's verdicts, the
configuration, the rule plans), all of which the forked helper inherits, and writes only its own
findings and notices: so the helper's part, appended after this process's, is what a sequential run
would have built, in the same order. Unpickling a finding costs about a quarter of building it.

When the helper fails in any way (it raised, died, was killed, or its result did not arrive), this
process judges its part itself: the same findings, or the same error, only slower. core/forked.py says
when a process may fork at all (`R1POLICY_PARALLEL=off` turns it off); tests/test_two_cores.py
compares runs with and without the helper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from r1policy.core.findings import Finding
from r1policy.core.forked import Tail, split_off

if TYPE_CHECKING:
    from r1policy.engine.emit import Notice

MIN_DEPLOYMENTS = 200  # below this, forking costs more than the helper saves
HELPER_SHARE = 0.42  # the helper's part, from the end (it also pickles what it built)


class Judged:
    """What judging a part of the deployments built (a plain class: nothing generated at import)."""

    __slots__ = ("findings", "keys", "notices")

    def __init__(
        self, findings: list[Finding], notices: list[Notice], keys: list[tuple[str, str, int, str, str, str]]
    ) -> None:
        self.findings, self.notices, self.keys = findings, notices, keys


def start(items: Sequence[Any], judge: Callable[[list[Any]], Judged]) -> Tail[Judged] | None:
    """A helper judging the tail of `items` with `judge`, or None when judging them all here is as
    fast, or forking is not safe here or fails."""
    return split_off(items, MIN_DEPLOYMENTS, HELPER_SHARE, judge)
