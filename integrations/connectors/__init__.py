"""Connectors: one sub-package per kind of tool (``integrations/connectors/<kind>/``)."""
