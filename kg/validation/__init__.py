"""Validation of graph data: SHACL shapes compiled to SPARQL."""
