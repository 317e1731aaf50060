"""Which customers a stored segment's next refresh must look at again: database triggers note every
customer whose events or profile changed (and a store whose catalogue changed), for the stores that
have a stored segment; the refresh takes the notes (`membership.py`).

Triggers, as for the derived event tables (`customers/derived.py`): events and customers change
through ingestion, the admin, the consent ledger, erasure and fixtures, and a path that forgot to
note a change would leave a stored segment wrong until its next full rebuild. On PostgreSQL they
run once per statement over its transition table, so a batch costs one INSERT; SQLite runs them per
row.
"""

from __future__ import annotations

TOUCH, SEGMENT = "customers_segmenttouch", "customers_segment"
EVENTS, CUSTOMERS, PRODUCTS, CATEGORIES = (
    "customers_event",
    "customers_customer",
    "customers_product",
    "customers_category",
)
STORED = f"SELECT store_id FROM {SEGMENT} WHERE stored"

# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_function(name: str, select: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {TOUCH} (store_id, customer_id) {select}; RETURN NULL; END $$;"
    )


PG_FUNCTIONS = [
    _pg_function(
        "customers_touch_events_new",
        f"SELECT DISTINCT store_id, customer_id FROM new_rows WHERE store_id IN ({STORED})",
    ),
    _pg_function(
        "customers_touch_events_old",
        f"SELECT DISTINCT store_id, customer_id FROM old_rows WHERE store_id IN ({STORED})",
    ),
    _pg_function(
        "customers_touch_customers_new",
        f"SELECT store_id, id FROM new_rows WHERE store_id IN ({STORED})",
    ),
    # every updated customer: the writers update only customers whose values change (and joining
    # two transition tables, which have no statistics, may be planned as a nested loop)
    _pg_function(
        "customers_touch_customers_changed",
        f"SELECT store_id, id FROM new_rows WHERE store_id IN ({STORED})",
    ),
    _pg_function(
        "customers_touch_catalog_new",
        f"SELECT DISTINCT store_id, NULL::bigint FROM new_rows WHERE store_id IN ({STORED})",
    ),
    _pg_function(
        "customers_touch_catalog_old",
        f"SELECT DISTINCT store_id, NULL::bigint FROM old_rows WHERE store_id IN ({STORED})",
    ),
    # a row trigger, fired only WHEN what segments read of a product or category changed
    "CREATE OR REPLACE FUNCTION customers_touch_catalog_row() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN INSERT INTO {TOUCH} (store_id, customer_id) SELECT NEW.store_id, NULL "
    f"WHERE NEW.store_id IN ({STORED}); RETURN NULL; END $$;",
]
# what segments read of a product (its id, category and margin: prices and stock change often) and of
# a category (its id and name)
PG_ROW_TRIGGERS = [
    ("customers_touch_product_updated", PRODUCTS,
     "OLD.external_id IS DISTINCT FROM NEW.external_id OR OLD.category_id IS DISTINCT FROM NEW.category_id "
     "OR OLD.margin_class IS DISTINCT FROM NEW.margin_class"),
    ("customers_touch_category_updated", CATEGORIES,
     "OLD.external_id IS DISTINCT FROM NEW.external_id OR OLD.name IS DISTINCT FROM NEW.name"),
]  # fmt: skip
# (trigger, table, event, transition tables, function)
PG_TRIGGERS = [
    ("customers_touch_event_inserted", EVENTS, "INSERT", "NEW TABLE AS new_rows", "events_new"),
    ("customers_touch_event_deleted", EVENTS, "DELETE", "OLD TABLE AS old_rows", "events_old"),
    ("customers_touch_event_updated_new", EVENTS, "UPDATE", "NEW TABLE AS new_rows", "events_new"),
    ("customers_touch_event_updated_old", EVENTS, "UPDATE", "OLD TABLE AS old_rows", "events_old"),
    ("customers_touch_customer_inserted", CUSTOMERS, "INSERT", "NEW TABLE AS new_rows", "customers_new"),
    (
        "customers_touch_customer_updated",
        CUSTOMERS,
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "customers_changed",
    ),
    ("customers_touch_product_inserted", PRODUCTS, "INSERT", "NEW TABLE AS new_rows", "catalog_new"),
    ("customers_touch_product_deleted", PRODUCTS, "DELETE", "OLD TABLE AS old_rows", "catalog_old"),
]
PG_INSTALL = "\n".join(
    [
        *PG_FUNCTIONS,
        *(
            f"DROP TRIGGER IF EXISTS {name} ON {table}; CREATE TRIGGER {name} AFTER {event} ON {table} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION customers_touch_{function}();"
            for name, table, event, tables, function in PG_TRIGGERS
        ),
        *(
            f"DROP TRIGGER IF EXISTS {name} ON {table}; CREATE TRIGGER {name} AFTER UPDATE ON {table} "
            f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION customers_touch_catalog_row();"
            for name, table, when in PG_ROW_TRIGGERS
        ),
    ]
)
PG_REMOVE = "\n".join(
    [
        *(f"DROP TRIGGER IF EXISTS {name} ON {table};" for name, table, *_ in PG_TRIGGERS + PG_ROW_TRIGGERS),
        *(
            f"DROP FUNCTION IF EXISTS customers_touch_{function}();"
            for function in sorted({t[-1] for t in PG_TRIGGERS} | {"catalog_row"})
        ),
    ]
)

