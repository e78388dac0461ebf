"""procgov: the composition root that wires engine, deployer and workers behind one CLI."""

__version__ = "0.1.0"
