"""procgov package."""
