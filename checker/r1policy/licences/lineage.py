"""A model's lineage: its licence and base models, followed to the roots.

Where each model's facts come from, in order: the shipped table (the publisher's own statement; it
decides where a Hub card disagrees, and the disagreement is kept), else the model's Hub card
(`license`, `license_name`, `license_link`, `base_model` — a string or a list — and
`base_model_relation`), through the run's Hub client (one request per model per run, answered from the
commit-keyed cache when the revision is a commit). A chain deeper than MAX_DEPTH, a cycle, a model
whose licence no source states, or a Hub that could not be asked: `LineageError` (the rules report
`error`, never a pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from r1policy.core.licenceids import from_card
from r1policy.core.repoid import repo_id_problem
from r1policy.hub.errors import HubError
from r1policy.licences.table import BaseRef, LineageTable

if TYPE_CHECKING:
    from r1policy.engine.hubfacts import HubSource
    from r1policy.hub.record import RepoRecord

MAX_DEPTH = 8  # base-model hops from the deployed model to a root
RELATIONS = ("finetune", "quantized", "merge", "adapter")


class LineageError(Exception):
    """The lineage could not be established; `needs_hub`: only because the Hub was not consulted."""

    def __init__(self, message: str, *, needs_hub: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.needs_hub = needs_hub


@dataclass(frozen=True)
class Node:
    repo: str
    licence: str
    origin: str  # "table", "hub card", "manifest"
    source: str  # the statement it comes from (URL)
    relation: str = ""  # how this model derives from its parents ("" for a root)
    parents: tuple[Node, ...] = ()
    card_says: str = ""  # the Hub card's licence when it disagrees with the table
    commit: str = ""

    @property
    def publisher(self) -> str:
        return self.repo.split("/", 1)[0].lower()

    def imposed(self) -> frozenset[str]:
        """Licences the base models impose: a parent from another publisher carries all of its
        effective licences; one from the same publisher (who may relicense its own work) only what
        was imposed on it."""
        out: set[str] = set()
        for parent in self.parents:
            out |= parent.effective() if parent.publisher != self.publisher else parent.imposed()
        return frozenset(out)

    def effective(self) -> frozenset[str]:
        return frozenset({self.licence}) | self.imposed()

    def nodes(self) -> list[Node]:
        out = [self]
        for parent in self.parents:
            out += parent.nodes()
        return out

    def chain(self, *, top: bool = True) -> str:
        said = " declared" if self.origin == "manifest" else " card"
        label = f"{self.repo} ({self.licence}{said if top else ''})"
        if not self.parents:
            return label
        parents = [p.chain(top=False) for p in self.parents]
        joined = parents[0] if len(parents) == 1 else "{" + "; ".join(parents) + "}"
        return f"{label} ← {joined}"


@dataclass
class Resolver:
    table: LineageTable
    hub: HubSource | None  # None under --static
    max_depth: int = MAX_DEPTH
    disagreements: list[str] = field(default_factory=list)

    def resolve(self, repo: str, revision: str | None) -> Node:
        return self._walk(repo, revision, (), "")

    def resolve_base(self, repo: str, child: str) -> Node:
        """A base model of something that is not on the Hub (an S3 copy declared in a manifest)."""
        return self._walk(repo, None, (child.lower(),), "finetune")

    def _walk(self, repo: str, revision: str | None, stack: tuple[str, ...], relation: str) -> Node:
        key = repo.lower()
        if key in stack:
            cycle = " ← ".join([*stack[stack.index(key) :], key])
            raise LineageError(f"base_model cycle: {cycle}")
        if len(stack) > self.max_depth:
            raise LineageError(
                f"the base_model chain of {stack[0]} is deeper than {self.max_depth} models "
                f"({' ← '.join(stack)} ← …)"
            )
        path = (*stack, key)
        row = self.table.model(repo)
        record = self._record(repo, revision, needed=row is None, top=not stack)
        if row is not None:
            card_says = ""
            if record is not None and record.card:
                declared, text = from_card(record.card.get("license"), record.card.get("license_name"))
                if declared != row.licence:
                    card_says = text
                    self.disagreements.append(
                        f"{repo}: the Hub card says {text}, r1policy's table says {row.licence} "
                        f"({row.source}); the table decides"
                    )
            parents = tuple(self._walk(b.repo, None, path, b.relation) for b in row.base_models)
            return Node(repo, row.licence, "table", row.source, relation, parents, card_says)
        assert record is not None
        return self._from_card(repo, record, path, relation)

    def _record(self, repo: str, revision: str | None, *, needed: bool, top: bool) -> RepoRecord | None:
        """The Hub's record when the table lacks the model (needed) or for the deployed model (to
        compare its card with the table, from the lookup the Hub rules already made)."""
        if self.hub is None:
            if needed:
                raise LineageError(
                    f"{repo} is not in r1policy's lineage table and --static does not consult the Hub "
                    "for its model card",
                    needs_hub=True,
                )
            return None
        if not needed and not top:
            return None
        try:
            return self.hub.lookup(repo, revision).record
        except HubError as exc:
            if needed:
                raise LineageError(f"the model card of {repo} could not be read: {exc.message}") from exc
            return None

    def _from_card(self, repo: str, record: RepoRecord, path: tuple[str, ...], relation: str) -> Node:
        card = record.card
        if card is None:
            raise LineageError(
                f"the cached Hub record of {repo}@{record.sha[:12]} predates model-card data: "
                "run once online (without HF_HUB_OFFLINE) to refresh the cache"
            )
        licence, text = from_card(card.get("license"), card.get("license_name"))
        if licence is None:
            raise LineageError(f"the licence of {repo} is unknown: its model card has {text}")
        parents = tuple(self._walk(b.repo, None, path, b.relation) for b in base_refs(repo, card))
        source = f"https://huggingface.co/{repo}/blob/{record.sha}/README.md"
        return Node(repo, licence, "hub card", source, relation, parents, commit=record.sha)


def base_refs(repo: str, card: dict[str, object]) -> tuple[BaseRef, ...]:
    """The card's `base_model` (string or list) with its `base_model_relation` (default finetune)."""
    raw = card.get("base_model")
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    relation = card.get("base_model_relation") or "finetune"
    if relation not in RELATIONS:
        raise LineageError(f"{repo}: model card has base_model_relation {relation!r} (known: {RELATIONS})")
    refs = []
    for item in items:
        if not isinstance(item, str) or repo_id_problem(item) is not None:
            raise LineageError(f"{repo}: model card names base_model {item!r}, which is not a Hub model id")
        refs.append(BaseRef(item, str(relation)))
    return tuple(refs)
