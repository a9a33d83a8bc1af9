"""The domain: connections, collections, integrations, routes and artifact pairs.

Validation that concerns one row lives in ``clean()`` so the admin and the API refuse the
same input with the same message; state changes go through ``integrations/services.py``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from extensions.models import Extension
from integrations.connectors import registry
from settings_app import limits
from settings_app.security.fields import EncryptedJSONField, Sealed, VaultRow, secret_names

GATEWAY_KIND = "gateway"  # the connector kind of gateway connections (integrations/gateway/connector.py)


def _validate_kind(value: str) -> None:
    try:
        registry.get(value)
    except KeyError as exc:
        raise ValidationError(str(exc.args[0])) from None


class PollingOverrides(models.Model):
    """Change-detection and full-scan overrides (null = inherit from the next level)."""

    change_detection_interval = models.PositiveIntegerField(
        null=True, blank=True, validators=[limits.validate_change_detection],
        help_text=f"Override in seconds; empty inherits. {limits.CHANGE_DETECTION.allowed().capitalize()}.",
    )
    full_scan_enabled = models.BooleanField(
        null=True, blank=True, help_text="Override whether full scans run; empty inherits."
    )
    full_scan_interval = models.PositiveIntegerField(
        null=True, blank=True, validators=[limits.validate_full_scan],
        help_text=f"Override in seconds; empty inherits. {limits.FULL_SCAN.allowed().capitalize()}.",
    )

    class Meta:
        abstract = True


class RepositoryConnection(VaultRow, PollingOverrides):
    class Status(models.TextChoices):
        UNKNOWN = "unknown", "Not tested"
        OK = "ok", "Connected"
        FAILING = "failing", "Failing"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=50, validators=[_validate_kind], help_text="The connector.")
    url = models.CharField(max_length=500, blank=True, help_text="Base URL or location of the tool.")
    options = models.JSONField(default=dict, blank=True, help_text="Connector parameters that are not secret.")
    # Encrypted (settings_app.security.fields): reading it decrypts or raises vault.VaultLocked.
    secrets = EncryptedJSONField(help_text="The connector's sensitive parameters (encrypted, write-only).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    status_message = models.TextField(blank=True)
    status_checked_at = models.DateTimeField(null=True, blank=True)
    # A tool upgraded or moved to a new URL gets a new connection that succeeds the old one:
    # routes may then move from integrations on the old connection to ones on the new (moves.py).
    successor_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="successor",
        help_text="The connection this one replaces (same tool, new URL or version): routes may move "
        "from integrations using that connection to integrations using this one.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self._clean_successor()
        if not self.kind:
            return
        try:
            connector = registry.get(self.kind)
        except KeyError:
            return  # reported by the field validator
        from integrations.connectors.base import ParameterErrors

        errors: dict[str, list[str]] = {}
        if not isinstance(self.options or {}, dict):
            errors["options"] = ['Must be an object of parameter names and values, e.g. {"table": "items"}.']
        else:
            try:
                self.options = connector.clean_options(self.options or {})
            except ParameterErrors as exc:
                errors["options"] = [f"{k}: {v}" for k, v in exc.errors.items()]
        if not isinstance(self.__dict__.get("secrets"), Sealed) and not isinstance(self.secrets or {}, dict):
            errors["secrets"] = ["Must be an object of secret parameter names and values."]
        elif not isinstance(self.__dict__.get("secrets"), Sealed):  # only when assigned or read
            try:
                cleaned = connector.clean_secrets(self.secrets or {})
            except ParameterErrors as exc:
                # Names and problems only: a secret's value never appears in a message.
                errors["secrets"] = [f"{k}: {v}" for k, v in exc.errors.items()]
            else:
                self.secrets = {k: v for k, v in cleaned.items() if v not in (None, "")}
        if "url" not in errors:
            # Never the hub itself, nor a network the administrator has not allowed (reach.py);
            # checked again when the connection is used.
            from integrations.connectors import reach

            for field, why in reach.connection_refusals(self.url, self.options).items():
                errors.setdefault(field, []).append(f"Refused: {why}.")
        if errors:
            raise ValidationError(errors)

    def _clean_successor(self) -> None:
        old = self.successor_of
        if old is None:
            return
        if old.pk == self.pk:
            raise ValidationError({"successor_of": "A connection cannot succeed itself."})
        if self.kind and old.kind != self.kind:
            raise ValidationError({"successor_of": f"'{old.name}' is a {old.kind} connection and this one a "
                                                   f"{self.kind} connection: a successor uses the same connector."})
        # A succeeds B succeeds A would make "same tool" meaningless: walk the stored chain.
        seen: set[int | None] = {self.pk}
        step_id: int | None = old.pk
        while step_id is not None:
            if step_id in seen:
                raise ValidationError({"successor_of": f"'{old.name}' already descends from this connection."})
            seen.add(step_id)
            step_id = RepositoryConnection.objects.filter(pk=step_id).values_list("successor_of_id", flat=True).first()

    def lineage(self) -> list[int]:
        """This connection and every one it succeeds, newest first (ids)."""
        out: list[int] = []
        step: RepositoryConnection | None = self
        while step is not None and step.pk not in out:
            out.append(step.pk)
            step = step.successor_of
        return out

    @property
    def secret_names(self) -> list[str]:
        """Which secrets are set (names only), readable while the vault is locked."""
        return secret_names(self, "secrets")


class Collection(models.Model):
    class PersonStrategy(models.TextChoices):
        DEFAULT = "default", "Copy with Default Matching"
        EXTENSION = "extension", "Person reconciliation extension"

    name = models.CharField(max_length=100, unique=True)
    connection = models.ForeignKey(RepositoryConnection, on_delete=models.PROTECT, related_name="collections")
    projects = models.JSONField(default=list, help_text="Project keys of the tool that this collection covers.")
    field_mapping = models.JSONField(
        default=dict, blank=True, help_text="Model field → tool field, e.g. {\"summary\": \"subject\"}."
    )
    person_strategy = models.CharField(max_length=20, choices=PersonStrategy.choices, default=PersonStrategy.DEFAULT)
    default_person = models.CharField(max_length=200, blank=True)
    transitions = models.JSONField(
        default=dict, blank=True, help_text="Allowed state transitions: {\"New\": [\"In Progress\"], …}."
    )
    field_roles = models.JSONField(
        default=dict, blank=True,
        help_text='Model field → role: "person" (reconciled between tools) or "state" (moved through the '
        'transition graph), e.g. {"assignee": "person", "status": "state"}.',
    )
    value_mappings = models.JSONField(
        default=dict, blank=True,
        help_text='For single-selects and states: model field → {tool value: model value}, '
        'e.g. {"status": {"Nouveau": "New"}}. Unlisted values pass through unchanged.',
    )
    field_extensions = models.JSONField(
        default=dict, blank=True,
        help_text='Custom data transformations per mapped field and direction: model field → {"read": '
        'extension name (tool value → model), "write": extension name (model → tool value)}, '
        'e.g. {"priority": {"read": "Priority label", "write": "Priority label"}}.',
    )
    person_extension = models.ForeignKey(
        Extension, null=True, blank=True, on_delete=models.PROTECT, related_name="person_collections",
        limit_choices_to={"type": "person"},
        help_text="With the strategy 'Person reconciliation extension': picks the match among the candidates.",
    )
    state_extension = models.ForeignKey(
        Extension, null=True, blank=True, on_delete=models.PROTECT, related_name="state_collections",
        limit_choices_to={"type": "state"},
        help_text="Instead of the transition graph: returns the transitions from the current to the desired state.",
    )
    # A gateway collection (its connection is of kind "gateway"): artifacts POSTed to
    # /api/v1/gateway/<collection>/ (integrations/gateway/, docs/extensions.md).
    payload_extension = models.ForeignKey(
        Extension, null=True, blank=True, on_delete=models.PROTECT, related_name="payload_collections",
        limit_choices_to={"type": "payload"},
        help_text="Gateway collections: reshapes each POSTed payload into the collection's fields "
        "(none: the payload's keys are the fields).",
    )
    gateway_match_field = models.CharField(
        max_length=200, blank=True,
        help_text="Gateway collections: the field (after reshaping) that identifies the sender's artifact; a "
        "later POST with the same value updates it. Empty: every POST creates a new artifact.",
    )
    gateway_rate_limit = models.PositiveIntegerField(
        default=600, validators=[MinValueValidator(1), MaxValueValidator(100_000)],
        help_text="Gateway collections: POSTs accepted per minute; more are answered 429 with Retry-After.",
    )
    # SHA-256 of the gateway token: the token itself is shown once, when generated, and never stored.
    gateway_token_digest = models.CharField(max_length=64, blank=True, editable=False)
    gateway_token_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    ROLES = ("person", "state")
    DIRECTIONS = ("read", "write")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        projects = self.projects
        if not isinstance(projects, list) or not projects or not all(isinstance(p, str) and p for p in projects):
            errors["projects"] = "Give one or more project keys as a list of non-empty strings."
        elif len(set(projects)) != len(projects):
            errors["projects"] = "A project is listed twice."
        if not isinstance(self.field_mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in self.field_mapping.items()
        ):
            errors["field_mapping"] = "Give an object mapping model field names to tool field names."
        if not isinstance(self.transitions, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) for s in v)
            for k, v in self.transitions.items()
        ):
            errors["transitions"] = "Give an object mapping each state to the list of states it may move to."
        mapping = self.field_mapping if isinstance(self.field_mapping, dict) else {}
        if not isinstance(self.field_roles, dict):
            errors["field_roles"] = "Give an object mapping model field names to a role."
        else:
            bad = [f"{k}: not a mapped model field (mapped: {', '.join(sorted(mapping)) or 'none'})."
                   for k in self.field_roles if k not in mapping]
            bad += [f"{k}: role '{v}' is not one of {', '.join(self.ROLES)}."
                    for k, v in self.field_roles.items() if v not in self.ROLES]
            if list(self.field_roles.values()).count("state") > 1:
                bad.append("Only one field can have the role 'state'.")
            if bad:
                errors["field_roles"] = " ".join(bad)
        if not isinstance(self.value_mappings, dict) or not all(
            isinstance(v, dict) and all(isinstance(a, str) and isinstance(b, str) for a, b in v.items())
            for v in self.value_mappings.values()
        ):
            errors["value_mappings"] = "Give an object: model field → {tool value: model value}."
        else:
            unknown = [k for k in self.value_mappings if k not in mapping]
            if unknown:
                errors["value_mappings"] = f"Unknown model field(s) {', '.join(sorted(unknown))}: map them first."
        problem = self._field_extension_problem(mapping)
        if problem:
            errors["field_extensions"] = problem
        if self.person_strategy == self.PersonStrategy.EXTENSION and self.person_extension_id is None:
            errors["person_extension"] = "Choose the person reconciliation extension this strategy uses."
        for name, kind in (("person_extension", "person"), ("state_extension", "state")):
            chosen = getattr(self, name)
            if chosen is not None and chosen.type != kind:
                errors[name] = f"Extension '{chosen.name}' is a {chosen.get_type_display()} extension."
        errors.update(self._gateway_errors(mapping))
        if errors:
            raise ValidationError(errors)

    @property
    def is_gateway(self) -> bool:
        return bool(self.connection_id) and self.connection.kind == GATEWAY_KIND

    def _gateway_errors(self, mapping: dict) -> dict[str, str]:
        errors: dict[str, str] = {}
        chosen = self.payload_extension
        if chosen is not None and chosen.type != Extension.Type.PAYLOAD:
            errors["payload_extension"] = f"Extension '{chosen.name}' is a {chosen.get_type_display()} extension."
        if not self.connection_id:
            return errors
        if not self.is_gateway:
            if chosen is not None:
                errors["payload_extension"] = "Only a gateway collection (on a gateway connection) reshapes payloads."
            if self.gateway_match_field:
                errors["gateway_match_field"] = "Only a gateway collection (on a gateway connection) has a match field."
            return errors
        if isinstance(self.projects, list) and len(self.projects) > 1:
            errors["projects"] = "A gateway collection has one project: every POSTed artifact is in it."
        tool_fields = set(mapping.values())
        if self.gateway_match_field and self.gateway_match_field not in tool_fields:
            errors["gateway_match_field"] = (f"'{self.gateway_match_field}' is not a field of the collection's field "
                                             f"mapping (mapped: {', '.join(sorted(tool_fields)) or 'none'}).")
        return errors

    def _field_extension_problem(self, mapping: dict) -> str | None:
        chosen = self.field_extensions
        if not isinstance(chosen, dict) or not all(
            isinstance(v, dict) and all(d in self.DIRECTIONS and isinstance(n, str) and n for d, n in v.items())
            for v in chosen.values()
        ):
            return 'Give an object: model field → {"read": extension name, "write": extension name}.'
        unknown = [k for k in chosen if k not in mapping]
        if unknown:
            return f"Unknown model field(s) {', '.join(sorted(unknown))}: map them first."
        names = {n for v in chosen.values() for n in v.values()}
        found = dict(Extension.objects.filter(name__in=names).values_list("name", "type"))
        bad = [f"'{n}' is not an extension" for n in sorted(names - set(found))]
        bad += [f"'{n}' is not a custom data transformation" for n in sorted(names)
                if found.get(n, Extension.Type.TRANSFORM) != Extension.Type.TRANSFORM]
        return "; ".join(bad) + "." if bad else None


class Integration(PollingOverrides):
    class Template(models.TextChoices):
        SYNCHRONIZE = "synchronize", "Synchronize (two-way)"
        # One-way: the source side is only read (integrations/engine/templates.py).
        SYNC_LEFT_TO_RIGHT = "sync_left_to_right", "Synchronize: left → right"
        SYNC_RIGHT_TO_LEFT = "sync_right_to_left", "Synchronize: right → left"
        CREATE_LEFT_TO_RIGHT = "create_left_to_right", "Create only: left → right"
        CREATE_RIGHT_TO_LEFT = "create_right_to_left", "Create only: right → left"
        # The left collection is a gateway collection (POSTed artifacts): created on the right, and
        # updated there when the gateway collection has a match field (integrations/engine/gateway.py).
        GATEWAY_CREATE = "gateway_create", "Gateway: create"

    class RunState(models.TextChoices):
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    class ConflictStrategy(models.TextChoices):
        ERROR = "error", "Error upon conflict"
        LEFT_WINS = "left_wins", "Left collection dominates"
        RIGHT_WINS = "right_wins", "Right collection dominates"

    FLOW_DIRECTIONS = ("left_to_right", "right_to_left", "both", "none")
    FLOW_FREQUENCIES = ("always", "on_create")

    name = models.CharField(max_length=100, unique=True)
    template = models.CharField(max_length=20, choices=Template.choices, default=Template.SYNCHRONIZE)
    left_collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    right_collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    run_state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.STOPPED)
    field_flow = models.JSONField(
        default=dict, blank=True,
        help_text='Per model field: {"summary": {"direction": "both", "frequency": "always"}}.',
    )
    conflict_strategy = models.CharField(
        max_length=20, choices=ConflictStrategy.choices, default=ConflictStrategy.ERROR
    )
    conflict_overrides = models.JSONField(
        default=dict, blank=True, help_text='Per-field strategy, e.g. {"status": "left_wins"}.'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.left_collection_id and self.left_collection_id == self.right_collection_id:
            errors["right_collection"] = "The right collection must differ from the left one."
        flow_errors = self._field_flow_errors()
        if flow_errors:
            errors["field_flow"] = flow_errors
        strategies = {c.value for c in self.ConflictStrategy}
        if not isinstance(self.conflict_overrides, dict):
            errors["conflict_overrides"] = "Give an object mapping field names to a strategy."
        else:
            bad = [f"{k}: '{v}' is not one of {', '.join(sorted(strategies))}."
                   for k, v in self.conflict_overrides.items() if v not in strategies]
            if bad:
                errors["conflict_overrides"] = bad
        if errors:
            raise ValidationError(errors)

    def _field_flow_errors(self) -> list[str]:
        if not isinstance(self.field_flow, dict):
            return ["Give an object mapping model field names to {direction, frequency}."]
        out = []
        for name, spec in self.field_flow.items():
            if not isinstance(spec, dict):
                out.append(f"{name}: give an object with 'direction' and optionally 'frequency'.")
                continue
            unknown = set(spec) - {"direction", "frequency"}
            if unknown:
                out.append(f"{name}: unknown key(s) {', '.join(sorted(unknown))}; allowed: direction, frequency.")
            if spec.get("direction") not in self.FLOW_DIRECTIONS:
                out.append(f"{name}: direction must be one of {', '.join(self.FLOW_DIRECTIONS)}.")
            if spec.get("frequency", "always") not in self.FLOW_FREQUENCIES:
                out.append(f"{name}: frequency must be one of {', '.join(self.FLOW_FREQUENCIES)}.")
        return out

    @property
    def is_running(self) -> bool:
        return self.run_state == self.RunState.RUNNING


class Route(models.Model):
    """Pairs a project of the left collection with a project of the right collection."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="routes")
    left_project = models.CharField(max_length=200)
    right_project = models.CharField(max_length=200)
    # The integrations this route was moved from, so hub keys written under them keep being
    # recognised: [{"integration": id, "swapped": bool}] where swapped says the old integration's
    # left side is this one's right side (integrations/moves.py).
    former = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["integration", "left_project"]
        constraints = [
            # A project routes to one place: otherwise where a new artifact goes is ambiguous.
            models.UniqueConstraint(fields=["integration", "left_project"], name="route_left_project_once"),
            models.UniqueConstraint(fields=["integration", "right_project"], name="route_right_project_once"),
        ]

    def __str__(self) -> str:
        return f"{self.left_project} ↔ {self.right_project}"

    def clean(self) -> None:
        if not self.integration_id:
            return
        errors = self.project_errors(self.integration.left_collection, self.integration.right_collection)
        if errors:
            raise ValidationError(errors)

    def project_errors(self, left: Collection, right: Collection) -> dict[str, str]:
        """Each side's project must be one of that side's collection (also asked by the admin's
        add page, before the integration exists)."""
        errors = {}
        if self.left_project and self.left_project not in left.projects:
            errors["left_project"] = (
                f"Project '{self.left_project}' is not in the left collection '{left.name}' "
                f"(its projects: {', '.join(left.projects)})."
            )
        if self.right_project and self.right_project not in right.projects:
            errors["right_project"] = (
                f"Project '{self.right_project}' is not in the right collection '{right.name}' "
                f"(its projects: {', '.join(right.projects)})."
            )
        return errors


