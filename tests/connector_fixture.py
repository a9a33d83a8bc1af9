"""A connector kind registered only by the tests, for domain tests that need a ``kind``.

It declares parameters like a real connector but performs no I/O; engine tests use the
real connectors.
"""

from integrations.connectors.base import Connector, Parameter


class ParamsOnlyConnector(Connector):
    kind = "params_only"
    label = "Parameters only (tests)"
    parameters = (
        Parameter("site", "Site name", required=False, default="main"),
        Parameter("page_size", "Page size", type="integer", required=False, default=100),
        Parameter("token", "API token", sensitive=True, required=False),
    )
