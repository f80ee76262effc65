"""What the scanner records per file or archive member, and the limits it enforces."""

from __future__ import annotations

from dataclasses import dataclass, field

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class ScanLimits:
    max_depth: int = 4  # archive nesting (outer.tar.gz!/inner.zip!/x counts 2)
    max_members: int = 100_000  # entries per archive
    max_member_bytes: int = 256 * GIB  # one expanded member
    max_expanded_bytes: int = 4 * 1024 * GIB  # all members of one archive together
    max_ratio: int = 200  # expanded / compressed, checked once a stream has expanded past ...
    ratio_grace_bytes: int = 64 * MIB  # ... this many bytes
    max_header_bytes: int = 100 * MIB  # safetensors JSON header; GGUF metadata strings/arrays
    max_text_bytes: int = 64 * MIB  # JSON / text / code files analysed in memory
    spool_memory_bytes: int = 32 * MIB  # a polyglot pickle is spooled for its replay (memory, then disk)
    max_directory_bytes: int = 32 * MIB  # a zip's central directory (and what follows it), in memory


DEFAULT_LIMITS = ScanLimits()


@dataclass(frozen=True)
class Expected:
    """A digest the file must have, and who says so."""

    sha256: str
    source: str  # "r1policy.lock", "S3 ChecksumSHA256", "Hub LFS sha256"


@dataclass
class FileFacts:
    """Facts about one file or archive member; `path` is the finding subject id."""

    path: str
    size: int | None = None
    format: str = "unknown"
    detail: str = ""  # e.g. the pickle kind, "keras-v3", "pytorch-zip"
    sha256: str | None = None
    # (size, sha256) of consecutive byte ranges, when the file was hashed in ranges (docs/s3-hashing.md)
    parts: tuple[tuple[int, str], ...] = ()
    pickle_based: bool = False
    unsafe_imports: list[str] = field(default_factory=list)  # "os.system at byte 12"
    unsafe_import_names: list[str] = field(default_factory=list)  # "os.system"
    pickle_problems: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # already redacted descriptions
    header_problems: list[str] = field(default_factory=list)
    archive_problems: list[str] = field(default_factory=list)
    # files a model file points at outside its folder (ONNX external data locations)
    reference_problems: list[str] = field(default_factory=list)
    template_problems: list[str] = field(default_factory=list)
    keras_code_layers: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    auto_map: list[str] = field(default_factory=list)
    unknown_format: str | None = None  # why the format is unknown / unscannable
    digest_problems: list[str] = field(default_factory=list)
    unreadable: str | None = None  # the file could not be read: every rule is an error
    # R1-ART-012 (ClamAV): signature names found; scanned completely; why not (error / skipped)
    malware: list[str] = field(default_factory=list)
    malware_scanned: bool = False
    malware_error: str | None = None
    malware_skipped: str | None = None
    # R1-ART-011 (model signature): checked against the signature; what is wrong; why not (error/skip)
    signature_checked: bool = False
    signature_problems: list[str] = field(default_factory=list)
    signature_error: str | None = None
    signature_skipped: str | None = None

    @property
    def unscannable(self) -> bool:
        return bool(self.unreadable or self.unknown_format or self.pickle_problems or self.header_problems)
