"""The exercises: one package each, whose ``EXERCISE`` the core loads by name (see lab.core.api)."""
