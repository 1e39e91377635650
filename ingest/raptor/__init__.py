"""RAPTOR at ingest: the chunks clustered on their embeddings and each cluster
summarised by the local LLM, recursively, into a tree whose summaries are
indexed beside the chunks (`ingest.raptor.tree`)."""
