"""The security core: the master password, the vault and the encrypted fields built on it.

Everything that touches a key or a stored secret lives here; the rest of ``settings_app`` is
the hub's runtime settings. See docs/security.md and docs/architecture.md.
"""
