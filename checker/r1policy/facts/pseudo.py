"""CloudFormation pseudo-parameters in an image registry: a pattern check holds only if it holds for every
value they can take.

`${AWS::Region}`, `${AWS::URLSuffix}`, `${AWS::Partition}` and `${AWS::AccountId}` are the deploying
stack's, not the template's. They take their values together: a region belongs to one partition, and the
partition fixes the URL suffix (`amazonaws.com`, `amazonaws.com.cn` in China, the ISO partitions' own).
The regions below are every region of each partition, plus a made-up one per partition standing for a
region AWS opens later (a pattern that lists regions one by one does not cover it). An account id is any
12 digits; three samples (all zeros, all nines, one ordinary) and every account an approved pattern
names stand for them.

An account id belongs to one partition. A registry whose account is written out and is one of the
accounts AWS publishes for Deep Learning Containers (policies/data/dlc-registries.json) exists only in
that account's partition: `763104351884.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}` is judged over every
region of `aws` (including one opened later), never over China's `amazonaws.com.cn`, where that
registry does not exist. Any other account (the stack's own, a customer's) leaves every partition open.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from functools import cache

from r1policy.core.lazyre import compile_on_use
from r1policy.core.resources import load_data

# partition -> (URL suffix, regions); the last region of each is made up (a region opened later).
PARTITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws": (
        "amazonaws.com",
        (
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-south-1",
            "eu-south-2",
            "eu-north-1",
            "il-central-1",
            "me-south-1",
            "me-central-1",
            "mx-central-1",
            "sa-east-1",
            "zz-future-1",
        ),
    ),
    "aws-cn": ("amazonaws.com.cn", ("cn-north-1", "cn-northwest-1", "cn-future-1")),
    "aws-us-gov": ("amazonaws.com", ("us-gov-west-1", "us-gov-east-1", "us-gov-future-1")),
    "aws-iso": ("c2s.ic.gov", ("us-iso-east-1", "us-iso-west-1")),
    "aws-iso-b": ("sc2s.sgov.gov", ("us-isob-east-1",)),
}
ACCOUNTS = ("000000000000", "999999999999", "123456789012")
PSEUDO = re.compile(r"\$\{AWS::(Region|URLSuffix|Partition|AccountId)\}")
_ECR_ACCOUNT = compile_on_use(r"(\d{12})\.dkr\.ecr\.")


def partition_of(region: str) -> str:
    for name, (_, regions) in PARTITIONS.items():
        if region in regions:
            return name
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


def url_suffix(region: str) -> str:
    return PARTITIONS[partition_of(region)][0]


@cache
def dlc_partitions() -> dict[str, frozenset[str]]:
    """Each Deep Learning Container registry account AWS publishes -> the partitions it serves."""
    table: dict[str, str] = load_data("dlc-registries.json")["regions"]
    out: dict[str, set[str]] = {}
    for region, account in table.items():
        out.setdefault(account, set()).add(partition_of(region))
    return {account: frozenset(parts) for account, parts in out.items()}


def registry_partitions(text: str) -> tuple[str, ...]:
    """The partitions a registry can be in: a written-out DLC account's own, else every partition."""
    found = _ECR_ACCOUNT.match(text)
    parts = dlc_partitions().get(found.group(1)) if found else None
    return tuple(p for p in PARTITIONS if parts is None or p in parts)


def has_pseudo(text: str) -> bool:
    return PSEUDO.search(text) is not None


def _values(text: str, patterns: tuple[str, ...]) -> Iterator[str]:
    names = set(PSEUDO.findall(text))
    # The accounts a pattern names are values the account id can take, too.
    named = tuple(sorted({a for p in patterns for a in re.findall(r"(?<!\d)\d{12}(?!\d)", p)}))
    accounts = (*ACCOUNTS, *named) if "AccountId" in names else ("",)
    for partition in registry_partitions(text):
        suffix, regions = PARTITIONS[partition]
        for region in regions:
            for account in accounts:
                values = {"Region": region, "URLSuffix": suffix, "Partition": partition, "AccountId": account}
                yield _fill(text, values)


def _fill(text: str, values: dict[str, str]) -> str:
    return PSEUDO.sub(lambda m: values[m.group(1)], text)


def pattern_verdict(text: str, patterns: tuple[str, ...]) -> tuple[bool | None, str]:
    """Whether `text` (with pseudo-parameters) matches one of `patterns` for every value they can take:
    True (for all), False (for none) or None (for some: undecided), and an example that does not match."""
    values = list(_values(text, patterns))
    misses = [v for v in values if not any(fnmatch.fnmatchcase(v, p) for p in patterns)]
    if not misses:
        return True, ""
    if len(misses) == len(values):
        return False, misses[0]
    return None, misses[0]
