"""enertwin.api."""
