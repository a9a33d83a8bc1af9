"""Gateway collections: artifacts POSTed as JSON by another system (docs/extensions.md, "Gateway").

``models``: the durable intake (``GatewayDelivery``), the artifacts the deliveries make
(``GatewayArtifact``) and the per-collection rate window; ``tokens``: the collection's secret;
``services``: receiving a POST and regenerating a token; ``connector``: the ``gateway``
connector kind, which lets the engine read those artifacts like any tool's. The worker's step
that turns deliveries into artifacts is ``integrations/engine/gateway.py``.
"""
