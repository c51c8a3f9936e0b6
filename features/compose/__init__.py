"""Drafting chat messages: a reply in a thread, a follow-up after a meeting, a rewrite."""
