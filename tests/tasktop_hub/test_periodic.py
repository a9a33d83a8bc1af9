"""Periodic work is declared once; schedules follow the declarations by name after migrate."""

import pytest
from django_q.models import Schedule

from tasktop_hub import periodic

pytestmark = pytest.mark.django_db


def test_every_declared_task_has_one_schedule_and_retired_ones_go():
    # A schedule left by an older release whose function no longer exists.
    Schedule.objects.create(name="security: master password and license", func="licensing.tasks.check_security_state",
                            schedule_type=Schedule.MINUTES, minutes=5, repeats=-1)
    Schedule.objects.create(name="someone else's", func="thirdparty.tasks.tick", schedule_type=Schedule.MINUTES,
                            minutes=5, repeats=-1)
    Schedule.objects.filter(name="engine-dispatcher").update(minutes=99)
    periodic.sync_schedules()
    periodic.sync_schedules()
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {task.name for task in periodic.declared()} | {"someone else's"} == names
    assert Schedule.objects.get(name="engine-dispatcher").minutes == 1


def test_a_task_outside_the_hub_cannot_be_declared():
    with pytest.raises(ValueError, match="not in one of the hub's packages"):
        periodic.register("x", "os.system", minutes=1)


def test_a_new_schedule_has_this_installations_cluster_and_an_existing_one_keeps_its_own(settings):
    Schedule.objects.all().delete()
    periodic.sync_schedules()
    assert set(Schedule.objects.values_list("cluster", flat=True)) == {settings.Q_CLUSTER["name"]}
    # The lease holder (storage/lease.py) moved it to its cluster: a later migrate keeps that.
    Schedule.objects.update(cluster="tasktop_hub-0000beef")
    periodic.sync_schedules()
    assert set(Schedule.objects.values_list("cluster", flat=True)) == {"tasktop_hub-0000beef"}
