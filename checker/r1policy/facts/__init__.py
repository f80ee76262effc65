"""Derived facts: what Cedar cannot compute (edit distance, globs, policy documents, capacity tables)."""
