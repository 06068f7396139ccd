"""Step 6 of docs/decoding.md as compiled loops: people grown from the chosen connections, then each
one's score and the person filter.

A frame of a few people has about a hundred connections; walking them in Python (sets, dicts, a
branch per connection) took longer than scoring every candidate pair. These loops keep a person as a
row of candidate ids (-1: none) and a row of its links' scores, so the walk and the scores are a few
microseconds; ``assembly`` builds the results from them. The arithmetic and its order are those the
CUDA kernel ``assemble`` follows: scores added left to right, in keypoint and link order.
Signatures: ``jit_types``.
"""

from __future__ import annotations

import numpy as np
from numba import types

from ros2_posenet.decode.jit_types import BOOL, F8, I8, VALUES, compiled, given, made

_GROWN = types.Tuple((made(I8, 2), made(BOOL, 2), made(F8, 2)))
_RATED = types.Tuple((VALUES, VALUES, made(BOOL, 1)))


@compiled(
    [made(I8, 2)(made(I8, 2), made(I8, 1)), made(BOOL, 2)(made(BOOL, 2), made(I8, 1)),
     made(F8, 2)(made(F8, 2), made(I8, 1))]
)  # fmt: skip
def _rows(table: np.ndarray, rows: np.ndarray) -> np.ndarray:  # pragma: no cover (compiled)
    """``table[rows]``, as a new C-contiguous array."""
    taken = np.empty((len(rows), table.shape[1]), table.dtype)
    for row in range(len(rows)):
        taken[row] = table[rows[row]]
    return taken


@compiled(BOOL(given(I8, 1), given(I8, 1)))
def _share_a_keypoint(one: np.ndarray, other: np.ndarray) -> bool:  # pragma: no cover (compiled)
    """Whether two people (rows of candidate ids) both have a candidate of some keypoint."""
    for keypoint in range(len(one)):  # noqa: SIM110 (numba compiles no generator for any())
        if one[keypoint] >= 0 and other[keypoint] >= 0:
            return True
    return False


