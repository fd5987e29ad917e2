"""The HTML report: plots (matplotlib) and a page (Jinja2), built only from a stored results folder."""
