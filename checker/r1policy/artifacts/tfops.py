"""TensorFlow graph facts for reading `saved_model.pb`: which messages hold ops, and the ops that reach
the file system or run Python when the graph (or a restored checkpoint function) executes."""

from __future__ import annotations

# SavedModel -> MetaGraphDef -> (MetaInfoDef.stripped_op_list, GraphDef -> nodes, function library).
SAVEDMODEL_SCHEMA: dict[str, dict[int, str]] = {
    "savedmodel": {2: "metagraph"},
    "metagraph": {1: "metainfo", 2: "graphdef"},
    "metainfo": {2: "oplist"},
    "oplist": {1: "opdef"},
    "graphdef": {1: "nodedef", 2: "library"},
    "library": {1: "function"},
    "function": {3: "nodedef"},
    "nodedef": {},
    "opdef": {},
}

_READS = "reads files when the graph runs"
_WRITES = "writes files when the graph runs"
_PYTHON = "runs a Python function of the serving process"
TF_DANGEROUS_OPS: dict[str, str] = {
    **dict.fromkeys(("PyFunc", "PyFuncStateless", "EagerPyFunc"), _PYTHON),
    **dict.fromkeys(
        (
            "ReadFile", "MatchingFiles", "Restore", "RestoreV2", "RestoreSlice", "ImmutableConst",
            "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2",
            "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "TFRecordReader", "TFRecordReaderV2",
            "LMDBReader", "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
            "LoadAndRemapMatrix", "GenerateVocabRemapping", "TFRecordDataset", "TFRecordDatasetV2",
            "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2", "TextLineDataset", "LoadDataset",
            "CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset", "SqlDataset", "ExperimentalSqlDataset",
            "LMDBDataset", "ExperimentalLMDBDataset", "RecordInput", "DecodeProtoV2",
        ),
        _READS,
    ),
    **dict.fromkeys(
        (
            "WriteFile", "Save", "SaveV2", "SaveSlices", "MergeV2Checkpoints", "SaveDataset",
            "SaveDatasetV2", "ExperimentalSaveDataset", "SnapshotDataset", "SnapshotDatasetV2",
            "DatasetToTFRecord", "ExperimentalDatasetToTFRecord", "CreateSummaryFileWriter",
            "CreateSummaryDbWriter", "WriteSummary", "WriteScalarSummary", "WriteHistogramSummary",
            "WriteImageSummary", "WriteAudioSummary", "WriteGraphSummary", "WriteRawProtoSummary",
            "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary",
            "DebugNumericSummaryV2", "PrintV2", "EncodeProto",
        ),
        _WRITES,
    ),
}  # fmt: skip
