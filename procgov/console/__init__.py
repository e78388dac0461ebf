"""``procgov console``: a small web application over the Orchestration Cluster REST API (v2).

A task inbox, process instances with their diagram, incidents and variables, and the stored audit and SLA
reports. It is a client, like the workers: it reaches the engine only through ``/v2`` (server-side, with
the workers' authentication settings), so it runs unchanged against the embedded engine or a Camunda 8.8+
cluster, and it never imports :mod:`engine`.

Modules: :mod:`.settings` (what it listens on and who may log in), :mod:`.passwords` (password hashes),
:mod:`.sessions` (signed session cookies), :mod:`.rest` (the REST client), :mod:`.app` (pages and actions).
"""
