"""Shared settings of the service package."""

NAME = "svc"
