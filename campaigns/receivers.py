"""Where campaigns listens to customers: customers never imports campaigns."""
