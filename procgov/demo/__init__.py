"""Demo scenarios, one module per process family."""
