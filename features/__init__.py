"""What users ask for: transcription, summaries, compose (one package each)."""