class RouteMove(models.Model):
    """A move of routes from one integration to another, durable so a killed move is resumed.

    While one is unfinished neither integration runs (``runner``): half-moved pairs must never
    be processed by either side."""

    class Status(models.TextChoices):
        MOVING = "moving", "Moving"
        DONE = "done", "Done"

    source = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    routes = models.JSONField(help_text="Ids of the routes moved.")
    swap = models.BooleanField(default=False, help_text="The source's left side is the target's right side.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MOVING)
    job_id = models.BigIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"move of routes {self.routes} from {self.source_id} to {self.target_id} ({self.status})"


class ArtifactPair(models.Model):
    """An artifact and its twin in one integration, with the last synchronized values."""

    # No single-column indexes on these two: the composite ones below lead with them.
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="pairs", db_index=False)
    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="pairs", db_index=False)
    left_id = models.CharField(max_length=200)
    right_id = models.CharField(max_length=200)
    base = models.JSONField(default=dict, blank=True, help_text="Model field values last written to both sides.")
    left_version = models.CharField(max_length=100, blank=True)
    right_version = models.CharField(max_length=100, blank=True)
    # An imported pair whose base is not known yet: the engine takes both sides' current values
    # as its base the first time it reads them, and writes nothing (integrations/pairs_io.py).
    establish_base = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["integration", "left_id"]
        # The API lists pairs by id (cursor paging); filtered by integration or route, the page is
        # a range of one of these.
        indexes = [
            models.Index(fields=["integration", "id"], name="pair_integration_list"),
            models.Index(fields=["route", "id"], name="pair_route_list"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["integration", "left_id"], name="pair_left_once_per_integration"),
            models.UniqueConstraint(fields=["integration", "right_id"], name="pair_right_once_per_integration"),
        ]

    def __str__(self) -> str:
        return f"{self.left_id} ↔ {self.right_id}"

    def clean(self) -> None:
        if self.route_id and self.integration_id and self.route.integration_id != self.integration_id:
            raise ValidationError({"route": "The route belongs to another integration."})


# The engine's durable state lives in its own module; importing it here registers the models.
from integrations.engine.models import (  # noqa: E402
    ChangeCursor,
    ConnectionHealth,
    CreateIntent,
    EngineLease,
    PendingWork,
    SyncState,
)
from integrations.gateway.models import GatewayArtifact, GatewayDelivery, GatewayWindow  # noqa: E402

__all__ = [
    "GatewayArtifact", "GatewayDelivery", "GatewayWindow",
    "ArtifactPair", "ChangeCursor", "Collection", "ConnectionHealth", "CreateIntent", "EngineLease", "Integration",
    "PendingWork", "RepositoryConnection", "Route", "RouteMove", "SyncState",
]
