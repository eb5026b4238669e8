"""Plumbing shared by every domain: database base, errors, HTTP conventions, lists."""
