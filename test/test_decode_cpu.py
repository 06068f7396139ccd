"""The CPU decoder against maps rendered from known people (docs/decoding.md is the contract)."""

from __future__ import annotations

import numpy as np
import pytest
from support.decode_helpers import BODY, HAND, assert_recovered
from support.synthetic import random_people, render_maps

from ros2_posenet.decode.cpu import decode_cpu, find_peaks, link_scores, refine_peaks
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import Pose
from ros2_posenet.topology import Topology

NECK, NOSE, LEFT_WRIST = BODY.keypoint_id("neck"), BODY.keypoint_id("nose"), BODY.keypoint_id("left_wrist")
NECK_TO_NOSE = BODY.links.index((NECK, NOSE))


def decode_people(people: np.ndarray, topology: Topology, height: int, width: int, **kwargs) -> list[Pose]:
    amplitudes = kwargs.pop("amplitudes", None)
    cmap, paf = render_maps(people, topology, height, width, amplitudes=amplitudes)
    return decode_cpu(cmap, paf, topology, DecodeParams(**kwargs))


def one_person(topology: Topology, height: float, seed: int = 0) -> np.ndarray:
    """A (K, 2) plausible person ``height`` pixels tall whose box starts at (2, 2)."""
    person = random_people(1, topology, 200, 200, seed=seed)[0]
    return (person - person.min(axis=0)) * (height / np.ptp(person[:, 1])) + 2.0


def blank_maps(topology: Topology, height: int = 56, width: int = 56) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.zeros((topology.num_keypoints, height, width), np.float32),
        np.zeros((2 * topology.num_links, height, width), np.float32),
    )


def names(pose: Pose) -> set[str]:
    return {keypoint.name for keypoint in pose.keypoints}


@pytest.mark.parametrize("topology", [BODY, HAND], ids=["body", "hand"])
@pytest.mark.parametrize(
    ("count", "height", "width"),
    [(1, 56, 56), (2, 56, 56), (5, 56, 56), (10, 60, 80), (20, 120, 120), (50, 200, 200)],
)
def test_every_person_and_keypoint_is_recovered(topology: Topology, count: int, height: int, width: int) -> None:
    truth = random_people(count, topology, height, width, seed=count)
    poses = decode_people(truth, topology, height, width)
    assert_recovered(poses, truth, topology)
    assert [pose.id for pose in poses] == list(range(count))
    scores = [pose.score for pose in poses]
    assert scores == sorted(scores, reverse=True)
    assert all(1.5 < score <= 2.0 for score in scores)  # mean peak value ~1 + mean link score > 0.5


def test_empty_and_faint_maps_give_no_people() -> None:
    cmap, paf = blank_maps(BODY)
    assert decode_cpu(cmap, paf, BODY) == []
    faint = np.full_like(cmap, 0.1)  # every pixel a (flat) local maximum, none above 0.15
    assert decode_cpu(faint, paf, BODY) == []


def test_a_lone_keypoint_is_a_person_only_when_min_keypoints_allows() -> None:
    cmap, paf = blank_maps(BODY)
    ys, xs = np.mgrid[0:56, 0:56]
    cmap[LEFT_WRIST] = 0.8 * np.exp(-((xs - 20) ** 2 + (ys - 10) ** 2) / 2)
    (pose,) = decode_cpu(cmap, paf, BODY, DecodeParams(min_keypoints=1))
    (keypoint,) = pose.keypoints
    assert (keypoint.id, keypoint.name) == (LEFT_WRIST, "left_wrist")
    assert (keypoint.x, keypoint.y) == pytest.approx((20.0, 10.0), abs=1e-9)  # symmetric window: exact centroid
    assert keypoint.score == pytest.approx(0.8) and pose.score == keypoint.score and pose.links == ()
    assert decode_cpu(cmap, paf, BODY, DecodeParams(min_keypoints=2)) == []


def test_partially_visible_people_keep_exactly_their_visible_parts() -> None:
    truth = random_people(3, BODY, 60, 80, seed=7)
    hidden = [
        ["left_elbow", "left_wrist"],
        ["left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"],
        ["nose", "left_eye", "right_eye", "left_ear", "right_ear"],
    ]
    for person, parts in zip(truth, hidden, strict=True):
        person[[BODY.keypoint_id(name) for name in parts]] = np.nan
    poses = decode_people(truth, BODY, 60, 80)
    assert_recovered(poses, truth, BODY)  # checks each pose's keypoints and links against what is visible
    assert sorted(len(pose.keypoints) for pose in poses) == [12, 13, 16]


