"""Shared behaviours: the rules that element behaviours (engine/core/elements) and command processors
(engine/core/processing) have in common, each a class given what it needs in its constructor.

Behaviours never import elements or processors (the layering is checked by import-linter, see
pyproject.toml): where a behaviour must hand over to an element, it gets the element registry or a
callable injected.
"""
