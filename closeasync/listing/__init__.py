"""Internal: listing."""
