"""Greedy link assignment and person assembly (steps 5 and 6 of docs/decoding.md).

Both decoders find candidates and PAF score tables their own way (NumPy or CUDA) and hand
them here, so the rules that turn them into people exist once and give the same people.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from itertools import accumulate, repeat
from operator import add, itemgetter
from typing import Any, TypeVar

import numpy as np

from ros2_posenet.decode.linking import walk_greedily
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import Keypoint, Pose
from ros2_posenet.topology import Topology

Connection = tuple[int, int, float]
"""A chosen candidate pair of one link: (candidate id of keypoint a, of keypoint b, PAF score)."""


Rows = TypeVar("Rows", list, np.ndarray)


def split_by_counts(rows: Rows, counts: Sequence[int]) -> list[Rows]:
    """``rows`` (a list or an array) cut into consecutive runs of ``counts`` rows: candidates listed
    keypoint by keypoint, back into one run per keypoint."""
    return [rows[stop - count : stop] for count, stop in zip(counts, accumulate(counts), strict=True)]


def gather(indices: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function picking ``indices`` (at least one) out of a sequence, as a tuple: ``itemgetter``
    in C, one call per person instead of a Python loop over its keypoints."""
    if len(indices) == 1:
        index = indices[0]
        return lambda items: (items[index],)
    return itemgetter(*indices)


