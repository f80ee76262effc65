"""Command implementations, imported lazily by the CLI."""
