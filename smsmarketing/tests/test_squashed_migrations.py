"""A new database runs each app's squashed migration instead of its originals: the two must end in
the same models, and a database made by the squashed one must look to Django like one that ran them.

(That both make the same tables, on SQLite and PostgreSQL, is shown in docs/benchmarks.md.)
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

LOADER = MigrationLoader(None, replace_migrations=False, ignore_no_migrations=True)
SQUASHED = sorted(key for key, migration in LOADER.disk_migrations.items() if migration.replaces)


def _models_of(app_label: str, state: ProjectState) -> ProjectState:
    own = ProjectState()
    for (label, _), model_state in state.models.items():
        if label == app_label:
            own.add_model(model_state.clone())
    return own


def test_each_app_with_a_history_has_one_squashed_migration():
    assert [app for app, _ in SQUASHED] == ["campaigns", "connections", "customers"]


@pytest.mark.parametrize("key", SQUASHED, ids=[app for app, _ in SQUASHED])
def test_the_squashed_migration_ends_in_the_models_its_originals_end_in(key):
    app_label = key[0]
    squashed = LOADER.disk_migrations[key]
    originals = _models_of(app_label, LOADER.project_state(squashed.replaces[-1]))
    replacement = _models_of(app_label, LOADER.project_state(key))

    changes = MigrationAutodetector(originals, replacement).changes(graph=LOADER.graph)

    assert changes == {}
    assert set(originals.models) == set(replacement.models)


@pytest.mark.django_db
def test_a_database_made_by_the_squashed_migrations_records_their_originals_applied_too():
    applied = MigrationRecorder(connection).applied_migrations()

    for key in SQUASHED:
        assert key in applied
        assert all(original in applied for original in LOADER.disk_migrations[key].replaces)