def test_without_a_neck_upper_and_lower_body_are_two_people() -> None:
    person = one_person(BODY, 50)
    person[NECK] = np.nan  # only the neck joins shoulders to hips
    poses = decode_people(person[None], BODY, 56, 56)
    lower = {"left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"}
    assert sorted(map(names, poses), key=len) == [lower, set(BODY.keypoints) - lower - {"neck"}]


@pytest.mark.parametrize("topology", [BODY, HAND], ids=["body", "hand"])
def test_keypoints_on_the_border_rows_and_columns(topology: Topology) -> None:
    person = random_people(1, topology, 56, 56, seed=3)[0]
    person = (person - person.min(axis=0)) / np.ptp(person, axis=0) * 55  # box exactly [0, 55] x [0, 55]
    (pose,) = decode_people(person[None], topology, 56, 56)
    assert_recovered([pose], person[None], topology)
    assert pose.box == pytest.approx((0, 0, 55, 55), abs=0.6)  # clipped refinement windows pull inward


@pytest.mark.parametrize("shift", [(4.0, 0.0), (6.0, 0.0), (5.0, 3.0), (0.0, 8.0), (6.0, 10.0)])
def test_two_people_close_together_are_neither_merged_nor_swapped(shift: tuple[float, float]) -> None:
    first = one_person(BODY, 36, seed=5)  # 16 px wide: the shifted copies overlap
    truth = np.stack([first, first + shift])
    poses = decode_people(truth, BODY, 56, 56)
    assert_recovered(poses, truth, BODY)


def test_keypoint_threshold_is_strict_and_compared_in_float32() -> None:
    for value, found in ((0.149, 0), (0.151, 1), (np.float32(0.15), 0)):
        cmap, paf = blank_maps(BODY)
        cmap[NOSE, 30, 30] = value
        assert len(decode_cpu(cmap, paf, BODY)) == found, value


@pytest.mark.parametrize(("strength", "linked"), [(0.095, False), (0.105, True)])
def test_link_threshold_decides_whether_two_keypoints_join(strength: float, linked: bool) -> None:
    cmap, paf = blank_maps(BODY)
    cmap[NECK, 30, 20] = 0.9
    cmap[NOSE, 10, 20] = 0.7
    paf[2 * NECK_TO_NOSE + 1] = -strength  # the whole field points from neck (row 30) to nose (row 10)
    poses = decode_cpu(cmap, paf, BODY)
    if linked:
        (pose,) = poses
        assert names(pose) == {"neck", "nose"} and pose.links == ((NECK, NOSE),)
        assert pose.score == pytest.approx(0.8 + strength)
    else:
        assert [(names(p), p.score) for p in poses] == [({"neck"}, pytest.approx(0.9)), ({"nose"}, pytest.approx(0.7))]


def five_ranked_people() -> tuple[np.ndarray, list[float]]:
    """Five copies of one person at whole-pixel positions: peaks equal their amplitude exactly and
    link scores are identical, so pose scores rank as the amplitudes do."""
    person = np.round(one_person(BODY, 24, seed=2))
    truth = np.stack([person + (16 * i, 30 * (i % 2)) for i in range(5)])
    return truth, [0.5, 0.9, 0.7, 0.6, 0.8]


def test_max_people_keeps_the_best_scored() -> None:
    truth, amplitudes = five_ranked_people()
    poses = decode_people(truth, BODY, 60, 80, amplitudes=amplitudes)
    assert assert_recovered(poses, truth, BODY) == [1, 4, 2, 3, 0]
    capped = decode_people(truth, BODY, 60, 80, amplitudes=amplitudes, max_people=3)
    assert [p.to_dict() for p in capped] == [p.to_dict() for p in poses[:3]]


def test_max_parts_keeps_the_strongest_candidates_of_each_keypoint() -> None:
    truth, amplitudes = five_ranked_people()
    poses = decode_people(truth, BODY, 60, 80, amplitudes=amplitudes, max_parts=3)
    assert assert_recovered(poses, truth[[1, 4, 2]], BODY) == [0, 1, 2]


