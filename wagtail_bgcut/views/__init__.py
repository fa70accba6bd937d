"""Wagtail admin views: remove a background, refine it with AI Cut dots, bulk work and status.

Every view looks the image up through Wagtail's image permission policy (collection-aware), so
what an editor may do here is exactly what they may do to the image in Wagtail itself.
"""
