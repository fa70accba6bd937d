"""BackgroundCut background removal for Django and Wagtail."""

__version__ = "0.1.0"