@pytest.mark.parametrize(
    ("cmap_shape", "paf_shape", "message"),
    [
        ((17, 56, 56), (42, 56, 56), "cmap must be [18, H, W]"),
        ((1, 18, 56, 56), (42, 56, 56), "cmap must be [18, H, W]"),
        ((18, 0, 56), (42, 0, 56), "cmap must be [18, H, W]"),
        ((18, 56, 56), (40, 56, 56), "paf must be [42, 56, 56]"),
        ((18, 56, 56), (42, 28, 56), "paf must be [42, 56, 56]"),
    ],
)
def test_maps_that_do_not_fit_the_topology_are_refused(cmap_shape: tuple, paf_shape: tuple, message: str) -> None:
    with pytest.raises(ValueError) as error:
        decode_cpu(np.zeros(cmap_shape, np.float32), np.zeros(paf_shape, np.float32), BODY)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_read_only_and_strided_maps_decode_as_contiguous_ones() -> None:
    """Engines hand over views (a slice of one output, a read-only buffer); the compiled loops take
    C-contiguous arrays, read-only or not."""
    cmap, paf = render_maps(random_people(3, BODY, 56, 56, seed=4), BODY, 56, 56)
    expected = [pose.to_dict() for pose in decode_cpu(cmap, paf, BODY)]
    assert len(expected) == 3
    both = np.concatenate([cmap, paf])[:, :, ::-1].copy()[:, :, ::-1]  # a view with a negative stride
    cmap_view, paf_view = both[: len(cmap)], both[len(cmap) :]
    assert not cmap_view.flags.c_contiguous
    for view in (cmap_view, paf_view, cmap, paf):
        view.flags.writeable = False
    assert [pose.to_dict() for pose in decode_cpu(cmap_view, paf_view, BODY)] == expected
    assert [pose.to_dict() for pose in decode_cpu(cmap, paf, BODY)] == expected


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, refining around those pixels
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_maps_with_non_finite_values_decode_without_error(value: float) -> None:
    """A broken network's output: infinite or NaN pixels beside peaks make refined positions infinite
    or NaN."""
    cmap, paf = render_maps(random_people(4, BODY, 56, 56, seed=5), BODY, 56, 56)
    cmap[cmap > 0.8] = np.where(np.arange((cmap > 0.8).sum()) % 2, value, np.inf)
    paf[paf > 0.5] = value
    for params in (DecodeParams(), DecodeParams(refine_sigma=1.0)):
        people = decode_cpu(cmap, paf, BODY, params)
        assert not np.isfinite([keypoint.x for pose in people for keypoint in pose.keypoints]).all()


def test_samples_between_infinite_candidates_stay_within_the_maps() -> None:
    """From a candidate at -inf to a finite one, every sample is -inf + inf = NaN: the loops compiled
    without bounds checks must clamp it into the map like any other (and the CUDA kernel's fmax does)."""
    paf = np.full((2, 20, 30), 0.5, np.float32)
    pair = Topology("pair", ("a", "b"), ((0, 1),), paf_channels=((0, 1),))
    a = np.array([[-np.inf, 5.0, 1.0], [5.0, -np.inf, 1.0], [np.nan, 5.0, 1.0], [5.0, 5.0, 1.0]])
    b = np.array([[10.0, 20.0, 1.0], [np.inf, np.inf, 1.0]])
    (table,) = link_scores(paf, [a, b], pair, DecodeParams(sample_threshold=-1.0, distance_prior=False))
    assert table.shape == (4, 2) and table[3, 0] == pytest.approx(0.5 * (15 + 5) / np.hypot(5, 15))


# The steps the CUDA decoder mirrors, one by one.


