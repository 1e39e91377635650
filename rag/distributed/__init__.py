"""Beyond one machine, on Ray (the optional `ray` extra): the ingest's stages as
Ray Data operators (`ingest`), and serving with Ray Serve, one searcher per
shard behind replicated HTTP fronts (`serve`). Both produce and answer
exactly what the local engine does; `docs/distributed.md` sizes them."""
