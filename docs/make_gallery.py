"""Regenerate the README's gallery (docs/gallery/*.png) from the examples.

Runs ``examples/evolve_digit_image.py`` (10 seeds) and
``examples/gan_generator.py`` (600 s, seed 0) with their default settings on
the MNIST test set and keeps their pictures. The figures printed are those
quoted in the README (they depend on the machine's load for the GAN, whose
budget is wall time).

Run:  python docs/make_gallery.py --data ../shared/data/mnist [--gan-seconds 600]
          [--gan-clock wall|cpu] [--only image7|gan]

``--gan-clock cpu`` counts the GAN's budget in CPU seconds (a loaded machine);
``--only`` reruns one example and keeps only its pictures.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "docs" / "gallery"
KEEP = {"image7": ("evolved_7.png", "evolved_7_fooling.png", "fitness_7.png"),
        "gan": ("gan_samples.png", "gan_curves.png")}


def _example(name: str):
    path = ROOT / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder of the MNIST IDX files")
    ap.add_argument("--gan-seconds", type=float, default=600.0)
    ap.add_argument("--gan-clock", choices=("wall", "cpu"), default="wall",
                    help="what --gan-seconds counts")
    ap.add_argument("--only", choices=tuple(KEEP), default=None)
    args = ap.parse_args(argv)
    GALLERY.mkdir(parents=True, exist_ok=True)
    parts = tuple(KEEP) if args.only is None else (args.only,)
    kept = [name for part in parts for name in KEEP[part]]
    with tempfile.TemporaryDirectory() as tmp:
        if "image7" in parts:
            _example("evolve_digit_image").main(["--data", args.data, "--out", tmp])
        if "gan" in parts:
            _example("gan_generator").main(["--data", args.data, "--out", tmp,
                                            "--time-limit", str(args.gan_seconds),
                                            "--clock", args.gan_clock])
        for name in kept:
            shutil.copy(Path(tmp) / name, GALLERY / name)
    print(f"updated {', '.join(kept)} in {GALLERY}")


if __name__ == "__main__":
    main()
