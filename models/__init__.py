"""ML model runtimes behind small protocols (ASR, diarization, embeddings, LLM)."""
