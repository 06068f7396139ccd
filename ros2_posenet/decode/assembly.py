"""Greedy link assignment and person assembly (steps 5 and 6 of docs/decoding.md).

Both decoders find candidates and PAF score tables their own way (NumPy or CUDA) and hand
them here, so the rules that turn them into people exist once and give the same people.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import Keypoint, Pose
from ros2_posenet.topology import Topology

Connection = tuple[int, int, float]
"""A chosen candidate pair of one link: (candidate id of keypoint a, of keypoint b, PAF score)."""


def assign_links(score_tables: Sequence[np.ndarray], params: DecodeParams) -> list[list[Connection]]:
    """Per link, greedily pair candidates by descending PAF score, each candidate at most once.

    ``score_tables[l]`` is the (N_a, N_b) table of link ``l``; scores are compared in float64
    whatever the table's type, so both decoders apply the threshold alike.
    """
    connections = []
    for table in score_tables:
        table = np.asarray(table, dtype=np.float64)
        rows, cols = np.nonzero(table > params.link_threshold)
        scores = table[rows, cols]
        order = np.lexsort((cols, rows, -scores))
        limit = min(table.shape)
        taken_a: set[int] = set()
        taken_b: set[int] = set()
        chosen: list[Connection] = []
        for i, j, score in zip(rows[order].tolist(), cols[order].tolist(), scores[order].tolist(), strict=True):
            if i in taken_a or j in taken_b:
                continue
            taken_a.add(i)
            taken_b.add(j)
            chosen.append((i, j, score))
            if len(chosen) == limit:
                break
        connections.append(chosen)
    return connections


NOBODY = -1  # owner of a candidate that no person holds yet


class _Person:
    """A person under assembly: candidate id per keypoint slot (-1 = empty) and its links."""

    def __init__(self, num_keypoints: int) -> None:
        self.slots = [-1] * num_keypoints
        self.links: dict[int, float] = {}

    def overlaps(self, other: _Person) -> bool:
        return any(a >= 0 and b >= 0 for a, b in zip(self.slots, other.slots, strict=True))


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
    rows = [np.asarray(c, dtype=np.float64).reshape(-1, 3).tolist() for c in candidates]
    people: list[_Person | None] = []
    owner: dict[tuple[int, int], int] = {}

    def live(person: int) -> _Person:
        """A person that still holds candidates (``owner`` never points at one merged away)."""
        found = people[person]
        assert found is not None
        return found

    def give(person: int, keypoint: int, candidate: int) -> None:
        live(person).slots[keypoint] = candidate
        owner[(keypoint, candidate)] = person

    for link, ((a, b), chosen) in enumerate(zip(topology.links, connections, strict=True)):
        for i, j, score in chosen:
            holder_a, holder_b = owner.get((a, i), NOBODY), owner.get((b, j), NOBODY)
            if holder_a == holder_b == NOBODY:
                people.append(_Person(topology.num_keypoints))
                give(len(people) - 1, a, i)
                give(len(people) - 1, b, j)
                live(len(people) - 1).links[link] = score
            elif holder_b == NOBODY:
                if live(holder_a).slots[b] < 0:
                    give(holder_a, b, j)
                    live(holder_a).links[link] = score
            elif holder_a == NOBODY:
                if live(holder_b).slots[a] < 0:
                    give(holder_b, a, i)
                    live(holder_b).links[link] = score
            elif holder_a == holder_b:
                live(holder_a).links[link] = score
            elif not live(holder_a).overlaps(live(holder_b)):
                absorbed = live(holder_b)
                people[holder_b] = None
                for keypoint, candidate in enumerate(absorbed.slots):
                    if candidate >= 0:
                        give(holder_a, keypoint, candidate)
                live(holder_a).links.update(absorbed.links)
                live(holder_a).links[link] = score

    for keypoint, keypoint_rows in enumerate(rows):
        for candidate in range(len(keypoint_rows)):
            if (keypoint, candidate) not in owner:
                people.append(_Person(topology.num_keypoints))
                give(len(people) - 1, keypoint, candidate)

    return _finish([p for p in people if p is not None], rows, topology, params)


def _sum_in_order(values: list[float]) -> float:
    """Left-to-right float addition, as the CUDA kernel adds: Python 3.12's ``sum`` compensates rounding,
    which changes the last bit of a score and so the order of people with equal scores."""
    total = 0.0
    for value in values:
        total += value
    return total


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


def _finish(
    people: list[_Person], rows: list[list[list[float]]], topology: Topology, params: DecodeParams
) -> list[Pose]:
    """Score, filter, order, cap and number the people; build the shared Pose results."""
    torso = topology.torso_masks
    built = []
    for person in people:
        keypoints = tuple(
            Keypoint(id=k, name=topology.keypoints[k], x=rows[k][c][1], y=rows[k][c][0], score=rows[k][c][2])
            for k, c in enumerate(person.slots)
            if c >= 0
        )
        link_scores = [person.links[link] for link in sorted(person.links)]
        score = _sum_in_order([k.score for k in keypoints]) / len(keypoints)
        if link_scores:
            score += _sum_in_order(link_scores) / len(link_scores)
        if not _kept(len(keypoints), sum(1 << k.id for k in keypoints), score, torso, params):
            continue
        links = tuple(topology.links[link] for link in sorted(person.links))
        built.append((score, min(k.x for k in keypoints), keypoints, links))
    built.sort(key=lambda entry: (-entry[0], entry[1]))
    return [
        Pose(id=number, keypoints=keypoints, links=links, score=score)
        for number, (score, _, keypoints, links) in enumerate(built[: params.max_people])
    ]
