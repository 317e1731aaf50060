"""Products in: the catalogue upserted, and each stock or price change recorded for the triggers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from customers.ingest import schemas
from customers.ingest.batches import CHUNK, chunks, item_path
from customers.ingest.schemas import Errors, ValidationFailed, join
from customers.models import Category, Product, ProductChange, Store
from customers.signals import products_changed

PRODUCT_KEYS = {
    "id",
    "external_id",
    "name",
    "url",
    "price",
    "stock",
    "category",
    "consumable",
    "reorder_window_days",
    "margin_class",
    "usage_tip",
}


@dataclass(frozen=True)
class ProductsResult:
    products: list[Product]
    created: int
    updated: int
    change_ids: list[int]


# --- products ---------------------------------------------------------------------------------


@dataclass
class _ProductInput:
    path: str
    external_id: str
    values: dict[str, Any]
    category: tuple[str, str] | None  # (external_id, name)


def _category_clean(value: Any, path: str, errors: Errors) -> tuple[str, str] | None:
    if isinstance(value, str):
        name = schemas.text(value, path, errors, max_length=100)
        return (name.lower(), name) if name else None
    if isinstance(value, dict):
        name = schemas.text(value.get("name", ""), join(path, "name"), errors, max_length=100)
        external_id = value.get("id", name)
        external_id = schemas.identifier(external_id, join(path, "id"), errors) if external_id else None
        if not name:
            errors.add(join(path, "name"), "is required")
        return (external_id, name) if external_id and name else None
    errors.add(path, "must be a category name or an object with id and name")
    return None


def _product_clean(value: Any, path: str, errors: Errors) -> _ProductInput | None:
    if schemas.obj(value, path, errors) is None:
        return None
    before = len(errors)
    for key in sorted(set(value) - PRODUCT_KEYS):
        errors.add(join(path, key), "is not a known field")
    raw_id = value.get("id", value.get("external_id"))
    external_id = None
    if raw_id is None:
        errors.add(join(path, "id"), "is required: the product's id in the store")
    else:
        external_id = schemas.identifier(raw_id, join(path, "id"), errors)
    checks = {
        "name": lambda v, p: schemas.text(v, p, errors, max_length=200),
        "url": lambda v, p: schemas.url(v, p, errors),
        "price": lambda v, p: schemas.number(v, p, errors),
        "stock": lambda v, p: schemas.integer(v, p, errors, minimum=None),
        "consumable": lambda v, p: schemas.boolean(v, p, errors),
        "reorder_window_days": lambda v, p: schemas.integer(v, p, errors, minimum=1, maximum=3650),
        "usage_tip": lambda v, p: schemas.text(v, p, errors, max_length=300),
    }
    values = {}
    for name, check in checks.items():
        if value.get(name) is not None:
            cleaned = check(value[name], join(path, name))
            if cleaned is not None:
                values[name] = cleaned
    if value.get("margin_class") is not None:
        if value["margin_class"] in Product.MarginClass.values:
            values["margin_class"] = value["margin_class"]
        else:
            errors.add(join(path, "margin_class"), "must be one of low, medium, high")
    category = None
    if value.get("category") is not None:
        category = _category_clean(value["category"], join(path, "category"), errors)
    if len(errors) > before:
        return None
    return _ProductInput(path=path, external_id=external_id, values=values, category=category)


def _categories_ensure(store: Store, wanted: dict[str, str]) -> dict[str, Category]:
    existing = {c.external_id: c for c in Category.objects.filter(store=store, external_id__in=list(wanted))}
    missing = [Category(store=store, external_id=k, name=n) for k, n in wanted.items() if k not in existing]
    renamed = [c for k, c in existing.items() if c.name != wanted[k]]
    for category in renamed:
        category.name = wanted[category.external_id]
    Category.objects.bulk_create(missing, ignore_conflicts=True)
    Category.objects.bulk_update(renamed, ["name"])
    return {c.external_id: c for c in Category.objects.filter(store=store, external_id__in=list(wanted))}


def products_upsert(
    *, store: Store, payloads: list[Any], now: datetime, root: str = "products"
) -> ProductsResult:
    """Create or update products by id; every price and stock change is kept as a ProductChange."""
    errors = Errors()
    items = [_product_clean(p, item_path(root, i), errors) for i, p in enumerate(payloads)]
    if errors:
        raise ValidationFailed(errors)
    merged: dict[str, _ProductInput] = {}
    for item in items:
        if item.external_id in merged:
            merged[item.external_id].values.update(item.values)
            merged[item.external_id].category = item.category or merged[item.external_id].category
        else:
            merged[item.external_id] = _ProductInput(
                item.path, item.external_id, dict(item.values), item.category
            )
    with transaction.atomic():
        existing = {
            p.external_id: p
            for chunk in chunks(list(merged))
            for p in Product.objects.select_for_update().filter(store=store, external_id__in=chunk)
        }
        for item in merged.values():
            if item.external_id not in existing:
                for required in ("name", "url"):
                    if required not in item.values:
                        errors.add(join(item.path, required), "is required for a new product")
        if errors:
            raise ValidationFailed(errors)
        categories = _categories_ensure(store, dict(i.category for i in merged.values() if i.category))
        created, updated, changes = [], [], []
        for item in merged.values():
            values = dict(item.values)
            if item.category:
                values["category"] = categories[item.category[0]]
            product = existing.get(item.external_id)
            if product is None:
                created.append(Product(store=store, external_id=item.external_id, **values))
                continue
            changes.extend(_product_changes(product, values, now=now))
            if any(getattr(product, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(product, name, value)
                product.updated_at = now
                updated.append(product)
        Product.objects.bulk_create(created, batch_size=CHUNK)
        fields = sorted(
            {name for item in merged.values() for name in item.values}
            | {"updated_at"}
            | ({"category"} if any(i.category for i in merged.values()) else set())
        )
        Product.objects.bulk_update(updated, fields, batch_size=CHUNK)
        stored_changes = ProductChange.objects.bulk_create(changes, batch_size=CHUNK)
        change_ids = [c.pk for c in stored_changes]
        if change_ids:
            transaction.on_commit(
                lambda: products_changed.send(Product, store=store, product_changes=change_ids)
            )
    products = {**existing, **{p.external_id: p for p in created}}
    return ProductsResult(
        products=[products[i.external_id] for i in items],
        created=len(created),
        updated=len(updated),
        change_ids=change_ids,
    )


def _product_changes(product: Product, values: dict[str, Any], *, now: datetime) -> list[ProductChange]:
    changes = []
    for name in (ProductChange.Field.PRICE, ProductChange.Field.STOCK):
        if name in values and Decimal(values[name]) != Decimal(getattr(product, name)):
            changes.append(
                ProductChange(
                    product=product,
                    field=name,
                    old_value=getattr(product, name),
                    new_value=values[name],
                    changed_at=now,
                )
            )
    return changes


def product_save(*, product: Product, now: datetime) -> list[ProductChange]:
    """Save a product edited by hand, keeping its price and stock changes like an upsert does."""
    with transaction.atomic():
        before = Product.objects.select_for_update().filter(pk=product.pk).first() if product.pk else None
        changes = (
            []
            if before is None
            else _product_changes(before, {"price": product.price, "stock": product.stock}, now=now)
        )
        product.save()
        for change in changes:
            change.product = product
        stored = ProductChange.objects.bulk_create(changes)
        change_ids = [c.pk for c in stored]
        if change_ids:
            store = product.store
            transaction.on_commit(
                lambda: products_changed.send(Product, store=store, product_changes=change_ids)
            )
    return stored
