"""Turning files into an index: loaders, chunking, and the ingest run."""
