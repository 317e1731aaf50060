"""Triggers that keep EventLast and EventItem in step with the events table, and their rebuild.

Triggers rather than code in ingestion: events reach the table through ingestion, the admin,
erasure cascades and fixtures, and a derived table that one path forgets answers segments wrongly.
PostgreSQL triggers run once per statement over its transition table, so a batch insert costs
one upsert and one insert, not one per row; SQLite (the embedded default) runs them per row.
"""

from __future__ import annotations

EVENTS, LAST, ITEMS = "customers_event", "customers_eventlast", "customers_eventitem"

# --- PostgreSQL ----------------------------------------------------------------------------------

PG_ITEMS = f"""
    INSERT INTO {ITEMS} (event_id, store_id, customer_id, type, occurred_at, product_external_id)
    SELECT e.id, e.store_id, e.customer_id, e.type, e.occurred_at, item ->> 'product_id'
    FROM {{rows}} e CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(e.properties -> 'items')
        = 'array' THEN e.properties -> 'items' ELSE '[]'::jsonb END) AS item
    WHERE jsonb_typeof(item) = 'object' AND item ->> 'product_id' IS NOT NULL;
"""
PG_LAST_ADD = f"""
    INSERT INTO {LAST} (store_id, customer_id, type, last_at)
    SELECT store_id, customer_id, type, max(occurred_at) FROM {{rows}}
    GROUP BY store_id, customer_id, type ORDER BY customer_id, type
    ON CONFLICT (customer_id, type) DO UPDATE SET last_at = excluded.last_at
    WHERE {LAST}.last_at < excluded.last_at;
"""
# After a delete (or an update moving an event), each pair's time is read again from what is left;
# rows are only corrected or removed, never added, so an erasure cascade cannot leave one behind.
PG_LAST_FIX = f"""
    DELETE FROM {LAST} l USING (SELECT DISTINCT customer_id, type FROM old_rows) o
    WHERE l.customer_id = o.customer_id AND l.type = o.type AND NOT EXISTS (
        SELECT 1 FROM {EVENTS} e WHERE e.customer_id = o.customer_id AND e.type = o.type);
    UPDATE {LAST} l SET last_at = (
        SELECT max(e.occurred_at) FROM {EVENTS} e WHERE e.customer_id = l.customer_id AND e.type = l.type)
    FROM (SELECT DISTINCT customer_id, type FROM old_rows) o
    WHERE l.customer_id = o.customer_id AND l.type = o.type;
"""
PG_INSTALL = f"""
CREATE OR REPLACE FUNCTION customers_event_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {PG_LAST_ADD.format(rows="new_rows")} {PG_ITEMS.format(rows="new_rows")} RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION customers_event_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM {ITEMS} WHERE event_id IN (SELECT id FROM old_rows); {PG_LAST_FIX} RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION customers_event_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {ITEMS} WHERE event_id IN (SELECT id FROM old_rows);
    {PG_LAST_FIX} {PG_LAST_ADD.format(rows="new_rows")} {PG_ITEMS.format(rows="new_rows")}
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS customers_event_inserted ON {EVENTS};
DROP TRIGGER IF EXISTS customers_event_deleted ON {EVENTS};
DROP TRIGGER IF EXISTS customers_event_updated ON {EVENTS};
CREATE TRIGGER customers_event_inserted AFTER INSERT ON {EVENTS} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customers_event_inserted();
CREATE TRIGGER customers_event_deleted AFTER DELETE ON {EVENTS} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customers_event_deleted();
CREATE TRIGGER customers_event_updated AFTER UPDATE ON {EVENTS}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customers_event_updated();
"""
PG_REMOVE = f"""
DROP TRIGGER IF EXISTS customers_event_inserted ON {EVENTS};
DROP TRIGGER IF EXISTS customers_event_deleted ON {EVENTS};
DROP TRIGGER IF EXISTS customers_event_updated ON {EVENTS};
DROP FUNCTION IF EXISTS customers_event_inserted(), customers_event_deleted(), customers_event_updated();
"""
PG_REBUILD = f"""
DELETE FROM {LAST}; DELETE FROM {ITEMS};
{PG_LAST_ADD.format(rows=EVENTS)}
{PG_ITEMS.format(rows=EVENTS)}
"""

