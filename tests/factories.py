from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RepositoryConnection

    name = factory.Sequence(lambda n: f"conn-{n}")
    kind = "params_only"
    url = "http://tracker.example"
    options = factory.LazyFunction(lambda: {"site": "main", "page_size": 100})


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection

    name = factory.Sequence(lambda n: f"collection-{n}")
    connection = factory.SubFactory(ConnectionFactory)
    projects = factory.LazyFunction(lambda: ["ALPHA", "BETA"])
    field_mapping = factory.LazyFunction(lambda: {"summary": "subject"})


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    name = factory.Sequence(lambda n: f"integration-{n}")
    left_collection = factory.SubFactory(CollectionFactory)
    right_collection = factory.SubFactory(CollectionFactory)


class RouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Route

    integration = factory.SubFactory(IntegrationFactory)
    left_project = "ALPHA"
    right_project = "ALPHA"


class PairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArtifactPair

    route = factory.SubFactory(RouteFactory)
    integration = factory.SelfAttribute("route.integration")
    left_id = factory.Sequence(lambda n: f"L{n}")
    right_id = factory.Sequence(lambda n: f"R{n}")