def test_find_peaks_sorts_by_value_then_raster_order_and_caps() -> None:
    cmap = np.zeros((2, 10, 10), np.float32)
    cmap[0, 5, 5] = cmap[0, 2, 7] = 0.5  # equal values: raster order (2, 7) before (5, 5)
    cmap[0, 8, 1] = 0.9
    cmap[0, 8, 2] = 0.4  # beside a higher neighbour: not a peak
    cmap[1, 0, 0] = cmap[1, 0, 1] = 0.3  # a flat top: both are maxima (>= neighbours)
    peaks = find_peaks(cmap, DecodeParams())
    assert peaks[0].dtype == np.float32
    assert peaks[0].tolist() == [[8, 1, pytest.approx(0.9)], [2, 7, 0.5], [5, 5, 0.5]]
    assert peaks[1].tolist() == [[0, 0, pytest.approx(0.3)], [0, 1, pytest.approx(0.3)]]
    assert [len(p) for p in find_peaks(cmap, DecodeParams(max_parts=1))] == [1, 1]


def test_a_full_list_of_peaks_keeps_the_first_of_equal_ones_and_takes_a_higher_one() -> None:
    """The cap is applied while peaks are found in raster order: once ``max_parts`` are kept, an equal
    later peak stays out and a higher one takes the lowest's place."""
    cmap = np.zeros((1, 12, 12), np.float32)
    cmap[0, 1, 9] = 0.7
    cmap[0, 3, 1] = cmap[0, 3, 5] = cmap[0, 5, 1] = 0.5
    cmap[0, 9, 3] = 0.8
    cmap[0, 9, 2] = np.nan  # a NaN neighbour: (9, 3) is no peak
    assert find_peaks(cmap, DecodeParams(max_parts=3))[0][:, :2].tolist() == [[1, 9], [3, 1], [3, 5]]
    cmap[0, 9, 9] = 0.6  # last in raster order, above the 0.5s
    assert find_peaks(cmap, DecodeParams(max_parts=2))[0][:, :2].tolist() == [[1, 9], [9, 9]]
    assert find_peaks(cmap, DecodeParams(max_parts=3))[0][:, :2].tolist() == [[1, 9], [9, 9], [3, 1]]
    assert find_peaks(cmap, DecodeParams(max_parts=4))[0][:, :2].tolist() == [[1, 9], [9, 9], [3, 1], [3, 5]]


def test_refine_peaks_uses_the_window_clipped_to_the_map() -> None:
    cmap = np.zeros((1, 10, 10), np.float32)
    cmap[0, 0, 0], cmap[0, 0, 1], cmap[0, 1, 0], cmap[0, 3, 2] = 1.0, 0.5, 0.5, 0.25
    cmap[0, 1, 1] = -2.0  # negative values weigh nothing
    params = DecodeParams()
    (refined,) = refine_peaks(cmap, find_peaks(cmap, params), params)
    assert refined[0].tolist() == pytest.approx([0.25, 0.25, 1.0])  # (1*0 + 0.5*1 + 0.5*0) / 2 each way
    # rows 1..5 and columns 0..4 around (3, 2): the 0.5 at (1, 0) and the peak itself
    assert refined[1].tolist() == pytest.approx([(0.5 * 1 + 0.25 * 3) / 0.75, (0.5 * 0 + 0.25 * 2) / 0.75, 0.25])
    (unrefined,) = refine_peaks(cmap, find_peaks(cmap, params), DecodeParams(refine_window=1))
    assert unrefined[:, :2].tolist() == [[0, 0], [3, 2]]


def blob_map(shape: tuple[int, int], centre: tuple[float, float], covariance: np.ndarray) -> np.ndarray:
    """(1, H, W) map of an anisotropic Gaussian blob of peak 1 at ``centre`` (y, x)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    d = np.stack([ys - centre[0], xs - centre[1]], axis=-1)
    exponent = np.einsum("...i,ij,...j->...", d, np.linalg.inv(covariance), d)
    return np.exp(-0.5 * exponent)[None].astype(np.float32)


def brute_force_smoothed_maximum(cmap: np.ndarray, peak: tuple[int, int], radius: int, sigma: float) -> np.ndarray:
    """Where the window of max(cmap, 0) around ``peak``, smoothed by a Gaussian, is highest: searched on a
    0.01 px grid within a pixel of the peak (written from the definition, not from the decoder)."""
    y, x = peak
    window = np.maximum(cmap[0, y - radius : y + radius + 1, x - radius : x + radius + 1], 0).astype(np.float64)
    qy, qx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    grid = np.linspace(-1.0, 1.0, 201)
    best, where = -np.inf, (0.0, 0.0)
    for py in grid:
        for px in grid:
            value = (window * np.exp(-((qy - py) ** 2 + (qx - px) ** 2) / (2 * sigma**2))).sum()
            if value > best:
                best, where = value, (py, px)
    return np.array([y + where[0], x + where[1]])


@pytest.mark.parametrize("centre", [(20.0, 20.0), (20.3, 19.6), (19.55, 20.45)])
def test_smoothed_refinement_finds_a_gaussian_blob_centre_exactly(centre: tuple[float, float]) -> None:
    """A Gaussian blob smoothed by a Gaussian is a Gaussian, whose log is exactly a quadratic: its centre
    comes back to the sampling's precision wherever it lies within the peak pixel, tilted or not."""
    for covariance in (np.eye(2), np.array([[1.6, 0.7], [0.7, 0.9]])):
        cmap = blob_map((40, 40), centre, covariance)
        params = DecodeParams(refine_window=11, refine_sigma=1.5)
        (refined,) = refine_peaks(cmap, find_peaks(cmap, params), params)
        assert refined[0, :2] == pytest.approx(centre, abs=2e-3)


