from django.urls import path  # noqa: F401

# Concatenated into programmes/urls.py (namespace "programmes").
urlpatterns: list = []
