"""Load generation: the only package that knows Locust."""
