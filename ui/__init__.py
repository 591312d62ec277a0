"""Chat window, HTTP API and embeddable widget."""
