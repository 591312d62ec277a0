"""Answering: question analysis, extractive answers with citations, the LangChain chain."""
