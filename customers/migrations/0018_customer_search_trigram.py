"""Customer search on PostgreSQL: one trigram index over the fields staff search (`customers/search.py`).

pg_trgm is a trusted extension: the database's owner may create it. SQLite has no such index and
compares each row."""

from django.db import migrations

FIELDS = ("phone", "first_name", "last_name", "external_id", "email")
INDEX = "customer_search_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    columns = ", ".join(f"{field} gin_trgm_ops" for field in FIELDS)
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer USING gin ({columns})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0017_segment_counts_and_touches")]

    operations = [migrations.RunPython(create, drop)]
