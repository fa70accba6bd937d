"""The model path at 12 MP against rembg: python benchmarks/engine_model_speed.py [options]

Runs one fresh subprocess per path, so neither masks the other's memory (peak RSS is VmHWM from
/proc/self/status at the end of the worker):

- ``ours``: our automatic mode (``remove_background``) with the fetched ``isnet-imgly-small`` file,
  the way a site runs it;
- ``ours, file as is``: the same, without the load-time dequantisation of ``ConvInteger`` weights
  (shows what that rewrite is worth);
- ``rembg``: rembg's own custom-model session for ISNet-style files (``new_session("dis_custom",
  model_path=...)`` then ``rembg.remove``) on the SAME model file. rembg is never a dependency of
  this project: install it in a separate venv and pass its interpreter with ``--rembg-python``
  (see docs/engine.md). When that interpreter cannot import rembg, the worker runs rembg's recipe
  inline (LANCZOS to 1024, x / max - 0.5, run, LANCZOS back, composite) with a default onnxruntime
  session, and the output says so.

Every path cuts a 4000x3000 upscale of the astronaut photo once untimed (warm-up), then ``--runs``
timed times, the three paths taking turns (interleaved, order rotating, so a load change on the
shared machine hits all of them); the model's own ``session.run`` is timed inside each cut-out, so
"time beyond inference" is measured in the same runs. Then each path cuts the composites of
benchmarks/engine_photos.py (real subjects on real and studio backgrounds, exact ground truth) and
the parent prints mean IoU and boundary F per path. The machine is shared: read ratios from one
run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SAMPLE = ROOT.parent / "example_project" / "sample_images"
SIZE_12MP = (4000, 3000)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed_session_run(session) -> list[float]:
    """Wrap ``session.run`` so each call's seconds are recorded (the model's own inference)."""
    seconds: list[float] = []
    run = session.run

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return run(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    session.run = timed
    return seconds


def _ours(model_path: Path, as_is: bool, threads: int | None):
    sys.path.insert(0, str(ROOT.parent))
    from wagtail_bgcut.imaging import onnx_model, remove_background
    from wagtail_bgcut.model_files import CATALOGUE
    from wagtail_bgcut.model_files.segmenter import load_segmenter

    if as_is:
        onnx_model._float_weights = lambda file: None
    name = next(s.name for s in CATALOGUE.values() if s.filename == model_path.name)
    segmenter = load_segmenter(name, model_path.parent, threads=threads)
    inference = _timed_session_run(segmenter.session)

    def cut(image):
        return remove_background(image, segmenter=segmenter)

    label = "ours, file as is" if as_is else "ours"
    return label, cut, inference


def _rembg(model_path: Path):
    os.environ["U2NET_HOME"] = str(model_path.parent)  # rembg only opens files under its home
    try:
        import rembg
    except ImportError:
        return _inline_recipe(model_path)
    session = rembg.new_session("dis_custom", model_path=str(model_path))
    inference = _timed_session_run(session.inner_session)

    def cut(image):
        return rembg.remove(image, session=session)

    return f"rembg {rembg.__version__} dis_custom", cut, inference


def _inline_recipe(model_path: Path):
    import numpy as np
    import onnxruntime
    from PIL import Image

    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    inference = _timed_session_run(session)
    name = session.get_inputs()[0].name

    def cut(image):
        small = image.convert("RGB").resize((1024, 1024), Image.Resampling.LANCZOS)
        arr = np.asarray(small) / max(float(np.asarray(small).max()), 1e-6) - 0.5
        pred = session.run(None, {name: arr.transpose(2, 0, 1)[None].astype(np.float32)})[0]
        pred = pred[0, 0]
        pred = (pred - pred.min()) / max(float(pred.max() - pred.min()), 1e-6)
        mask = Image.fromarray((pred * 255).astype("uint8"), "L")
        mask = mask.resize(image.size, Image.Resampling.LANCZOS)
        return Image.composite(image, Image.new("RGBA", image.size, 0), mask)

    return "inline rembg recipe (rembg NOT installed)", cut, inference


def worker(args: argparse.Namespace) -> None:
    """Load the path, warm it up, then obey the parent: ``run``, ``quality``, ``quit``."""
    import numpy as np
    from PIL import Image

    work = Path(args.work)
    if args.worker == "rembg":
        label, cut, inference = _rembg(args.model)
    else:
        label, cut, inference = _ours(args.model, args.worker == "ours-as-is", args.threads)
    photo = Image.fromarray(np.load(work / "photo.npy"))
    cut(photo)  # warm-up: onnxruntime's first run allocates what it needs
    print(json.dumps({"label": label}), flush=True)
    for command in sys.stdin:
        command = command.strip()
        if command == "run":
            inference.clear()
            started = time.perf_counter()
            result = cut(photo)
            total = time.perf_counter() - started
            del result
            print(json.dumps({"total": total, "model": sum(inference)}), flush=True)
        elif command == "quality":
            for file in sorted(work.glob("composite-*.npy")):
                alpha = np.asarray(cut(Image.fromarray(np.load(file))).getchannel("A"))
                np.save(work / f"alpha-{args.worker}-{file.stem}.npy", alpha)
            print(json.dumps({"quality": True}), flush=True)
        else:
            print(json.dumps({"peak": _peak_rss_mb()}), flush=True)
            return


def _composites(work: Path, model_dir: Path) -> dict[str, tuple[str, object]]:
    """engine_photos' composites written for the workers; name -> (background kind, truth)."""
    import engine_photos
    import numpy as np

    matte_model = engine_photos._spec_segmenter("isnet-imgly-medium", model_dir)
    truths = {}
    for kind, backs in engine_photos.backgrounds().items():
        for back_name, back in backs.items():
            for subject in engine_photos.SUBJECTS:
                rgb, alpha = engine_photos.subject(subject, matte_model)
                image, truth = engine_photos.composite(rgb, alpha, back)
                name = f"composite-{back_name}-{subject}"
                np.save(work / f"{name}.npy", image)
                truths[name] = (kind, truth)
    return truths


