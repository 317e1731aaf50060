"""Shop connections: Shopify and WooCommerce stores connected in minutes, and the signup form a
store embeds on its own site.

Webhooks are verified, stored once per delivery and queued; their bodies are mapped to the app's
own ingestion calls (`customers.ingest`), so a shop's data enters the one way every other data
does. The clients (`shopify_client`, `woo_client`) are the only code that imports the shops'
libraries; `discounts` is what campaigns calls to create single-use codes in a shop.

May import customers.ingest, customers.models and the top-level facts of customers; never
admin, api or campaigns.
"""
