"""Greedy link assignment and person assembly (steps 5 and 6 of docs/decoding.md).

Both decoders find candidates and PAF score tables their own way (NumPy or CUDA) and hand
them here, so the rules that turn them into people exist once and give the same people.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import accumulate, repeat
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

import numpy as np

from ros2_posenet.decode.growth import grow_people, rate_people
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
    return assign_pairs(scores, *pair_layout(shapes), shapes, params).per_link(len(tables))


class Chosen(NamedTuple):
    """The chosen connections of all links, link by link, each link's in assignment order: link,
    candidate of its keypoint a, of its keypoint b, PAF score."""

    links: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray

    @staticmethod
    def of(connections: Sequence[Sequence[Connection]]) -> Chosen:
        """The per-link lists of ``assign_links`` as one set of arrays."""
        taken = [connection for chosen in connections for connection in chosen]
        links = np.repeat(np.arange(len(connections)), [len(chosen) for chosen in connections])
        rows, cols, scores = zip(*taken, strict=True) if taken else ((), (), ())
        return Chosen(links, np.asarray(rows, np.int64), np.asarray(cols, np.int64), np.asarray(scores, np.float64))

    def per_link(self, num_links: int) -> list[list[Connection]]:
        """As ``assign_links`` gives them: per link, its (a, b, score) in assignment order."""
        taken = zip(self.rows.tolist(), self.cols.tolist(), self.scores.tolist(), strict=True)
        return split_by_counts(list(taken), np.bincount(self.links, minlength=num_links).tolist())


def assign_pairs(
    scores: np.ndarray,
    links: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    shapes: Sequence[tuple[int, int]],
    params: DecodeParams,
) -> Chosen:
    """``assign_links`` on pairs listed as ``pair_layout`` lists them. The pairs above the threshold
    of all links are ranked together (by link, score descending, then a, then b), and one compiled
    walk over them takes the greedy choices (``linking.walk_greedily``)."""
    valid = np.flatnonzero(scores > params.link_threshold)
    links, rows, cols, scores = links[valid], rows[valid], cols[valid], scores[valid]
    order = np.lexsort((cols, rows, -scores, links))
    links, rows, cols, scores = links[order], rows[order], cols[order], scores[order]
    heights, widths = np.array(shapes, dtype=np.int64).reshape(-1, 2).T
    chosen = walk_greedily(links, rows, cols, np.ascontiguousarray(heights), np.ascontiguousarray(widths))
    return Chosen(links[chosen], rows[chosen], cols[chosen], scores[chosen])


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
    return assemble_table(np.concatenate(tables), [len(t) for t in tables], Chosen.of(connections), topology, params)


def assemble_table(
    table: np.ndarray, counts: Sequence[int], chosen: Chosen, topology: Topology, params: DecodeParams
) -> list[Pose]:
    """``assemble_people`` with all candidates in one (N, 3) table, keypoint by keypoint (``counts``),
    and the connections as one ``Chosen``. The people are grown and rated by compiled loops
    (``growth``); here they are ordered (by score, descending, then leftmost x), capped and numbered,
    and the shared Pose results built. Every candidate's Keypoint is built at once, from C
    (tuple.__new__: NamedTuple's own __new__ is a Python function, twice as slow), and a person picks
    its own by table row."""
    per_keypoint = np.array(counts, dtype=np.int64)
    first = np.concatenate(([0], np.cumsum(per_keypoint)))
    ends = pairs_array(topology.links)
    slots, joined, link_scores = grow_people(
        first, ends, chosen.links, chosen.rows, chosen.cols, chosen.scores, params.min_keypoints <= 1
    )
    if not len(slots):
        return []
    table = np.ascontiguousarray(table, dtype=np.float64)
    ys, xs, scores = (np.ascontiguousarray(column) for column in table.T)
    neck, hips = _torso(topology.torso_masks)
    rated, lefts, kept = rate_people(
        slots, joined, link_scores, first, scores, xs, neck, hips,
        params.min_keypoints, params.min_pose_score, params.complete_min_keypoints, params.complete_min_score,
    )  # fmt: skip
    rated_list, left_list = rated.tolist(), lefts.tolist()
    order = sorted(np.flatnonzero(kept).tolist(), key=lambda person: (-rated_list[person], left_list[person]))
    ids = np.repeat(np.arange(len(counts)), per_keypoint).tolist()
    names = [topology.keypoints[k] for k in ids]
    y_list, x_list = ys.tolist(), xs.tolist()
    keypoints = list(
        map(tuple.__new__, repeat(Keypoint), zip(ids, names, x_list, y_list, scores.tolist(), strict=True))
    )
    starts, links, new_pose, people = first[:-1].tolist(), topology.links, Pose._with_box, []
    for number, person in enumerate(order[: params.max_people]):
        pick = gather([start + c for start, c in zip(starts, slots[person].tolist(), strict=True) if c >= 0])
        person_xs, person_ys = pick(x_list), pick(y_list)
        box = (left_list[person], min(person_ys), max(person_xs), max(person_ys))
        held = tuple([links[link] for link in np.flatnonzero(joined[person]).tolist()])
        people.append(new_pose(number, pick(keypoints), held, rated_list[person], box))
    return people


@lru_cache(maxsize=64)
def pairs_array(pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """A topology's (n, 2) pairs (links, PAF channels) as one int64 array, made once per topology."""
    array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    array.flags.writeable = False
    return array


@lru_cache(maxsize=64)
def _torso(masks: tuple[int, int]) -> tuple[int, np.ndarray]:
    """``Topology.torso_masks`` as the neck's keypoint id (-1: no torso needed) and the hips' ids."""
    neck, hips = masks
    ids = np.array([k for k in range(hips.bit_length()) if hips >> k & 1], dtype=np.int64)
    ids.flags.writeable = False
    return (neck.bit_length() - 1 if neck else -1), ids
