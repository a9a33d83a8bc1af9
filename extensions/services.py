"""Create, change and delete extensions: validated (compiled in the sandbox), atomic, audited,
every source version kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from extensions import runtime, signals
from extensions.models import Extension, ExtensionVersion
from notifications.services import Actor, record_audit, user_or_none

EDITABLE = ("name", "description", "type", "source")
MAX_SOURCE = 200_000  # characters


def check(ext: Extension) -> None:
    ext.full_clean(exclude=["version"])
    if len(ext.source) > MAX_SOURCE:
        raise ValidationError({"source": f"The script is longer than {MAX_SOURCE} characters."})
    problem = runtime.compile_problem(ext.type, ext.source)
    if problem is not None:
        where = f"Line {problem.line}: " if problem.line else ""
        raise ValidationError({"source": f"{where}{problem.message}"})


def create(actor: Actor, *, name: str, type: str, source: str, description: str = "") -> Extension:
    ext = Extension(name=name, type=type, source=source, description=description)
    check(ext)
    with transaction.atomic():
        ext.save()
        ExtensionVersion.objects.create(extension=ext, version=ext.version, source=ext.source,
                                        saved_by=user_or_none(actor))
        record_audit(actor, "extension.create", f"extension {ext.name}", type=ext.type, version=ext.version)
    return ext


def update(actor: Actor, ext: Extension, **changes: Any) -> Extension:
    """Change fields; a new source becomes a new version and retries the work that waited on it."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        ext = Extension.objects.select_for_update().get(pk=ext.pk)
        old = {k: getattr(ext, k) for k in EDITABLE}
        for key, value in changes.items():
            setattr(ext, key, value)
        changed = sorted(k for k in EDITABLE if getattr(ext, k) != old[k])
        if not changed:
            return ext
        users = signals.users_of(Extension(pk=ext.pk, name=old["name"], type=old["type"]))
        if users and ("name" in changed or "type" in changed):
            raise ValidationError(f"Extension '{old['name']}' is in use ({'; '.join(users)}): "
                                  f"its name and type cannot change while it is.")
        check(ext)
        new_source = "source" in changed
        if new_source:
            ext.version += 1
        ext.save()
        if new_source:
            ExtensionVersion.objects.create(extension=ext, version=ext.version, source=ext.source,
                                            saved_by=user_or_none(actor))
        record_audit(actor, "extension.update", f"extension {ext.name}", fields=changed, version=ext.version)
    if new_source:
        for hook in signals.saved_hooks:
            hook(ext)
    return ext


def delete(actor: Actor, ext: Extension) -> None:
    with transaction.atomic():
        users = signals.users_of(ext)
        if users:
            raise ValidationError(f"Extension '{ext.name}' is in use and cannot be deleted: {'; '.join(users)}.")
        record_audit(actor, "extension.delete", f"extension {ext.name}", version=ext.version)
        ext.delete()


EXAMPLES_DIR = Path(__file__).with_name("examples")
# The worked examples of docs/extensions.md, one per type (name, type, file, description).
EXAMPLES = [
    ("Example: priority number <-> label", Extension.Type.TRANSFORM, "priority-label.js",
     "Priority numbers 1-4 become labels (Urgent, High, Normal, Low) and labels become numbers."),
    ("Example: flatten a webhook", Extension.Type.PAYLOAD, "flatten-webhook.js",
     "A monitoring webhook's nested alert becomes summary, priority, assignee, status, description."),
    ("Example: match by e-mail across a domain move", Extension.Type.PERSON, "email-domain.js",
     "ann@old.example.com matches ann@new.example.com; else the same user name; else none."),
    ("Example: close through Resolved", Extension.Type.STATE, "via-resolved.js",
     "Closing goes through Resolved; a closed item reopens through New."),
]


def install_examples(actor: Actor) -> list[Extension]:
    """Create the example extensions that are not there yet (by name); the created ones."""
    created = []
    for name, kind, filename, description in EXAMPLES:
        if not Extension.objects.filter(name=name).exists():
            source = (EXAMPLES_DIR / filename).read_text(encoding="utf-8")
            created.append(create(actor, name=name, type=kind, source=source, description=description))
    return created