@compiled(
    _GROWN(given(I8, 1), given(I8, 2), given(I8, 1), given(I8, 1), given(I8, 1), given(F8, 1), BOOL)
)  # fmt: skip
def grow_people(
    first: np.ndarray,
    ends: np.ndarray,
    links: np.ndarray,
    rows: np.ndarray,
    columns: np.ndarray,
    scores: np.ndarray,
    lone_people: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover (compiled)
    """The people standing after the walk over the connections (link ``links[q]``'s candidates
    ``rows[q]`` of its keypoint a and ``columns[q]`` of b, ``scores[q]``; link by link, each link's in
    assignment order), in creation order: (P, K) candidate ids (-1: none), (P, L) whether each link
    joined them and (P, L) its score. A connection starts a person, adds its free end to the person
    holding the other (if that person has no candidate of the keypoint yet), or merges the two people
    holding its ends when they share no keypoint. With ``lone_people``, every candidate left alone
    then is a person of its own, keypoint by keypoint. ``first``: each keypoint's first row in the
    candidate table, and the table's length (K + 1 entries)."""
    keypoints, num_links = len(first) - 1, len(ends)
    owner = np.full(first[keypoints], -1, np.int64)  # the person holding each candidate
    capacity = len(links) + (first[keypoints] if lone_people else 0)
    slots = np.full((capacity, keypoints), -1, np.int64)
    joined = np.zeros((capacity, num_links), np.bool_)
    link_scores = np.zeros((capacity, num_links), np.float64)
    standing = np.zeros(capacity, np.bool_)
    people = 0
    for q in range(len(links)):
        link, i, j = links[q], rows[q], columns[q]
        a, b = ends[link, 0], ends[link, 1]
        holder_a, holder_b = owner[first[a] + i], owner[first[b] + j]
        if holder_a < 0 and holder_b < 0:
            holder_a = people
            owner[first[a] + i] = owner[first[b] + j] = people
            slots[people, a], slots[people, b], standing[people] = i, j, True
            people += 1
        elif holder_b < 0:
            if slots[holder_a, b] >= 0:
                continue
            slots[holder_a, b], owner[first[b] + j] = j, holder_a
        elif holder_a < 0:
            if slots[holder_b, a] >= 0:
                continue
            slots[holder_b, a], owner[first[a] + i] = i, holder_b
            holder_a = holder_b
        elif holder_a != holder_b:
            if _share_a_keypoint(slots[holder_a], slots[holder_b]):
                continue
            for keypoint in range(keypoints):
                candidate = slots[holder_b, keypoint]
                if candidate >= 0:
                    slots[holder_a, keypoint], owner[first[keypoint] + candidate] = candidate, holder_a
            for other in range(num_links):
                if joined[holder_b, other]:
                    joined[holder_a, other], link_scores[holder_a, other] = True, link_scores[holder_b, other]
            standing[holder_b] = False
        joined[holder_a, link], link_scores[holder_a, link] = True, scores[q]
    if lone_people:
        for keypoint in range(keypoints):
            for candidate in range(first[keypoint + 1] - first[keypoint]):
                if owner[first[keypoint] + candidate] < 0:
                    slots[people, keypoint], standing[people] = candidate, True
                    people += 1
    kept = np.flatnonzero(standing[:people])
    return _rows(slots, kept), _rows(joined, kept), _rows(link_scores, kept)


@compiled(BOOL(given(I8, 1), I8, given(I8, 1)))
def _has_torso(slots: np.ndarray, neck: int, hips: np.ndarray) -> bool:  # pragma: no cover (compiled)
    """Whether a person has the neck and one of the hips (always, where ``neck`` is -1)."""
    if neck < 0:
        return True
    if slots[neck] < 0:
        return False
    for hip in hips:
        if slots[hip] >= 0:
            return True
    return len(hips) == 0


@compiled(
    _RATED(
        given(I8, 2), given(BOOL, 2), given(F8, 2), given(I8, 1), given(F8, 1), given(F8, 1),
        I8, given(I8, 1), I8, F8, I8, F8,
    )
)  # fmt: skip
def rate_people(
    slots: np.ndarray,
    joined: np.ndarray,
    link_scores: np.ndarray,
    first: np.ndarray,
    keypoint_scores: np.ndarray,
    xs: np.ndarray,
    neck: int,
    hips: np.ndarray,
    min_keypoints: int,
    min_pose_score: float,
    complete_min_keypoints: int,
    complete_min_score: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover (compiled)
    """Per person of ``grow_people``: its score (the mean of its keypoints' scores plus the mean of its
    links' scores, each sum left to right in keypoint or link order), its leftmost x (the first
    smallest, in keypoint order) and whether the person filter (DecodeParams) keeps it: at least
    ``min_keypoints``, and a score of at least ``min_pose_score``, or ``complete_min_keypoints`` with a
    torso (the ``neck`` and one of the ``hips``; none needed where ``neck`` is -1) and at least
    ``complete_min_score``. ``first``: each keypoint's first row in the candidate table whose
    ``keypoint_scores`` and ``xs`` these are."""
    people = len(slots)
    scores, lefts, kept = np.empty(people), np.empty(people), np.empty(people, np.bool_)
    for person in range(people):
        count, total, left = 0, 0.0, 0.0
        for keypoint in range(slots.shape[1]):
            if slots[person, keypoint] < 0:
                continue
            row = first[keypoint] + slots[person, keypoint]
            if count == 0:
                total, left = keypoint_scores[row], xs[row]
            else:
                total += keypoint_scores[row]
                left = xs[row] if xs[row] < left else left
            count += 1
        score, linked, link_total = total / count, 0, 0.0
        for link in range(joined.shape[1]):
            if joined[person, link]:
                link_total = link_scores[person, link] if linked == 0 else link_total + link_scores[person, link]
                linked += 1
        if linked:
            score += link_total / linked
        scores[person], lefts[person] = score, left
        if count < min_keypoints:
            kept[person] = False
        elif not score < min_pose_score:
            kept[person] = True
        else:
            complete = complete_min_keypoints > 0 and count >= complete_min_keypoints
            kept[person] = complete and _has_torso(slots[person], neck, hips) and not score < complete_min_score
    return scores, lefts, kept
