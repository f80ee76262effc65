"""Many deployments judged on two cores (issue 23): a forked helper judges part of the list while this
process judges the rest, and hands back the findings, notices and sort keys it built.

Judging one deployment reads only what the whole run decided before (the configuration, the rule
plans, the bucket facts) and what is worked out for that deployment alone (its facts, Cedar's verdict
on it), and writes only its own findings and notices: so the helper's part, appended after this
process's, is what a sequential run would have built, in the same order. Two ways:

- `meet` (when the helper may work out facts itself: it would ask the Hub nothing): the helper takes
  chunks of the deployments from the back and this process from the front until they meet
  (core/meeting.Meeting), each working out a chunk's facts, asking Cedar about the groups of subjects
  it has not asked about yet (engine/cedarbatch.Answers) and judging it; `merged` puts the helper's
  chunks back in order.
- `start`: the facts and verdicts of every deployment are worked out here first; the helper judges
  the last `HELPER_SHARE` of them.

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
from r1policy.core.meeting import Meeting
from r1policy.core.meeting import meet as forked_meet

if TYPE_CHECKING:
    from r1policy.engine.emit import Notice

MIN_DEPLOYMENTS = 200  # below this, forking costs more than the helper saves
HELPER_SHARE = 0.42  # the helper's part, from the end (it also pickles what it built)
CHUNK = 16  # deployments taken at a time when the helper works out their facts (about 8 ms of work)


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


def meet(count: int, each: Callable[[range], Judged]) -> Meeting[Judged] | None:
    """A helper judging `count` deployments from the back, a chunk at a time (`each` judges one chunk),
    or None as for `start`."""
    return forked_meet(count, MIN_DEPLOYMENTS, CHUNK, each)


def merged(chunks: list[Judged] | None) -> Judged | None:
    """The helper's chunks as one `Judged`, in order; None when it failed."""
    if chunks is None:
        return None
    whole = Judged([], [], [])
    for part in chunks:
        whole.findings += part.findings
        whole.notices += part.notices
        whole.keys += part.keys
    return whole
