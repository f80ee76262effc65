"""Rule metadata and the explicit rule registry."""