def test_smoothed_refinement_follows_the_smoothed_maximum_of_a_skewed_blob() -> None:
    """A tilted blob with a long tail on one side: the centroid is pulled into the tail, the maximum of the
    smoothed window (what tf-pose's smoothed maps peak at) is not."""
    cmap = blob_map((40, 40), (20.2, 19.9), np.array([[0.8, 0.35], [0.35, 0.6]]))
    cmap += 0.35 * blob_map((40, 40), (22.8, 22.6), np.array([[0.6, 0.2], [0.2, 0.5]]))
    params = DecodeParams(refine_window=7, refine_sigma=1.5)
    peaks = find_peaks(cmap, params)
    peak = (int(peaks[0][0, 0]), int(peaks[0][0, 1]))
    (smoothed,) = refine_peaks(cmap, peaks, params)
    (centroid,) = refine_peaks(cmap, peaks, DecodeParams(refine_window=7))
    expected = brute_force_smoothed_maximum(cmap, peak, 3, 1.5)
    assert np.abs(smoothed[0, :2] - expected).max() < 0.03
    assert np.abs(centroid[0, :2] - expected).min() > 0.3


@pytest.mark.parametrize("sigma", [-1.0, 0.05, 10.5])
def test_refine_sigma_is_zero_or_a_sensible_width(sigma: float) -> None:
    with pytest.raises(ValueError, match=r"refine_sigma must be 0 or in \[0.1, 10\]"):
        DecodeParams(refine_sigma=sigma)


def test_link_scores_integrate_the_field_along_each_pair() -> None:
    topology = Topology("pair", ("a", "b"), ((0, 1),))
    paf = np.zeros((2, 20, 20), np.float32)
    paf[0] = 0.6  # x component only
    paf[1, :, 10:] = 0.8  # y component on the right half
    a = np.array([[5.0, 5.0, 1.0], [15.0, 15.0, 1.0]])  # rows of [y, x, score]
    b = np.array([[5.0, 15.0, 1.0], [5.0, 5.0, 1.0], [25.0, 15.0, 1.0]])
    integral_only = DecodeParams(link_samples=7, sample_threshold=-1.0, distance_prior=False)  # no criteria
    (table,) = link_scores(paf, [a, b], topology, integral_only)
    assert table.shape == (2, 3)
    assert table[0, 0] == pytest.approx(0.6)  # along +x through a uniform field
    assert table[0, 1] == -np.inf  # coincident candidates: no direction, never linked
    assert table[1, 0] == -np.inf  # straight up, against the right half's +y: a negative mean is never a link
    assert table[1, 2] == pytest.approx(0.8)  # straight down and past the map: samples clamped to row 19
    # down-right: x everywhere, y only for the 4 of 7 samples at columns >= 10
    assert table[0, 2] == pytest.approx((0.6 * 10 + 0.8 * 4 / 7 * 20) / np.hypot(10, 20))


# OpenPose's link criteria as tf-pose's pafprocess.cpp states them: with STEP_PAF = 10 samples, a pair
# is a candidate only if more than THRESH_VECTOR_CNT1 = 6 samples score above THRESH_VECTOR_SCORE = 0.05
# (criterion 1) and mean + min(0, 0.5 * heatmap height / length - 1) > 0 (criterion 2).
PAIR = Topology("pair", ("a", "b"), ((0, 1),))


