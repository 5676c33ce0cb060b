"""Adapters: the only modules that touch files, YAML libraries and schemas."""
