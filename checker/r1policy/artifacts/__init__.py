"""Model-artifact scanning (`r1policy scan`): never executes, imports or unpickles what it reads.

Layout: `targets` opens local paths, `s3://` prefixes and `hf://` repositories as byte streams;
`sniff` decides the format by content; `scanner` walks every file (and archive member, through
`archives`) and computes facts with `tensors`, `content` and the pickle analyser in `pickles`;
`verdict` turns those facts into Cedar `Artifact` entities that the rules in policies/R1-ART-* judge.
"""

from r1policy.core.errors import SourceError


class ArtifactError(SourceError):
    """A scan target as a whole could not be read (missing path, bucket, repository...)."""
