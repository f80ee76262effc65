"""Static analysis of pickle-based model files: never `pickle.load`, never imports what it reads.

API (INTERFACES.md §5):

- `sniff(head) -> PickleKind | None`: PICKLE (protocols 0-5, with or without PROTO), TORCH_LEGACY
  (`torch.save(..., _use_new_zipfile_serialization=False)`), NPY, JOBLIB; None when not pickle-based.
  A PyTorch *zip* checkpoint is a zip: the archive layer passes `PickleKind.TORCH_ZIP` for its
  `*/data.pkl` member (any member whose content sniffs as a pickle inside a zip that has the torch
  layout), which permits persistent ids that are storage references ('storage', <storage class>, key,
  location, numel). A `.npz` member is analysed with `PickleKind.NPY`.
- `analyse(stream, kind, *, limits=DEFAULT_LIMITS) -> PickleAnalysis`: reads `stream` forward only with
  `.read(n)` (n up to 1 MiB at a time; large operands and raw storages are consumed in chunks and not
  kept) and stops at the end of what the format defines or at the first problem that makes the rest
  undecodable; `bytes_consumed` says how far it read. Whatever is left the caller may drain (hashing).
- `PickleAnalysis.problems`: every global outside the allowlist in `policies/data/safe-globals.json`
  (message names the global and the byte offset), every unresolvable operand, malformed or truncated
  stream, trailing data and reached limit. `problems == ()` is the only "safe" verdict.
"""

from r1policy.artifacts.pickles.allowlist import Allowlist, default_allowlist, load_allowlist
from r1policy.artifacts.pickles.analyse import analyse
from r1policy.artifacts.pickles.model import (
    DEFAULT_LIMITS,
    GlobalRef,
    Limits,
    PickleAnalysis,
    PickleKind,
    PickleProblem,
    ProblemKind,
)
from r1policy.artifacts.pickles.sniff import Probe, could_start, is_pickle, probe, sniff

__all__ = [
    "DEFAULT_LIMITS",
    "Allowlist",
    "GlobalRef",
    "Limits",
    "PickleAnalysis",
    "PickleKind",
    "PickleProblem",
    "Probe",
    "ProblemKind",
    "analyse",
    "could_start",
    "default_allowlist",
    "is_pickle",
    "load_allowlist",
    "probe",
    "sniff",
]
