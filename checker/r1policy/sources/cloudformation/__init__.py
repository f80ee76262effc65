"""CloudFormation templates and `cdk synth` output (`template` reads a template, `cdk` a cloud
assembly; `resolve`, `functions`, `intrinsics`, `values`, `foreach`, `merge` and `stacks` resolve what
the template decides; `shapes` and `buckets` turn resources into the SageMaker API shapes and file
buckets every reader produces). May import r1policy's model, errors, findings, facts, yamldoc,
jsonsafe and the other `sources` modules it builds on (sagemaker, containerenv, opaque)."""
