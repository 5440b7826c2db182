"""enertwin.reasoning."""
