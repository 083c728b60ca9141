"""pipeline() tasks, registered on import."""
