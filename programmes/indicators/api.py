from django.urls import path  # noqa: F401

# Concatenated into the app's api.py.
urlpatterns: list = []
