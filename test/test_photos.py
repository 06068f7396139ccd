"""The real pretrained mobilenet-thin network on real photos: the right people, plausible anatomy.

Photos and weights come from packages during set-up (scripts/setup.sh); without them these skip.
"""

from __future__ import annotations

import cv2
import pytest
from support.photos import load_photo, photo_path

from ros2_posenet.models.cache import photos_dir
from ros2_posenet.models.tfpose import model_dir
from ros2_posenet.pose import Pose
from ros2_posenet.posenet import PoseNet

pytestmark = pytest.mark.skipif(
    not (photos_dir() / "basketball1.png").is_file() or not (model_dir() / "mobilenet-thin-body.onnx").is_file(),
    reason="photos/model not fetched: run scripts/setup.sh",
)


@pytest.fixture(scope="module")
def net():
    return PoseNet("mobilenet-thin-body", backend="onnxruntime")


def y_of(pose: Pose, name: str) -> float:
    keypoint = pose.find_keypoint(name)
    assert keypoint is not None, f"{name} missing in pose {pose.to_dict()}"
    return keypoint.y


def assert_standing_anatomy(pose: Pose) -> None:
    """Head above neck above hips above knees above ankles (image y grows downwards)."""
    hips = (y_of(pose, "right_hip") + y_of(pose, "left_hip")) / 2
    knees = (y_of(pose, "right_knee") + y_of(pose, "left_knee")) / 2
    ankles = (y_of(pose, "right_ankle") + y_of(pose, "left_ankle")) / 2
    assert y_of(pose, "nose") < y_of(pose, "neck") < hips < knees < ankles


@pytest.mark.parametrize("name", ["basketball1.png", "basketball2.png"])
def test_two_players_are_found_with_the_left_one_whole(net, name):
    poses = net.process(load_photo(name))
    assert len(poses) == 2
    left, right = sorted(poses, key=lambda p: p.left)
    # The player on the left stands facing the camera, whole: every body keypoint below the head.
    assert len(left.keypoints) >= 16 and left.left > 40 and left.right < 160
    assert_standing_anatomy(left)
    # Facing the camera, his right side is on the image's left.
    assert left.find_keypoint("right_shoulder").x < left.find_keypoint("left_shoulder").x
    assert left.find_keypoint("right_hip").x < left.find_keypoint("left_hip").x
    # The player on the right is cut by the border and seen from the side: his head is found.
    assert right.left > 480 and right.find_keypoint("nose") is not None and right.bottom < 200


def test_messi_kicking_is_found_with_his_limbs(net):
    poses = net.process(load_photo("messi5.jpg"))
    messi = max(poses, key=lambda p: len(p.keypoints))
    assert len(messi.keypoints) == 18
    assert messi.left < 130 and messi.right > 400  # from the raised hand to the kicking boot
    assert y_of(messi, "nose") < y_of(messi, "neck") < y_of(messi, "right_hip") < y_of(messi, "right_ankle")
    assert messi.find_keypoint("left_ankle").x > 380  # the kicking foot is far to the right
    # Everyone else is a small, blurred spectator (in the stands or on the bench), less than half his height.
    assert all(p.bottom - p.top < (messi.bottom - messi.top) / 2 for p in poses if p is not messi)


def test_vtest_street_frame_has_three_walkers(net):
    capture = cv2.VideoCapture(str(photo_path("vtest.avi")))
    ok, frame = capture.read()
    capture.release()
    assert ok
    poses = net.process(frame)
    assert len(poses) == 3
    centres = sorted(((p.left + p.right) / 2, (p.top + p.bottom) / 2) for p in poses)
    # walkers at about (265, 265), (515, 195) and (660, 280) in the 768x576 frame
    for (x, y), (ex, ey) in zip(centres, [(265, 265), (515, 195), (660, 280)], strict=True):
        assert abs(x - ex) < 30 and abs(y - ey) < 45


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "astronaut.png"])
def test_portraits_have_one_person_with_a_face(net, name):
    poses = net.process(load_photo(name))
    assert len(poses) == 1
    pose = poses[0]
    eyes = [pose.find_keypoint(n) for n in ("right_eye", "left_eye")]
    assert all(eyes) and abs(eyes[0].y - eyes[1].y) < 25
    assert y_of(pose, "nose") < y_of(pose, "neck")
    # Facing the camera: the person's right eye is on the image's left.
    assert eyes[0].x < eyes[1].x


def test_keypoints_are_inside_the_image(net):
    image = load_photo("messi5.jpg")
    for pose in net.process(image):
        for k in pose.keypoints:
            assert -0.5 <= k.x <= image.shape[1] - 0.5 and -0.5 <= k.y <= image.shape[0] - 0.5


def test_grey_and_rgb_inputs_give_the_same_people(net):
    image = load_photo("basketball1.png")  # a grey photo stored as BGR
    from_bgr = [p.to_dict() for p in net.process(image)]
    from_grey = [p.to_dict() for p in net.process(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))]
    from_rgb = [p.to_dict() for p in net.process(image[..., ::-1].copy(), channel_order="rgb")]
    assert from_bgr == from_grey == from_rgb
