"""3D keypoints from depth: depth images rendered from a known 3D skeleton seen by a known camera (both
REP-118 units, with holes, with the background behind thin limbs, at half resolution), and the command's
one-shot 3D from files."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import yaml

from ros2_posenet.depth import CameraModel, DepthError, depth_in_metres, pose_points_3d
from ros2_posenet.pose import Keypoint, Pose

CAMERA = CameraModel(fx=525.0, fy=520.0, cx=319.5, cy=239.5, width=640, height=480)
BACKGROUND_M = 4.0
# A person 2.5 m away, facing the camera, leaning: (x right, y down, z forward) in metres (REP-103 optical frame)
SKELETON = np.array(
    [
        [0.00, -0.75, 2.50],  # head
        [0.00, -0.55, 2.52],  # neck
        [-0.20, -0.50, 2.55],  # right shoulder
        [-0.30, -0.20, 2.45],  # right elbow
        [-0.35, 0.05, 2.35],  # right wrist
        [0.20, -0.50, 2.50],  # left shoulder
        [0.28, -0.22, 2.60],  # left elbow
        [0.30, 0.02, 2.70],  # left wrist
        [-0.12, 0.05, 2.55],  # right hip
        [0.12, 0.05, 2.55],  # left hip
        [-0.14, 0.45, 2.50],  # right knee
        [0.14, 0.45, 2.58],  # left knee
    ]
)
LIMBS = [(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (1, 8), (1, 9), (8, 10), (9, 11), (8, 9)]


def project(points: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Pixel (u, v) of each 3D point with CAMERA, in an image ``scale`` times its size."""
    u = CAMERA.fx * points[:, 0] / points[:, 2] + CAMERA.cx
    v = CAMERA.fy * points[:, 1] / points[:, 2] + CAMERA.cy
    return (np.stack([u, v], axis=1) + 0.5) * scale - 0.5


def render_depth(scale: float = 1.0, holes: float = 0.0, seed: int = 0) -> np.ndarray:
    """Depth in metres of the background wall with the person in front: limbs 3 px wide, their depth
    interpolated between the ends, joints as discs at their own depth; ``holes``: that fraction of
    pixels without a reading."""
    height, width = int(CAMERA.height * scale), int(CAMERA.width * scale)
    depth = np.full((height, width), BACKGROUND_M, np.float32)
    pixels = project(SKELETON, scale)
    for a, b in LIMBS:  # a limb's depth runs from one end's to the other's
        for t in np.linspace(0, 1, 40):
            layer = np.zeros((height, width), np.uint8)
            u, v = np.round(pixels[a] + t * (pixels[b] - pixels[a])).astype(int)
            cv2.circle(layer, (int(u), int(v)), 1, 255, -1)
            z = SKELETON[a, 2] + t * (SKELETON[b, 2] - SKELETON[a, 2])
            depth[layer > 0] = np.minimum(depth[layer > 0], z)
    for (u, v), z in zip(pixels, SKELETON[:, 2], strict=True):
        cv2.circle(depth, (int(round(u)), int(round(v))), max(1, int(4 * scale)), float(z), -1)
    if holes:
        depth[np.random.default_rng(seed).random(depth.shape) < holes] = np.nan
    return depth


def pose_of_skeleton() -> Pose:
    pixels = project(SKELETON)
    return Pose(0, tuple(Keypoint(i, f"k{i}", float(u), float(v), 1.0) for i, (u, v) in enumerate(pixels)), ())


def errors(points: tuple) -> np.ndarray:
    return np.linalg.norm(np.array(points) - SKELETON, axis=1)


@pytest.mark.parametrize("scale", [1.0, 0.5], ids=["full", "half resolution"])
@pytest.mark.parametrize("holes", [0.0, 0.3])
@pytest.mark.parametrize("unit", ["16UC1", "32FC1"])
def test_keypoints_are_within_a_centimetre_of_the_skeleton(scale: float, holes: float, unit: str):
    metres = render_depth(scale, holes)
    raw = np.nan_to_num(np.round(metres * 1000), nan=0).astype(np.uint16) if unit == "16UC1" else metres
    points = pose_points_3d(pose_of_skeleton(), depth_in_metres(raw, unit), CAMERA)
    assert errors(points).max() < 0.01, errors(points)