PATHS = ("ours", "ours-as-is", "rembg")


def _ask(process: subprocess.Popen, command: str | None) -> dict:
    """Send ``command`` to a worker (None: just read) and return its one-line JSON answer."""
    if command:
        process.stdin.write(command + "\n")
        process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"a worker died (exit {process.wait()}); its error is above")
    return json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="our LOCAL_THREADS")
    parser.add_argument(
        "--rembg-python",
        default=sys.executable,
        help="an interpreter that can import rembg (e.g. /tmp/rembgvenv/bin/python)",
    )
    parser.add_argument("--worker", choices=("ours", "ours-as-is", "rembg"), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    import _common  # noqa: F401 (puts this checkout first on sys.path)
    import numpy as np
    from _common import boundary_f, iou
    from PIL import Image

    from wagtail_bgcut.model_files import CATALOGUE, default_model_dir

    model_dir = args.model_dir or default_model_dir()
    model = model_dir / CATALOGUE["isnet-imgly-small"].filename
    if not model.is_file():
        raise SystemExit(f"needs {model} (python -m wagtail_bgcut.model_files fetch ...)")
    with tempfile.TemporaryDirectory(prefix="bgcut-speed-") as tmp:
        work = Path(tmp)
        photo = Image.open(SAMPLE / "astronaut.jpg").convert("RGB").resize(SIZE_12MP)
        np.save(work / "photo.npy", np.asarray(photo))
        truths = _composites(work, model_dir)
        workers, results = {}, {}
        for path in PATHS:  # loaded one after the other: loading is heavy too
            python = args.rembg_python if path == "rembg" else sys.executable
            command = [python, __file__, "--worker", path, "--work", tmp, "--model", str(model)]
            if args.threads:
                command += ["--threads", str(args.threads)]
            workers[path] = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            results[path] = {**_ask(workers[path], None), "totals": [], "models": []}
        for round_ in range(args.runs):  # interleaved, the order rotating: load drifts
            order = PATHS[round_ % 3 :] + PATHS[: round_ % 3]
            for path in order:
                answer = _ask(workers[path], "run")
                results[path]["totals"].append(answer["total"])
                results[path]["models"].append(answer["model"])
        for path, process in workers.items():
            _ask(process, "quality")
            results[path]["peak"] = _ask(process, "quit")["peak"]
            process.wait()
            for kind in ("real scene", "studio"):
                ious, fs = [], []
                for name, (k, truth) in truths.items():
                    if k == kind:
                        pred = np.load(work / f"alpha-{path}-{name}.npy") >= 128
                        ious.append(iou(pred, truth))
                        fs.append(boundary_f(pred, truth))
                results[path][kind] = (statistics.mean(ious), statistics.mean(fs))

    print(f"12 MP ({SIZE_12MP[0]}x{SIZE_12MP[1]}), median of {args.runs} runs per path, 2 cores:")
    print(
        f"{'path':<42} {'total s':>7} {'model s':>7} {'beyond':>6} {'peak MB':>7} "
        f"{'IoU real':>8} {'F real':>6} {'IoU stu':>7} {'F stu':>6}"
    )
    for r in results.values():
        total, model_s = statistics.median(r["totals"]), statistics.median(r["models"])
        beyond = statistics.median(
            (t - m) / t for t, m in zip(r["totals"], r["models"], strict=False)
        )
        print(
            f"{r['label']:<42} {total:7.2f} {model_s:7.2f} {beyond:6.0%} {r['peak']:7.0f} "
            f"{r['real scene'][0]:8.3f} {r['real scene'][1]:6.3f} "
            f"{r['studio'][0]:7.3f} {r['studio'][1]:6.3f}"
        )
    ours = statistics.median(results["ours"]["totals"])
    theirs = statistics.median(results["rembg"]["totals"])
    print(f"ours / {results['rembg']['label']}: {ours / theirs:.2f}x (target <= 1.0x)")
    print("runs (s):", {r["label"]: [round(t, 2) for t in r["totals"]] for r in results.values()})


if __name__ == "__main__":
    main()
