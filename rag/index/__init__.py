"""The index on disk: SQLite store, FAISS and BM25 arrays, manifest, generations."""
