"""Embedded engine that speaks Zeebe's gateway gRPC protocol.

Knows nothing of procgov's workers: they reach it over gRPC exactly as they reach Camunda 8.
"""
