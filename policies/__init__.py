"""Policy sets as Turtle: the default safety envelope shipped with enertwin."""
