"""Internal: pipeline."""
