"""Language models: the packaged local model, and what is built on it."""
