"""Consent: notices, the ledger, the gate, and the audit chain that records every decision.

This package has no ML dependency; it decides, for every AI output and the input behind it,
whether the pair may be kept as fine-tuning data.
"""
