"""Meeting summaries and questions answered from a meeting, every line citing its source."""
