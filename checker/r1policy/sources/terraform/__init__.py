"""Terraform: plan JSON (`planfile` reads a plan document, `plan` models its resources, `awscc` the
Cloud Control provider, `unjudged` what r1policy does not read, `buckets` the S3 resources) and module
source (`source`: HCL read without `terraform plan`, shaped like a plan so the same resource logic
applies). May import r1policy's model, errors, findings, facts, yamldoc, jsonsafe and the other
`sources` modules it builds on (sagemaker, containerenv, opaque)."""
