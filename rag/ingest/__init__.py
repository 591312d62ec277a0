"""Ingestion: read files, find their structure, split into chunks, index them."""
