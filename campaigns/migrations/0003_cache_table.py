"""The database cache's table (rate limits of the public pages), made by migrate like any table.

`createcachetable` does nothing for a cache that is not in the database (e.g. CACHE_URL=redis://).
"""

from django.core.management import call_command
from django.db import migrations


def cache_table_create(apps, schema_editor) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0002_inbound_unmatched_and_replay_index")]

    operations = [migrations.RunPython(cache_table_create, migrations.RunPython.noop)]
