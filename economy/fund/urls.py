from django.urls import path  # noqa: F401

# Concatenated into the app's urls.py (namespace of the app).
urlpatterns: list = []
