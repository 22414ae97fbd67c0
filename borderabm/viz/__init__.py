"""Pictures of the world and of runs."""
