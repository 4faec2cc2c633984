"""Renderers over the Diagnosis model."""
