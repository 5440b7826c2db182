"""The policy engine: proposed actions checked against the active, versioned policy set before actuation."""
