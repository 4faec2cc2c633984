"""The shop's API package (a src/ layout, served as shop.web.asgi:application)."""
