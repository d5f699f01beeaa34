"""Internal: rules."""
