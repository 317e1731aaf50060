"""The store's catalogue: categories, products and their recorded changes."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from customers.models.stores import Store


class Category(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="categories")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=100)

    class Meta:
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="category_external_id_per_store")
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class MarginClass(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    stock = models.IntegerField(default=0)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    consumable = models.BooleanField(default=False)
    reorder_window_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days between repeat purchases, for replenishment reminders."
    )
    margin_class = models.CharField(max_length=8, choices=MarginClass, default=MarginClass.MEDIUM)
    usage_tip = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="product_external_id_per_store")
        ]

    def __str__(self) -> str:
        return self.name


class ProductChange(models.Model):
    """Every price and stock change, so back-in-stock and price-drop triggers can fire."""

    class Field(models.TextChoices):
        PRICE = "price"
        STOCK = "stock"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=8, choices=Field)
    old_value = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    new_value = models.DecimalField(max_digits=12, decimal_places=2)
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["product", "field", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.old_value} → {self.new_value}"
