"""Servicing in the API: ``buyers`` (settlements, remittances, statements) and ``loans`` (payments,
ratings, portfolio)."""
