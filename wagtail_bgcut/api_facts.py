"""What the BackgroundCut API's pages say, written down once.

The client, the imaging layer, ``variants.py``, the backends and the direct-upload views all read
their limits, formats and prices from here, so a number the provider changes is changed in one
place. Pure Python on purpose (no Django, HTTP or Pillow): any layer, however light, may import it.

Each value cites the provider page it comes from, by the file name of the copy the project keeps
(``01`` is ``01-v3-overview-tokens-variants-ai-cut.txt``, ``02`` ``02-v3-remove-bg-basic.txt``,
``03`` ``03-v3-remove-bg-multiple-variants.txt``, ``05`` ``05-v2-cut-legacy.txt``). A value marked
**OUR ASSUMPTION** is a choice we made where the pages are silent or disagree.

The API emulator (``wagtail_bgcut.testing``) keeps its own copy of these facts on purpose: sharing
this module would let a misreading here pass every test against the emulator.
"""

from __future__ import annotations

__all__ = [
    "API_BASE",
    "COMPRESSION_RANGE",
    "CONTENT_TYPES",
    "CREDITS_PER_AUTOCROP",
    "CREDITS_PER_VARIANT",
    "DEFAULT_COMPRESSION",
    "DEFAULT_MAX_RESOLUTION",
    "DOWNLOAD_HOSTS",
    "EXTENSIONS",
    "FORMAT_OF_PILLOW_NAME",
    "FORMAT_SPELLINGS",
    "INPUT_FORMATS",
    "MAX_RESOLUTION_RANGE",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_PIXELS",
    "OUTPUT_FORMATS",
    "PILLOW_NAMES",
    "QUALITIES",
    "RATE_LIMIT",
    "RATE_LIMIT_MAX",
    "RATE_LIMIT_PERIOD_SECONDS",
    "TOKEN_API_BASE",
    "V2_CHANNELS",
    "V2_MAX_RESOLUTION",
    "V2_QUALITIES",
    "V2_RETURN_TYPES",
]

# -- hosts ---------------------------------------------------------------------------------------

# 01: "Processing API https://api.backgroundcut.co/v3/" (we append /v3/... and /v2/... ourselves).
API_BASE = "https://api.backgroundcut.co"
# 01: "Token API https://backgroundcut.co/api/v3/".
TOKEN_API_BASE = "https://backgroundcut.co/api"  # noqa: S105 - a URL, not a secret
# OUR ASSUMPTION: the pages name no result host; 02 and 03 show https://cdn.backgroundcut.co/...
DOWNLOAD_HOSTS = ("backgroundcut.co", "*.backgroundcut.co")

# -- what may be uploaded ------------------------------------------------------------------------

# 01: "Image file (PNG, JPG, WebP). Max 12MB."; 05: 413 "File size should not exceed 12MB".
# OUR ASSUMPTION: decimal megabytes (12,000,000 bytes), the smaller reading: a file between that and
# 12 MiB is shrunk before upload instead of risking a 413 after the work of sending it.
MAX_UPLOAD_BYTES = 12_000_000
# OUR ASSUMPTION: the pages give no input pixel limit; we stop at the largest output the API can
# make (01: max_resolution "Range: 250,000 to 25,000,000"), so shrinking never costs output pixels.
MAX_UPLOAD_PIXELS = 25_000_000
# 02: "Supported input formats — PNG, JPG, JPEG, WebP." (JPEG is another spelling of jpg).
INPUT_FORMATS = ("png", "jpg", "webp")

# -- formats -------------------------------------------------------------------------------------

# 01: "format Default: png. Options: png (lossless), jpg (no transparency), webp".
OUTPUT_FORMATS = ("png", "jpg", "webp")
# 02: "PNG, JPG, JPEG, WebP": the other spelling we accept, mapped to the one the API's options use.
FORMAT_SPELLINGS = {"jpeg": "jpg"}
# OUR ASSUMPTION: the pages name no media types; these are the registered (IANA) ones.
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
# 03: result URLs end in "full.png", "thumbnail.webp", "white_bg.jpg".
EXTENSIONS = {"png": "png", "jpg": "jpg", "webp": "webp"}
# Not the provider's: Pillow's name for each format (strings only, so nothing is imported here).
PILLOW_NAMES = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}
# Pillow's name for an accepted file -> the API's spelling; MPO is a phone JPEG with extra frames.
FORMAT_OF_PILLOW_NAME = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp"}

# -- output variants (v3) ------------------------------------------------------------------------

# 01: "max_resolution Default: 12,000,000 (12MP). Range: 250,000 to 25,000,000."
MAX_RESOLUTION_RANGE = (250_000, 25_000_000)
DEFAULT_MAX_RESOLUTION = 12_000_000
# 01: "quality Default: high. Options: high, medium, low".
QUALITIES = ("high", "medium", "low")
# 01: "output_compression Default: 90. Range: 1-100 (for jpg/webp output)".
COMPRESSION_RANGE = (1, 100)
# OUR ASSUMPTION: the pages disagree (01 says 90, 03 says 85); we always send the value explicitly.
DEFAULT_COMPRESSION = 90

# -- prices --------------------------------------------------------------------------------------

# OUR ASSUMPTION: the pages never price remove-bg itself; the emulator assumes the same.
CREDITS_PER_VARIANT = 1.0
# 01: "autocrop ... (+0.5 credits per variant)"; 03: "Adds 0.5 credits per variant."
CREDITS_PER_AUTOCROP = 0.5

# -- legacy v2 -----------------------------------------------------------------------------------

# 05: "max_resolution ... Upto 12000000, i.e 12MP."
V2_MAX_RESOLUTION = 12_000_000
# 05: "return_type 'PNG'(default), 'WEBP' (recommended)"; WEBP_1..WEBP_100 set the compression.
V2_RETURN_TYPES = ("PNG", "WEBP")
# 05: "channels: Request either the finalized image ("rgba", default) or an alpha mask ("alpha")".
V2_CHANNELS = ("rgba", "alpha")
# 05: "quality 'High', 'Medium'(default), 'Low'" (sent capitalised, as written there).
V2_QUALITIES = ("high", "medium", "low")

# -- rate limit ----------------------------------------------------------------------------------

# 05: "a default limit of 40 requests per minute ... double the following minute up to a maximum
# of 500 requests per minute".
RATE_LIMIT = 40
RATE_LIMIT_MAX = 500
RATE_LIMIT_PERIOD_SECONDS = 60.0
