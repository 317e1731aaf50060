"""English formats (the admin's language)."""
