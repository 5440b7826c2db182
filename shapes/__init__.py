"""Turtle files shipped as package data."""