def pair_layout(shapes: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(link, a candidate, b candidate) of every pair of the (N_a, N_b) tables ``shapes``, listed
    link by link in row-major order: the order of the tables' entries one after another."""
    counts = np.array(shapes, dtype=np.int64).reshape(-1, 2)
    sizes = counts[:, 0] * counts[:, 1]
    links = np.repeat(np.arange(len(counts)), sizes)
    within = np.arange(len(links)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    rows, cols = np.divmod(within, np.maximum(counts[:, 1], 1)[links])
    return links, rows, cols


def assign_links(score_tables: Sequence[np.ndarray], params: DecodeParams) -> list[list[Connection]]:
    """Per link, greedily pair candidates by descending PAF score, each candidate at most once.

    ``score_tables[l]`` is the (N_a, N_b) table of link ``l``; scores are compared in float64
    whatever the table's type, so both decoders apply the threshold alike.
    """
    tables = [np.asarray(table, dtype=np.float64) for table in score_tables]
    if not tables:
        return []
    shapes = [table.shape for table in tables]
    scores = np.concatenate([table.reshape(-1) for table in tables])
    return assign_pairs(scores, *pair_layout(shapes), shapes, params)


def assign_pairs(
    scores: np.ndarray,
    links: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    shapes: Sequence[tuple[int, int]],
    params: DecodeParams,
) -> list[list[Connection]]:
    """``assign_links`` on pairs listed as ``pair_layout`` lists them. The pairs above the threshold
    of all links are ranked together (by link, score descending, then a, then b), and one compiled
    walk over them takes the greedy choices (``linking.walk_greedily``)."""
    valid = np.flatnonzero(scores > params.link_threshold)
    links, rows, cols, scores = links[valid], rows[valid], cols[valid], scores[valid]
    order = np.lexsort((cols, rows, -scores, links))
    links, rows, cols, scores = links[order], rows[order], cols[order], scores[order]
    heights, widths = np.array(shapes, dtype=np.int64).reshape(-1, 2).T
    chosen = walk_greedily(links, rows, cols, np.ascontiguousarray(heights), np.ascontiguousarray(widths))
    taken = zip(rows[chosen].tolist(), cols[chosen].tolist(), scores[chosen].tolist(), strict=True)
    return split_by_counts(list(taken), np.bincount(links[chosen], minlength=len(shapes)).tolist())


def assemble_people(
    candidates: Sequence[np.ndarray],
    connections: Sequence[Sequence[Connection]],
    topology: Topology,
    params: DecodeParams,
) -> list[Pose]:
    """Grow people from the connections, link by link in topology order; see docs/decoding.md.

    ``candidates[k]`` is the (N_k, 3) array of keypoint ``k``'s candidates: rows of refined
    ``[y, x, score]`` in map pixels, indexed by candidate id.
    """
    if len(candidates) != topology.num_keypoints or len(connections) != topology.num_links:
        raise ValueError(
            f"assembly needs {topology.num_keypoints} candidate lists and {topology.num_links} connection lists, "
            f"got {len(candidates)} and {len(connections)}"
        )
    tables = [np.asarray(c, dtype=np.float64).reshape(-1, 3) for c in candidates]
    return assemble_table(np.concatenate(tables), [len(t) for t in tables], connections, topology, params)


def assemble_table(
    table: np.ndarray,
    counts: Sequence[int],
    connections: Sequence[Sequence[Connection]],
    topology: Topology,
    params: DecodeParams,
) -> list[Pose]:
    """``assemble_people`` with all candidates in one (N, 3) table, keypoint by keypoint (``counts``)."""
    slots, masks, links = _grow(counts, connections, topology, params)
    return _finish(slots, masks, links, table, counts, topology, params) if slots else []


def _grow(
    counts: Sequence[int], connections: Sequence[Sequence[Connection]], topology: Topology, params: DecodeParams
) -> tuple[list[list[int]], list[int], list[dict[int, float]]]:
    """The walk over the connections: each person still standing at the end as its candidate id per
    keypoint (-1 = empty), the bit mask of the keypoints it holds (0 once merged away, so an overlap
    test is one AND) and its links' scores, in creation order."""
    empty = [-1] * topology.num_keypoints
    slots: list[list[int]] = []
    masks: list[int] = []
    links: list[dict[int, float]] = []
    owner = [[-1] * count for count in counts]  # the person holding each candidate
    for link, ((a, b), chosen) in enumerate(zip(topology.links, connections, strict=True)):
        owner_a, owner_b, bit_a, bit_b = owner[a], owner[b], 1 << a, 1 << b
        for i, j, score in chosen:
            holder_a, holder_b = owner_a[i], owner_b[j]
            if holder_a < 0 and holder_b < 0:
                owner_a[i] = owner_b[j] = len(slots)
                person = empty.copy()
                person[a], person[b] = i, j
                slots.append(person)
                masks.append(bit_a | bit_b)
                links.append({link: score})
            elif holder_b < 0:
                if not masks[holder_a] & bit_b:
                    slots[holder_a][b], owner_b[j] = j, holder_a
                    masks[holder_a] |= bit_b
                    links[holder_a][link] = score
            elif holder_a < 0:
                if not masks[holder_b] & bit_a:
                    slots[holder_b][a], owner_a[i] = i, holder_b
                    masks[holder_b] |= bit_a
                    links[holder_b][link] = score
            elif holder_a == holder_b:
                links[holder_a][link] = score
            elif not masks[holder_a] & masks[holder_b]:
                kept = slots[holder_a]
                for keypoint, candidate in enumerate(slots[holder_b]):
                    if candidate >= 0:
                        kept[keypoint] = candidate
                        owner[keypoint][candidate] = holder_a
                masks[holder_a] |= masks[holder_b]
                masks[holder_b] = 0
                links[holder_a].update(links[holder_b])
                links[holder_a][link] = score
    if params.min_keypoints <= 1:  # lone candidates are people only when one keypoint is enough
        for keypoint, keypoint_owners in enumerate(owner):
            for candidate, holder in enumerate(keypoint_owners):
                if holder < 0:
                    person = empty.copy()
                    person[keypoint] = candidate
                    slots.append(person)
                    masks.append(1 << keypoint)
                    links.append({})
    standing = [index for index, mask in enumerate(masks) if mask]
    return [slots[i] for i in standing], [masks[i] for i in standing], [links[i] for i in standing]


def _finish(
    slots: list[list[int]],
    masks: list[int],
    links: list[dict[int, float]],
    table: np.ndarray,
    counts: Sequence[int],
    topology: Topology,
    params: DecodeParams,
) -> list[Pose]:
    """Score, filter, order, cap and number the people; build the shared Pose results. Every
    candidate's Keypoint is built at once, from C (tuple.__new__: NamedTuple's own __new__ is a
    Python function, twice as slow), and a person picks its own by table row. Scores are added left
    to right (``reduce``), as the CUDA kernel adds: Python 3.12's ``sum`` compensates rounding, which
    changes the last bit of a score and so the order of people with equal scores."""
    starts = [0, *accumulate(counts)][:-1]  # each keypoint's first row in the table
    ys, xs, scores = table.T.tolist()
    torso, built = topology.torso_masks, []
    for person, mask, held in zip(slots, masks, links, strict=True):
        present = [start + c for start, c in zip(starts, person, strict=True) if c >= 0]
        pick = gather(present)
        score = reduce(add, pick(scores)) / len(present)
        order = sorted(held)
        if order:
            score += reduce(add, map(held.__getitem__, order)) / len(order)
        if _kept(len(present), mask, score, torso, params):
            built.append((score, min(pick(xs)), pick, order))
    built.sort(key=lambda entry: (-entry[0], entry[1]))
    ids = [k for k, count in enumerate(counts) for _ in range(count)]
    names = [topology.keypoints[k] for k in ids]
    keypoints = list(map(tuple.__new__, repeat(Keypoint), zip(ids, names, xs, ys, scores, strict=True)))
    new_pose, people, ends = Pose._with_box, [], topology.links
    for number, (score, left, pick, order) in enumerate(built[: params.max_people]):
        person_ys = pick(ys)
        box = (left, min(person_ys), max(pick(xs)), max(person_ys))
        people.append(new_pose(number, pick(keypoints), tuple([ends[link] for link in order]), score, box))
    return people


def _kept(count: int, present: int, score: float, torso: tuple[int, int], params: DecodeParams) -> bool:
    """The person filter (DecodeParams): at least min_keypoints, and strong enough or complete with a torso."""
    if count < params.min_keypoints:
        return False
    if not score < params.min_pose_score:
        return True
    neck, hips = torso
    has_torso = (present & neck) == neck and (hips == 0 or present & hips != 0)
    complete = params.complete_min_keypoints and count >= params.complete_min_keypoints
    return bool(complete and has_torso and not score < params.complete_min_score)
