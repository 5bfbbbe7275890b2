"""Keras models of the workbench: one model per file."""