def horizontal_pair(paf: np.ndarray, x_from: float, x_to: float, params: DecodeParams | None = None) -> float:
    a, b = np.array([[5.0, x_from, 1.0]]), np.array([[5.0, x_to, 1.0]])
    (table,) = link_scores(paf, [a, b], PAIR, params or DecodeParams())
    return float(table[0, 0])


@pytest.mark.parametrize(("aligned", "linked"), [(6, False), (7, True), (10, True)])
def test_a_link_needs_more_than_6_of_10_samples_above_0_05(aligned: int, linked: bool) -> None:
    """From x = 0 to 20 the 10 samples fall on columns 1, 3, ..., 19: the first ``aligned`` of them
    see a field of 1.0 along the link, the others 0.0 (mean 0.6 for 6: far over the link threshold)."""
    paf = np.zeros((2, 40, 30), np.float32)  # height 40: no distance penalty for a 20-pixel link
    for sample in range(aligned):
        paf[0, :, 2 * sample + 1] = 1.0
    score = horizontal_pair(paf, 0.0, 20.0)
    assert (score == pytest.approx(aligned / 10)) if linked else (score == -np.inf), score
    sloppy = paf.copy()
    sloppy[0][sloppy[0] == 0] = 0.0499  # just under the threshold: those samples still do not count
    assert (horizontal_pair(sloppy, 0.0, 20.0) > 0) == linked


@pytest.mark.parametrize(("length", "linked"), [(8, True), (10, True), (12, True), (20, False), (40, False)])
def test_links_longer_than_half_the_map_height_pay_the_distance_prior(length: int, linked: bool) -> None:
    """A uniform field of 0.3 along +x on a map 20 high: 0.3 + min(0, 10 / length - 1) > 0 up to length 14."""
    paf = np.zeros((2, 20, 100), np.float32)
    paf[0] = 0.3
    score = horizontal_pair(paf, 10.0, 10.0 + length)
    assert (score == pytest.approx(0.3)) if linked else (score == -np.inf), (length, score)
    assert horizontal_pair(paf, 10.0, 10.0 + length, DecodeParams(distance_prior=False)) == pytest.approx(0.3)


def test_the_issue_face_link_with_2_of_7_samples_aligned_is_not_a_link() -> None:
    """The photo's case: a mean over the threshold (0.0504 > 0.05) carried by two strong samples."""
    paf = np.zeros((2, 40, 30), np.float32)
    paf[0, :, 1] = paf[0, :, 3] = 0.252  # two of ten samples; mean 0.0504
    assert horizontal_pair(paf, 0.0, 20.0, DecodeParams(link_threshold=0.05, min_aligned_fraction=0.0)) > 0.05
    assert horizontal_pair(paf, 0.0, 20.0, DecodeParams(link_threshold=0.05)) == -np.inf


@pytest.mark.parametrize("noise", [0.0, 0.03])
def test_screening_a_crowd_changes_no_score(noise: float) -> None:
    """A crowd's thousands of pairs are screened before they are sampled in full (by where the field is
    too weak to align, middle samples first); the scores must be those of the same pairs scored a
    handful at a time, which are too few to be screened."""
    cmap, paf = render_maps(random_people(30, BODY, 56, 56, seed=3), BODY, 56, 56)
    paf = paf + np.random.default_rng(0).normal(0.0, noise, paf.shape).astype(np.float32)
    params = DecodeParams()
    candidates = refine_peaks(cmap, find_peaks(cmap, params), params)
    tables = link_scores(paf, candidates, BODY, params)
    assert sum(table.size for table in tables) > 10_000
    for link, ((a, b), channels) in enumerate(zip(BODY.links, BODY.paf_channels, strict=True)):
        alone = Topology("link", ("a", "b"), ((0, 1),), paf_channels=((0, 1),))
        rows = [
            link_scores(paf[list(channels)], [row[None], candidates[b]], alone, params)[0][0] for row in candidates[a]
        ]
        np.testing.assert_array_equal(tables[link], np.array(rows).reshape(tables[link].shape), err_msg=f"link {link}")
        assert np.isfinite(tables[link]).sum() >= 25  # the crowd's own limbs of this link stay linked
