"""Trainer glue, metrics and the demo job."""
