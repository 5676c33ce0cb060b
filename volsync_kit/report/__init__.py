"""Renderers: result objects in, strings out."""
