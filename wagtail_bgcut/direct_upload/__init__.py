"""Direct browser uploads: the v3 two-server token flow, made safe for public Django sites.

The browser asks the site for a token (``views.TokenView``), sends the image straight to the
Processing API (or to the site's own local endpoint when no API key is configured), then posts the
result back (``views.FinalizeView``), which only accepts results of tickets this site signed.
See docs/direct-upload.md.
"""
