"""One operation that makes a set of new models together.

Once a migration runs, Django keeps every model rendered, and each CreateModel re-renders the new
model with all the models related to it: on a new database, every model made so far, again for each
new one. Here the states are added together and rendered once, then each table is made as its
CreateModel makes it. The file's name starts with "_", so Django does not take it for a migration.
"""

from django.db import migrations
from django.db.migrations.operations.base import Operation


class CreateModels(Operation):
    reversible = True

    def __init__(self, operations: list[migrations.CreateModel]):
        self.operations = operations

    def deconstruct(self):
        return (self.__class__.__name__, [self.operations], {})

    def state_forwards(self, app_label, state):
        # The rendered models go; they are rendered again, all at once, when next asked for.
        state.__dict__.pop("apps", None)
        for operation in self.operations:
            operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        for operation in self.operations:
            operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for operation in reversed(self.operations):
            operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"Create models {', '.join(operation.name for operation in self.operations)}"

    @property
    def migration_name_fragment(self):
        return "models"
