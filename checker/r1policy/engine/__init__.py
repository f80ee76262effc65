"""The engine: facts in, Cedar decisions out, mapped back to rules and statuses."""
