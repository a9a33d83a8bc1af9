"""manage.py routes list|review|move — move routes between integrations (integrations/moves.py).

``review`` shows what would move and why it cannot; ``move`` asks for confirmation (or
``--yes``), then runs the move as a background job and draws its progress. Running the same
move again resumes one that was interrupted.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations import moves
from integrations.jobs import MOVE_KIND
from integrations.management.follow import follow
from integrations.models import Route
from notifications import jobs

CONFIRM = "I understand"


class Command(BaseCommand):
    help = "Move routes between integrations, with their pairs, pending work and open errors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "review", "move"])
        parser.add_argument("--from", dest="source", help="source integration (id or name)")
        parser.add_argument("--to", dest="target", help="target integration (id or name)")
        parser.add_argument("--route", dest="routes", nargs="+", type=int, default=[], help="route id(s)")
        parser.add_argument("--swap", action="store_true", help="the source's left side is the target's right")
        parser.add_argument("--yes", action="store_true", help=f"confirm without typing '{CONFIRM}'")
        parser.add_argument("--json", action="store_true", help="review: print the review as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["action"] == "list":
                for r in Route.objects.select_related("integration").order_by("integration__name", "pk"):
                    self.stdout.write(f"{r.pk}\t{r.integration.name}\t{r.left_project} ↔ {r.right_project}")
                return
            if not opts["source"] or not opts["target"] or not opts["routes"]:
                raise CommandError("Give --from, --to and --route.")
            source, target = moves.find_integration(opts["source"]), moves.find_integration(opts["target"])
            review = moves.review(source.pk, target.pk, opts["routes"], opts["swap"])
            self._show(review, opts["json"])
            if opts["action"] == "review":
                return
            if review.problems:
                raise CommandError("The move is refused (see above).")
            if not opts["yes"]:
                answer = input(f"Type '{CONFIRM}' to move: ")
                if answer.strip() != CONFIRM:
                    raise CommandError("Not confirmed; nothing moved.")
            job = jobs.enqueue(MOVE_KIND, {"source": source.pk, "target": target.pk, "routes": opts["routes"],
                                           "swap": opts["swap"]}, None)
            follow(self, job.pk)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def _show(self, review: moves.Review, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(review.as_dict(), indent=2))
            return
        d = review.as_dict()
        self.stdout.write(f"From '{d['source']['name']}' to '{d['target']['name']}'"
                          f"{' (left and right swapped)' if review.swap else ''}:")
        for r in d["routes"]:
            self.stdout.write(f"  route {r['id']}: {r['left_project']} ↔ {r['right_project']}")
        self.stdout.write("Moves: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in review.counts.items()))
        for w in review.warnings:
            self.stdout.write(f"Warning: {w}")
        for p in review.problems:
            self.stderr.write(f"Refused: {p}")
