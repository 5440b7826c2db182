"""enertwin.agents."""
