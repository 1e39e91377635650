"""Adapting retrieval to one corpus, offline, from the corpus alone (`rag tune`).

The local LLM writes a question for each of a sample of the index's chunks
(`questions`); a question is kept only when its own chunk comes back among
the first candidates of the dense or the BM25 retriever (round-trip
consistency, as in Promptagator); the kept questions choose the fusion
weights of each fusion mode (`fusion`), and the choice is recorded beside the
index's generations (`rag.index.tuning`), where search, serve and eval find it.
"""