# --- SQLite --------------------------------------------------------------------------------------


def _sqlite(name: str, when: str, table: str, row: str, values: str, condition: str = "") -> str:
    stored = f"{row}.store_id IN ({STORED})"
    return (
        f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {when} ON {table} "
        f"WHEN {stored}{' AND (' + condition + ')' if condition else ''} "
        f"BEGIN INSERT INTO {TOUCH} (store_id, customer_id) VALUES ({values}); END"
    )


SQLITE_INSTALL = [
    _sqlite("customers_touch_event_inserted", "INSERT", EVENTS, "NEW", "NEW.store_id, NEW.customer_id"),
    _sqlite("customers_touch_event_deleted", "DELETE", EVENTS, "OLD", "OLD.store_id, OLD.customer_id"),
    _sqlite("customers_touch_event_updated_new", "UPDATE", EVENTS, "NEW", "NEW.store_id, NEW.customer_id"),
    _sqlite("customers_touch_event_updated_old", "UPDATE", EVENTS, "OLD", "OLD.store_id, OLD.customer_id"),
    _sqlite("customers_touch_customer_inserted", "INSERT", CUSTOMERS, "NEW", "NEW.store_id, NEW.id"),
    _sqlite("customers_touch_customer_updated", "UPDATE", CUSTOMERS, "NEW", "NEW.store_id, NEW.id"),
    _sqlite("customers_touch_product_inserted", "INSERT", PRODUCTS, "NEW", "NEW.store_id, NULL"),
    _sqlite("customers_touch_product_deleted", "DELETE", PRODUCTS, "OLD", "OLD.store_id, NULL"),
    _sqlite(
        "customers_touch_product_updated",
        "UPDATE",
        PRODUCTS,
        "NEW",
        "NEW.store_id, NULL",
        "NEW.external_id IS NOT OLD.external_id OR NEW.category_id IS NOT OLD.category_id "
        "OR NEW.margin_class IS NOT OLD.margin_class",
    ),
    _sqlite(
        "customers_touch_category_updated",
        "UPDATE",
        CATEGORIES,
        "NEW",
        "NEW.store_id, NULL",
        "NEW.external_id IS NOT OLD.external_id OR NEW.name IS NOT OLD.name",
    ),
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {name}" for name, *_ in PG_TRIGGERS + PG_ROW_TRIGGERS]


def touch_triggers_install(connection) -> None:
    _run(connection, [PG_INSTALL], SQLITE_INSTALL)


def touch_triggers_remove(connection) -> None:
    _run(connection, [PG_REMOVE], SQLITE_REMOVE)


def _run(connection, postgresql: list[str], sqlite: list[str]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            statements = postgresql
        elif connection.vendor == "sqlite":
            statements = sqlite
        else:
            raise NotImplementedError("stored segments are kept on PostgreSQL and SQLite")
        for statement in statements:
            cursor.execute(statement)


def touches_take(cursor, store_id: int) -> tuple[set[int], bool]:
    """The store's notes, removed: (customers touched, whether its catalogue changed). Only notes
    already committed are taken; one written meanwhile stays for the next refresh."""
    cursor.execute(f"DELETE FROM {TOUCH} WHERE store_id = %s RETURNING customer_id", [store_id])
    taken = {row[0] for row in cursor.fetchall()}
    catalogue = None in taken
    taken.discard(None)
    return taken, catalogue


def touches_return(cursor, store_id: int, customer_ids: set[int], catalogue: bool) -> None:
    """Put notes back for a refresh that could not use them (a segment another worker held)."""
    rows = [(store_id, pk) for pk in sorted(customer_ids)] + ([(store_id, None)] if catalogue else [])
    if rows:
        cursor.executemany(f"INSERT INTO {TOUCH} (store_id, customer_id) VALUES (%s, %s)", rows)
