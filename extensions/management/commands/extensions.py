"""manage.py extensions list|show|create|update|delete|run|examples

Sources are read from a file (``--file``, ``-`` for stdin). ``run`` is the test harness: it
prints the output, the console lines and the time, and writes nothing.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from extensions import harness, services
from extensions.models import Extension


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None


class Command(BaseCommand):
    help = "Manage extension scripts (sandboxed JavaScript)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list")
        sub.add_parser("examples", help="install the example extensions of docs/extensions.md")
        show = sub.add_parser("show")
        show.add_argument("name")
        show.add_argument("--version", type=int, help="an earlier version's source")
        create = sub.add_parser("create")
        create.add_argument("name")
        create.add_argument("--type", required=True, choices=Extension.Type.values)
        create.add_argument("--file", required=True, help="the JavaScript source (- for stdin)")
        create.add_argument("--description", default="")
        update = sub.add_parser("update")
        update.add_argument("name")
        update.add_argument("--file", help="a new source (- for stdin): a new version")
        update.add_argument("--description")
        update.add_argument("--rename")
        delete = sub.add_parser("delete")
        delete.add_argument("name")
        run = sub.add_parser("run")
        run.add_argument("name")
        run.add_argument("--input", help="JSON array of the entry function's arguments (default: a sample)")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        try:
            if action == "list":
                for e in Extension.objects.all():
                    self.stdout.write(f"{e.name}\t{e.type}\tv{e.version}\t{e.description[:60]}")
                return
            if action == "examples":
                made = services.install_examples(None)
                self.stdout.write(f"Installed {len(made)} example extension(s): {', '.join(e.name for e in made) or '-'}")
                return
            if action == "create":
                ext = services.create(None, name=opts["name"], type=opts["type"], source=_read(opts["file"]),
                                      description=opts["description"])
                self.stdout.write(f"Created extension '{ext.name}' version {ext.version}.")
                return
            found = Extension.objects.filter(name=opts["name"]).first()
            if found is None:
                raise CommandError(f"No extension '{opts['name']}'.")
            ext = found
            if action == "show":
                self._show(ext, opts.get("version"))
            elif action == "update":
                changes = {k: v for k, v in (("source", opts["file"] and _read(opts["file"])),
                                             ("description", opts["description"]), ("name", opts["rename"]))
                           if v is not None}
                ext = services.update(None, ext, **changes)
                self.stdout.write(f"Saved extension '{ext.name}' version {ext.version}.")
            elif action == "delete":
                services.delete(None, ext)
                self.stdout.write(f"Deleted extension '{ext.name}'.")
            elif action == "run":
                self._run(ext, opts["input"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def _show(self, ext: Extension, version: int | None) -> None:
        source = ext.source
        if version is not None:
            old = ext.versions.filter(version=version).first()
            if old is None:
                raise CommandError(f"Extension '{ext.name}' has no version {version}.")
            source = old.source
        self.stdout.write(f"{ext.name} ({ext.get_type_display()}), version {version or ext.version}\n{ext.description}")
        for number, line in enumerate(source.splitlines(), 1):
            self.stdout.write(f"{number:4} | {line}")

    def _run(self, ext: Extension, text: str | None) -> None:
        try:
            args = json.loads(text) if text is not None else harness.SAMPLES[ext.type]
        except ValueError as exc:
            raise CommandError(f"--input is not JSON: {exc}.") from None
        outcome = harness.run(ext, args)
        for line in outcome["logs"]:
            self.stdout.write(f"console: {line}")
        if not outcome["ok"]:
            raise CommandError(outcome["message"])
        self.stdout.write(json.dumps(outcome["result"]))
        self.stdout.write(f"({outcome['ms']} ms, version {outcome['version']})")
