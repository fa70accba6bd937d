"""Endpoint handlers: parse a request the way the provider's pages describe it, act on the state,
answer in the provider's shape.

Status choices where the pages leave room (see docs/testing.md):

- malformed JSON, a missing field, a missing or unreadable image, a duplicate ``variant_name``,
  bad AI Cut points: 400;
- any other invalid variant option (range, format, unknown option, ...): 422, the overview's
  "Validation error";
- a body over 12 MB: 413 on v3 as on v2 (the v2 page documents it for the same host);
- unknown or expired ``unique_filename`` or AI Cut session: 404.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Request, Response

from . import engine
from .exceptions import (
    BadRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    Unauthorized,
)
from .state import EmulatorState, Session, Token, Upload
from .validation import OutputVariant, parse_output_variants

BUCKET = "bgcut-emulator"
V2_RETURN_TYPES = ("PNG", "WEBP")
V2_QUALITIES = ("high", "medium", "low")
V2_MAX_RESOLUTION = 12_000_000
SESSION_GONE = "Session not found or has expired."


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data), status=status, headers=headers, content_type="application/json"
    )


class Handlers:
    """One method per endpoint; ``routes.py`` names them."""

    def __init__(self, state: EmulatorState):
        self.state = state

    # -- authorisation -----------------------------------------------------------------------
    def _key_matches(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(
            value.encode(), self.state.api_key.encode()
        )

    @staticmethod
    def _bearer(request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return value.strip()

    def _require_key(self, request: Request) -> None:
        """Bearer API key, then the account's rate limit."""
        if not self._key_matches(self._bearer(request)):
            raise Unauthorized("Missing or invalid Authorization header.")
        self._rate_limit()

    def _rate_limit(self) -> None:
        wait = self.state.rate_limit(self.state.api_key)
        if wait is not None:
            raise RateLimited(
                "Rate limit exceeded. Slow down requests.",
                headers={"Retry-After": str(int(wait))},
            )

    def _token(self, value: Any, kind: str) -> Token:
        token = self.state.get_token(value, kind)  # type: ignore[arg-type]
        if token is None:
            raise Unauthorized("Missing, invalid or expired access token.")
        self._rate_limit()
        return token

    # -- body parsing --------------------------------------------------------------------------
    @staticmethod
    def _json(request: Request) -> dict[str, Any]:
        if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raise BadRequest("Expected a JSON body (Content-Type: application/json).")
        raw = request.get_data(cache=True)
        try:
            data = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("Malformed JSON in request body.")
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data

    @staticmethod
    def _image_bytes(request: Request, field: str = "image") -> bytes | None:
        file = request.files.get(field)
        if not isinstance(file, FileStorage):
            return None
        data = file.stream.read(engine.MAX_UPLOAD_BYTES + 1)
        engine.check_size(data)
        return data

    def _upload_from(self, request: Request, *, required: bool = True) -> Upload | None:
        data = self._image_bytes(request)
        if data is None:
            if required:
                raise BadRequest("Missing image. Send the image file in the 'image' form field.")
            return None
        fmt, image = engine.decode(data)
        return self.state.add_upload(data, fmt, image)

    @staticmethod
    def _variants(items: Any) -> list[OutputVariant]:
        return parse_output_variants(items)

    def _upload_or_404(self, unique_filename: Any) -> Upload:
        upload = self.state.get_upload(unique_filename)
        if upload is None:
            raise NotFound("Image not found. The unique_filename does not exist or has expired.")
        return upload

    # -- rendering -----------------------------------------------------------------------------
    def _base(self, request: Request) -> str:
        return request.host_url.rstrip("/")

    def _result_base(self, request: Request) -> str:
        """Where result files are served: the separate result host in faithful mode."""
        return self.state.result_base or self._base(request)

    def _input_url(self, request: Request, upload: Upload) -> str:
        result = self.state.add_result(
            upload.data,
            engine.CONTENT_TYPES[upload.format],
            engine.EXTENSIONS[upload.format],
            upload.unique_filename,
        )
        return f"{self._result_base(request)}/results/{result.name}"

    def _process(
        self,
        request: Request,
        endpoint: str,
        upload: Upload,
        variants: list[OutputVariant],
        *,
        charge: bool = True,
    ) -> dict[str, Any]:
        """Render every variant, then charge (unless the token was paid for already); nothing is
        charged if anything fails."""
        price = self.state.price_variants(variants) if charge else 0.0
        if not self.state.has_credits(price):
            raise PaymentRequired(
                f"Insufficient credits: this request needs {price:g}, {self.state.credits:g} left."
            )
        rendered = []
        for variant in variants:
            out = engine.render(engine.cutout(upload, variant.quality), variant)
            rendered.append((variant, out))
        if charge and not self.state.charge(
            endpoint,
            price,
            variants=[v.variant_name for v in variants],
            unique_filename=upload.unique_filename,
        ):
            raise PaymentRequired("Insufficient credits.")
        output_urls = {}
        for variant, out in rendered:
            result = self.state.add_result(
                out.data, out.content_type, variant.format, upload.unique_filename
            )
            base = self._result_base(request)
            output_urls[variant.variant_name] = f"{base}/results/{result.name}"
        return {
            "unique_filename": upload.unique_filename,
            "input_url": self._input_url(request, upload),
            "output_urls": output_urls,
        }

    # -- Token API -------------------------------------------------------------------------------
    def remove_bg_token(self, request: Request) -> Response:
        self._require_key(request)
        body = self._json(request)
        variants = self._variants(body.get("output_variants"))
        unique_filename = body.get("unique_filename")
        if unique_filename is not None:
            self._upload_or_404(unique_filename)
        price = self.state.price_variants(variants)
        if not self.state.has_credits(price):
            raise PaymentRequired(f"Insufficient credits: this token needs {price:g}.")
        if self.state.faithful and not self.state.charge(
            "remove_bg_token",
            price,
            variants=[v.variant_name for v in variants],
            unique_filename=unique_filename,
        ):
            # 01: "Token API ... Credits are deducted here."
            raise PaymentRequired(f"Insufficient credits: this token needs {price:g}.")
        token = self.state.issue_token(
            "remove_bg", variants=variants, unique_filename=unique_filename
        )
        return json_response({"access_token": token.value})

    def ai_cut_token(self, request: Request) -> Response:
        self._require_key(request)
        if request.get_data(cache=True).strip():
            self._json(request)  # a body is optional, but if sent it must be JSON
        price = self.state.pricing["ai_cut_token"]
        if not self.state.charge("ai_cut_token", price):
            raise PaymentRequired(f"Insufficient credits: an AI Cut session needs {price:g}.")
        return json_response({"access_token": self.state.issue_token("ai_cut").value})

    # -- Processing API: remove-bg -------------------------------------------------------------
    def upload_image(self, request: Request) -> Response:
        self._require_key(request)
        upload = self._upload_from(request)
        return json_response({"unique_filename": upload.unique_filename})

    def process_image(self, request: Request) -> Response:
        self._require_key(request)
        body = self._json(request)
        unique_filename = self._unique_filename(body)
        variants = self._variants(body.get("output_variants"))
        upload = self._upload_or_404(unique_filename)
        return json_response(self._process(request, "process_image", upload, variants))

    def remove_bg(self, request: Request) -> Response:
        token = self._token(request.form.get("token"), "remove_bg")
        if token.unique_filename is not None:
            # The token was issued for this upload; an image sent as well is ignored.
            upload = self._upload_or_404(token.unique_filename)
        else:
            upload = self._upload_from(request)
        # Claimed before the work so two racing calls cannot both spend it; handed back if the
        # call fails, so only a success uses the token up.
        if not self.state.use_token(token):
            raise Unauthorized("Missing, invalid or expired access token.")
        try:
            result = self._process(
                request,
                "remove_bg",
                upload,
                list(token.variants),
                charge=not self.state.faithful,  # faithful: the token was paid for
            )
        except BaseException:
            self.state.release_token(token)
            raise
        return json_response({"status": "success", **result})

    # -- Processing API: AI Cut ----------------------------------------------------------------
    def ai_cut_initialize(self, request: Request) -> Response:
        token_value = request.form.get("token")
        if token_value is not None or not request.headers.get("Authorization"):
            token = self._token(token_value, "ai_cut")
            upload = self._upload_from(request)
            if not self.state.use_token(token):
                raise Unauthorized("Missing, invalid or expired access token.")
            token.unique_filename = upload.unique_filename
            self.state.add_session(upload, via_token=True, token=token.value)
        else:
            self._require_key(request)
            price = self.state.pricing["ai_cut_initialize"]
            data = self._image_bytes(request)
            if data is None:
                raise BadRequest("Missing image. Send the image file in the 'image' form field.")
            fmt, image = engine.decode(data)
            if not self.state.has_credits(price):
                raise PaymentRequired(f"Insufficient credits: initialize needs {price:g}.")
            upload = self.state.add_upload(data, fmt, image)
            if not self.state.charge(
                "ai_cut_initialize", price, unique_filename=upload.unique_filename
            ):
                raise PaymentRequired("Insufficient credits.")
            self.state.add_session(upload, via_token=False)
        ext = engine.EXTENSIONS[upload.format]
        return json_response(
            {
                "unique_filename": upload.unique_filename,
                "s3_path": f"ai-cut/{upload.unique_filename}/input.{ext}",
                "bucket": BUCKET,
            }
        )

    def _session_for_segment(self, request: Request, body: dict[str, Any]) -> Session:
        """Without the Bearer API key (the browser flow of the overview page, which shows no
        credentials) the session must have been started with an AI Cut token; a credential sent
        anyway (a Bearer header or a ``token`` field) must be that token."""
        bearer = self._bearer(request)
        if request.headers.get("Authorization") and bearer is None:
            raise Unauthorized("Missing or invalid Authorization header.")
        credential = bearer or body.get("token")
        if credential is not None and not self.state.is_token(credential, "ai_cut"):
            raise Unauthorized("Missing, invalid or expired access token.")
        session = self.state.get_session(self._unique_filename(body))
        if session is None:
            raise NotFound(SESSION_GONE)
        allowed = session.via_token and (
            credential is None
            or (
                isinstance(credential, str)
                and session.token is not None
                and hmac.compare_digest(credential.encode(), session.token.encode())
            )
        )
        if not allowed:
            raise Unauthorized("Missing or invalid Authorization header.")
        self._rate_limit()
        return session

    @staticmethod
    def _unique_filename(body: dict[str, Any]) -> str:
        value = body.get("unique_filename")
        if not isinstance(value, str) or not value:
            raise BadRequest("unique_filename is required.")
        return value

    @staticmethod
    def _points(
        body: dict[str, Any], field: str, size: tuple[int, int]
    ) -> list[tuple[float, float]]:
        items = body.get(field)
        if items is None:
            raise BadRequest(f'{field} is required (an array of {{"x": n, "y": n}}).')
        if not isinstance(items, list):
            raise BadRequest(f"{field} must be an array of points.")
        width, height = size
        points = []
        for item in items:
            if not isinstance(item, dict) or set(item) - {"x", "y"}:
                raise BadRequest(f'Invalid point in {field}: expected {{"x": n, "y": n}}.')
            x, y = item.get("x"), item.get("y")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
                raise BadRequest(f"Invalid point in {field}: x and y must be numbers.")
            if not (0 <= x < width and 0 <= y < height):
                raise BadRequest(
                    f"Point ({x}, {y}) in {field} is outside the image ({width}x{height})."
                )
            points.append((float(x), float(y)))
        return points

    def ai_cut_segment(self, request: Request) -> Response:
        if self._key_matches(self._bearer(request)):
            self._rate_limit()
            body = self._json(request)
            session = self.state.get_session(self._unique_filename(body))
            if session is None:
                raise NotFound(SESSION_GONE)
        else:
            body = self._json(request)
            session = self._session_for_segment(request, body)
        size = session.upload.image.size
        green = self._points(body, "greenDots", size)
        red = self._points(body, "redDots", size)
        number = body.get("request_number")
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise BadRequest("request_number is required: an integer starting at 1.")
        with self.state.lock:
            session.numbers.append(number)
            previous = session.previous_mask(number)
        data, mask = engine.segment(session.upload, green, red, previous)
        result = self.state.add_result(data, "image/png", "png", session.unique_filename)
        with self.state.lock:
            session.masks[number] = mask
            session.last_request_number = max(session.last_request_number, number)
        return json_response(
            {
                "status": "completed",
                "unique_filename": session.unique_filename,
                "output_url": f"{self._result_base(request)}/results/{result.name}",
                "request_number": number,
            }
        )

    # -- legacy v2 -----------------------------------------------------------------------------
    def v2_cut(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        if not header or header.lower().startswith("bearer ") or not self._key_matches(header):
            raise Unauthorized("API-KEY missing or invalid API-KEY.")
        self._rate_limit()
        data = self._image_bytes(request, "image_file")
        if data is None:
            data = self._v2_base64(request)
        if data is None:
            raise BadRequest("Invalid parameters: send image_file or image_file_b64.")
        return_type = self._v2_return_type(request.form.get("return_type", "PNG"))
        channels = request.form.get("channels", "rgba").strip().lower()
        if channels not in ("rgba", "alpha"):
            raise BadRequest('Invalid parameters: channels must be "rgba" or "alpha".')
        quality = request.form.get("quality", "Medium").strip().lower()
        if quality not in V2_QUALITIES:
            raise BadRequest("Invalid parameters: quality must be High, Medium or Low.")
        max_resolution = self._v2_max_resolution(request.form.get("max_resolution"))
        fmt, image = engine.decode(data)
        price = self.state.pricing["v2_cut"]
        if not self.state.has_credits(price):
            raise PaymentRequired("Payment required. No credits left.")
        upload = Upload(unique_filename="v2", data=data, format=fmt, expires_at=0, image=image)
        body, content_type = engine.encode_v2(
            engine.cutout(upload, quality),
            max_pixels=max_resolution,
            return_type=return_type,
            alpha_only=channels == "alpha",
        )
        if not self.state.charge("v2_cut", price):
            raise PaymentRequired("Payment required. No credits left.")
        return Response(body, status=200, content_type=content_type)

    @staticmethod
    def _v2_base64(request: Request) -> bytes | None:
        value = request.form.get("image_file_b64")
        if value is None:
            file = request.files.get("image_file_b64")
            value = file.stream.read().decode("ascii", "replace") if file else None
        if value is None:
            return None
        value = value.strip()
        if value.startswith("data:") and "," in value:
            value = value.split(",", 1)[1]
        try:
            data = base64.b64decode(value, validate=False)
        except (binascii.Error, ValueError):
            raise BadRequest("Invalid parameters: image_file_b64 is not valid base64.")
        engine.check_size(data)
        return data

    @staticmethod
    def _v2_return_type(value: str) -> str:
        value = value.strip().upper()
        if value in V2_RETURN_TYPES:
            return value
        prefix, _, level = value.partition("_")
        if prefix == "WEBP" and level.isdigit() and 1 <= int(level) <= 100:
            return f"WEBP_{int(level)}"
        raise BadRequest("Invalid parameters: return_type must be PNG, WEBP or WEBP_<1-100>.")

    @staticmethod
    def _v2_max_resolution(value: str | None) -> int:
        if value is None or value.strip() == "":
            return V2_MAX_RESOLUTION
        try:
            pixels = int(value)
        except ValueError:
            raise BadRequest("Invalid parameters: max_resolution must be a number of pixels.")
        if not 1 <= pixels <= V2_MAX_RESOLUTION:
            raise BadRequest("Invalid parameters: max_resolution must be at most 12000000.")
        return pixels

    # -- result files --------------------------------------------------------------------------
    def result_file(self, request: Request, name: str) -> Response:
        result = self.state.get_result(name)
        if result is None:
            raise NotFound("File not found or its URL has expired.")
        return Response(
            result.data,
            status=200,
            content_type=result.content_type,
            headers={"Cache-Control": "private, max-age=0"},
        )
