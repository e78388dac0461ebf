"""CLI sub-commands, one module per command family."""
