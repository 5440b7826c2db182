"""Importers that turn external data sets into validated named graphs."""