def test_no_reading_is_no_point_never_a_zero_point():
    depth = render_depth()
    pixels = np.round(project(SKELETON)).astype(int)
    u, v = pixels[4]
    depth[v - 10 : v + 11, u - 10 : u + 11] = np.nan  # no reading around the right wrist
    points = pose_points_3d(pose_of_skeleton(), depth, CAMERA)
    assert all(np.isnan(points[4])) and errors(points)[np.arange(12) != 4].max() < 0.01
    assert json.dumps(pose_of_skeleton().with_points_3d(points).to_dict()["keypoints"][4]["xyz"]) == "null"


def test_units_and_encodings_follow_rep_118():
    millimetres = np.array([[0, 1500], [65535, 2]], np.uint16)
    np.testing.assert_allclose(depth_in_metres(millimetres, "16UC1"), [[np.nan, 1.5], [65.535, 0.002]], rtol=1e-6)
    metres = np.array([[np.nan, 1.5], [np.inf, 0.0]], np.float32)
    np.testing.assert_array_equal(depth_in_metres(metres, "32FC1"), [[np.nan, 1.5], [np.nan, np.nan]])
    with pytest.raises(DepthError, match="unsupported depth encoding 'rgb8'"):
        depth_in_metres(metres, "rgb8")
    with pytest.raises(DepthError, match="uint16 millimetres"):
        depth_in_metres(metres, "16UC1")


def test_the_projection_matrix_of_a_rectified_image_wins_over_k():
    k = [500.0, 0, 320, 0, 500.0, 240, 0, 0, 1]
    p = [480.0, 0, 310, 0, 0, 470.0, 230, 0, 0, 0, 1, 0]
    assert CameraModel.from_matrices(k, p, 640, 480) == CameraModel(480.0, 470.0, 310.0, 230.0, 640, 480)
    assert CameraModel.from_matrices(k, [0.0] * 12, 640, 480) == CameraModel(500.0, 500.0, 320.0, 240.0, 640, 480)
    with pytest.raises(DepthError, match="neither"):
        CameraModel.from_matrices([0.0] * 9, [0.0] * 12, 640, 480)


def camera_yaml(path) -> None:
    """A calibration file in the layout camera_calibration writes."""
    k = [CAMERA.fx, 0.0, CAMERA.cx, 0.0, CAMERA.fy, CAMERA.cy, 0.0, 0.0, 1.0]
    data = {
        "image_width": CAMERA.width,
        "image_height": CAMERA.height,
        "camera_name": "test",
        "camera_matrix": {"rows": 3, "cols": 3, "data": k},
        "distortion_model": "plumb_bob",
        "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.0] * 5},
        "projection_matrix": {"rows": 3, "cols": 4, "data": [*k[:3], 0.0, *k[3:6], 0.0, *k[6:], 0.0]},
    }
    path.write_text(yaml.safe_dump(data))


def test_the_command_gives_3d_keypoints_from_a_depth_file(tmp_path, capsys):
    from support.photos import photo_path

    from ros2_posenet import cli

    camera_yaml(tmp_path / "camera.yaml")
    assert CameraModel.from_yaml(tmp_path / "camera.yaml") == CAMERA
    cv2.imwrite(str(tmp_path / "depth.png"), np.full((480, 640), 2000, np.uint16))  # a wall 2 m away, 16UC1
    image, report = photo_path("basketball1.png"), tmp_path / "poses.json"
    arguments = [str(image), "--json", str(report), "--depth", str(tmp_path / "depth.png")]
    assert cli.main([*arguments, "--camera-info", str(tmp_path / "camera.yaml")]) == 0, capsys.readouterr().err
    keypoints = [k for p in json.loads(report.read_text())["frames"][0]["poses"] for k in p["keypoints"]]
    assert keypoints and all(k["xyz"][2] == 2.0 for k in keypoints)
    for k in keypoints:  # back-projected with the camera matrix
        assert k["xyz"][0] == pytest.approx((k["x"] - CAMERA.cx) * 2.0 / CAMERA.fx, abs=1e-3)
    with pytest.raises(SystemExit):
        cli.main(arguments)  # --depth without --camera-info
    assert "--depth and --camera-info go together" in capsys.readouterr().err
