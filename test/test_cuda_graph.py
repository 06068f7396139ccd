"""StreamGraph without a GPU: what CI can check (replays themselves are tested in test_gpu_decode.py)."""

from __future__ import annotations

import importlib.util

import pytest

from ros2_posenet.cuda.graph import StreamGraph, import_cuda_driver
from ros2_posenet.errors import BackendUnavailableError


def test_disabled_graphs_run_the_launches_every_time() -> None:
    graph, launches = StreamGraph(stream_handle=0, enabled=False), []
    for _ in range(3):
        graph.run(("same", "key"), lambda: launches.append(1))
    assert (len(launches), graph.captures, graph.replays, graph.enabled) == (3, 0, 0, False)


@pytest.mark.skipif(importlib.util.find_spec("cuda") is not None, reason="cuda-bindings is installed here")
def test_missing_cuda_bindings_is_one_line_saying_what_to_install() -> None:
    with pytest.raises(BackendUnavailableError, match=r"^cuda-bindings is not installed: pip install cuda-bindings"):
        import_cuda_driver()
    assert not StreamGraph(stream_handle=0).enabled


def test_without_graphs_a_following_graph_is_left_to_the_launch() -> None:
    """``then`` (a graph captured elsewhere) only joins our graph; outside a capture ``launch`` runs the
    work itself, told so by ``capturing``."""
    graph, seen = StreamGraph(stream_handle=0, enabled=False), []
    for _ in range(3):
        graph.run("key", lambda: seen.append(graph.capturing), then=1234)
    assert seen == [False, False, False] and graph.captures == 0
