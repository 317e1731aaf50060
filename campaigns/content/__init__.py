"""What a text says: templating, the field catalogue, rendering, checks on save, the creep check,
tracked links, and the length and cost meter.

May import models and customers only.
"""
