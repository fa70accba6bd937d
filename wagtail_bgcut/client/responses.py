"""Typed responses of the client's calls, one frozen dataclass per documented response."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AICutSession",
    "AccessToken",
    "ProcessResult",
    "SegmentResult",
    "Upload",
    "V2Result",
]


@dataclass(frozen=True)
class Upload:
    """An image stored by ``upload-image``.

    ``width``/``height`` are the pixels actually uploaded (after normalisation) and ``scale`` is
    uploaded size / original size (1.0 when nothing was downscaled): multiply coordinates measured
    on the original by ``scale`` to address the uploaded image.
    """

    unique_filename: str
    width: int | None = None
    height: int | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class ProcessResult:
    """Output of ``process-image`` or the token-based ``remove-bg``: one URL per variant name.

    The URLs are temporary; download them promptly (see :meth:`BackgroundCutClient.download`).
    """

    unique_filename: str
    input_url: str | None
    output_urls: dict[str, str]
    status: str | None = None


@dataclass(frozen=True)
class AccessToken:
    """A short-lived token for the Processing API. Shown truncated in repr: it is spendable."""

    access_token: str = field(repr=False)

    def __repr__(self) -> str:
        return f"AccessToken(access_token='{self.access_token[:6]}…')"


@dataclass(frozen=True)
class AICutSession:
    """An AI Cut session; ``scale`` as in :class:`Upload` (dots are in uploaded pixels)."""

    unique_filename: str
    s3_path: str | None = None
    bucket: str | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class SegmentResult:
    """One AI Cut segmentation: a transparent PNG at ``output_url`` (temporary)."""

    status: str | None
    unique_filename: str
    output_url: str
    request_number: int | None


@dataclass(frozen=True)
class V2Result:
    """The binary image the legacy ``/v2/cut/`` returns."""

    data: bytes = field(repr=False)
    content_type: str

    def __repr__(self) -> str:
        return f"V2Result(content_type={self.content_type!r}, size={len(self.data)})"
