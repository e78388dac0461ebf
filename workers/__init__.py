"""procgov's job workers: the shared runtime and one package per worker group."""
