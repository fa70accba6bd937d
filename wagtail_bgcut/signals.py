"""The signals the core sends: the extension points other code listens to (docs/signals.md).

Only ``Signal`` objects live here, as in Django's own ``signals.py`` modules. The pipeline sends
them and never imports its listeners; this package's own Wagtail glue (model fields, the rendition
purge) connects to them in ``AppConfig.ready()``, exactly as a site's code would.

Every signal is sent with ``sender=Cutout`` (the model class), after the rows are written.
Receivers run in the process that did the work (a web request with an in-process task backend, a
worker otherwise); an exception in one is logged and does not stop the others or the pipeline.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["budget_cap_reached", "cutout_failed", "cutouts_ready"]

#: New cut-outs of one source's bytes are stored and ready to serve.
#: Arguments: ``source_hash`` (SHA-256 of the source bytes) and ``cutouts`` (the ``Cutout`` rows
#: that this run made ready). Model fields fill themselves and Wagtail renditions made from the
#: uncut image are purged in receivers of this signal; a page-cache purge belongs here too.
cutouts_ready = Signal()

#: A cut-out could not be made. Arguments: ``cutout`` (the row, now ``failed``), ``reason`` (the
#: text stored on the row; never holds the API key) and ``retryable`` (whether it will be tried
#: again automatically, up to ``MAX_ATTEMPTS``).
cutout_failed = Signal()

#: A credit budget cap refused a paid call (checked before any spend; docs/signals.md).
#: Arguments: ``cap`` ("monthly" for the site, "user" for one user), ``limit`` and ``spent``
#: (credits this month, before the refused call), ``needed`` (what the call would have cost) and
#: ``user_id`` (a string, "" for background work). Alert someone, or raise a cap, here.
budget_cap_reached = Signal()
