"""Retrievers over an open index snapshot, and the fusion of their rankings."""
