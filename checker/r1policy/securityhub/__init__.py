"""AWS Security Hub delivery for `r1policy publish securityhub`: batching, import, archiving."""
