"""Element behaviours: one class per BPMN element family, behind :class:`ElementRegistry` (keyed by
element type; engine/core/elements/registry.py). Adding a family is one module here and one
``registry.register(...)`` entry in :func:`procgov_engine.core.elements.registry.default_registry`."""
