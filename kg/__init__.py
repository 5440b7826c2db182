"""Knowledge graph: store, queries, validation, importers."""
