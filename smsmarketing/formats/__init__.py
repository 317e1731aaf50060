"""Date formats for the staff pages: every time carries its timezone's abbreviation."""