# --- SQLite --------------------------------------------------------------------------------------

SQLITE_ADD = f"""
    INSERT INTO {LAST} (store_id, customer_id, type, last_at)
    VALUES (NEW.store_id, NEW.customer_id, NEW.type, NEW.occurred_at)
    ON CONFLICT (customer_id, type) DO UPDATE SET last_at = excluded.last_at
    WHERE last_at < excluded.last_at;
    INSERT INTO {ITEMS} (event_id, store_id, customer_id, type, occurred_at, product_external_id)
    SELECT NEW.id, NEW.store_id, NEW.customer_id, NEW.type, NEW.occurred_at,
        CAST(json_extract(item.value, '$.product_id') AS TEXT)
    FROM json_each(NEW.properties, '$.items') AS item
    WHERE item.type = 'object' AND json_extract(item.value, '$.product_id') IS NOT NULL;
"""
SQLITE_FIX = f"""
    DELETE FROM {ITEMS} WHERE event_id = OLD.id;
    DELETE FROM {LAST} WHERE customer_id = OLD.customer_id AND type = OLD.type AND NOT EXISTS (
        SELECT 1 FROM {EVENTS} e WHERE e.customer_id = OLD.customer_id AND e.type = OLD.type);
    UPDATE {LAST} SET last_at = (SELECT max(e.occurred_at) FROM {EVENTS} e
        WHERE e.customer_id = OLD.customer_id AND e.type = OLD.type)
    WHERE customer_id = OLD.customer_id AND type = OLD.type;
"""
SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS customers_event_inserted AFTER INSERT ON {EVENTS} BEGIN {SQLITE_ADD} END",
    f"CREATE TRIGGER IF NOT EXISTS customers_event_deleted AFTER DELETE ON {EVENTS} BEGIN {SQLITE_FIX} END",
    f"CREATE TRIGGER IF NOT EXISTS customers_event_updated AFTER UPDATE ON {EVENTS} "
    f"BEGIN {SQLITE_FIX} {SQLITE_ADD} END",
]
SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS customers_event_{name}" for name in ("inserted", "deleted", "updated")
]
SQLITE_REBUILD = [
    f"DELETE FROM {LAST}",
    f"DELETE FROM {ITEMS}",
    f"INSERT INTO {LAST} (store_id, customer_id, type, last_at) "
    f"SELECT store_id, customer_id, type, max(occurred_at) FROM {EVENTS} "
    "GROUP BY store_id, customer_id, type",
    f"INSERT INTO {ITEMS} (event_id, store_id, customer_id, type, occurred_at, product_external_id) "
    f"SELECT e.id, e.store_id, e.customer_id, e.type, e.occurred_at, "
    f"CAST(json_extract(item.value, '$.product_id') AS TEXT) "
    f"FROM {EVENTS} e, json_each(e.properties, '$.items') AS item "
    f"WHERE item.type = 'object' AND json_extract(item.value, '$.product_id') IS NOT NULL",
]


def _run(connection, postgresql: str, sqlite: list[str]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(postgresql)
        elif connection.vendor == "sqlite":
            for statement in sqlite:
                cursor.execute(statement)
        else:
            raise NotImplementedError("derived event tables are kept on PostgreSQL and SQLite")


def triggers_install(connection) -> None:
    _run(connection, PG_INSTALL, SQLITE_INSTALL)


def triggers_remove(connection) -> None:
    _run(connection, PG_REMOVE, SQLITE_REMOVE)


def derived_rebuild(connection) -> None:
    """Refill both tables from the events: the backfill after install, and a repair."""
    _run(connection, PG_REBUILD, SQLITE_REBUILD)
