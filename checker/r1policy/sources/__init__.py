"""Sources: turn files (and, later, live AWS, the Hub and artifacts) into deployments and facts."""
