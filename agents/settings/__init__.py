"""The agents' settings a person may change: shipped as Turtle, kept in the graph, read into typed values."""
