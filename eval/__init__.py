"""Evaluation: question sets, deterministic metrics, reports."""
