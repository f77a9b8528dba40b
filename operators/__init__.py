"""Pointline's record-batch operators: one module per step of the ingest chain."""
