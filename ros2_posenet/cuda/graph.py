"""Replay a fixed sequence of launches on a pycuda stream as one CUDA graph.

pycuda has no graph API, so capture and replay go through NVIDIA's cuda-bindings 12 or newer
(``pip install cuda-bindings``, the major version of the CUDA driver: 12 on JetPack 6, 13 on
current x86 drivers). A graph bakes in every launch's arguments, so it is keyed by whatever the
caller's arguments depend on; it is captured only when the same key comes twice in a row, so
that callers whose pointers change every time never pay for captures they cannot reuse. Without
cuda-bindings, or when the driver refuses, the launches simply run one by one (logged once).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Hashable
from types import ModuleType
from typing import Any

from ros2_posenet.errors import first_line, import_optional

LOG = logging.getLogger("ros2_posenet")
CUDA_BINDINGS_HINT = "pip install cuda-bindings (its major version = the CUDA driver's: 12 on JetPack 6)"


def import_cuda_driver() -> ModuleType:
    """``cuda.bindings.driver``, or a one-line BackendUnavailableError saying what to install."""
    return import_optional("cuda.bindings.driver", f"cuda-bindings is not installed: {CUDA_BINDINGS_HINT}")


@functools.cache
def _usable_driver() -> ModuleType | None:
    """``cuda.bindings.driver`` if it can be used here, else None; the reason is logged once."""
    try:
        return import_cuda_driver()
    except Exception as error:  # not installed, or bindings that do not fit this driver
        LOG.info("%s; decoding without CUDA graphs", first_line(error))
        return None


def graph_launcher(executable_handle: int, stream_handle: int) -> Callable[[], None] | None:
    """A call that launches an instantiated graph (a ``cudaGraphExec_t`` handle, such as torch's
    ``CUDAGraph.raw_cuda_graph_exec()``) on a stream straight through the driver, or None without
    usable cuda-bindings. Call it with the stream's context current."""
    driver = _usable_driver()
    if driver is None:
        return None
    executable, stream = driver.CUgraphExec(executable_handle), driver.CUstream(stream_handle)
    return lambda: checked(driver, driver.cuGraphLaunch(executable, stream))


def checked(driver: ModuleType, result: tuple) -> Any:
    """The value of a cuda-bindings ``(CUresult, value...)`` tuple; RuntimeError when not CUDA_SUCCESS."""
    error, *values = result
    if error != driver.CUresult.CUDA_SUCCESS:
        _, name = driver.cuGetErrorName(error)
        raise RuntimeError(name.decode() if isinstance(name, bytes) else str(error))
    return values[0] if values else None


class StreamGraph:
    """One captured graph of the launches ``run`` is given, replayed while their key stays the same.

    Call ``run`` with the stream's context current. ``reset`` drops the graph: call it when a
    buffer the launches use is freed. ``captures`` and ``replays`` count what happened. A graph
    captured elsewhere (torch's network) can be the last step of ours (``run``'s ``then``): one
    launch a frame instead of one per piece, each of which costs tens of microseconds of host time.
    """

    def __init__(self, stream_handle: int, enabled: bool = True) -> None:
        self._driver = _usable_driver() if enabled else None
        self._stream = self._driver.CUstream(stream_handle) if self._driver else None
        self._graph: tuple[Any, Any] | None = None  # (graph, executable)
        self._key: Hashable = None
        self._last_key: Hashable = None
        self.capturing = False  # True while ``launch`` runs into a capture
        self.captures = 0
        self.replays = 0

    @property
    def enabled(self) -> bool:
        return self._driver is not None

    def run(self, key: Hashable, launch: Callable[[], None], then: int | None = None) -> None:
        """Enqueue ``launch``'s work on the stream: replayed from the graph for a repeated ``key``.

        ``then``: a ``cudaGraph_t`` handle that the graph runs after ``launch``'s work (copied into it
        at capture; it must outlive our graph). Outside a capture (``capturing`` False), ``launch``
        must do that work itself; a graph launch cannot be captured.
        """
        if self._driver is not None and self._graph is not None and key == self._key:
            self._check(self._driver.cuGraphLaunch(self._graph[1], self._stream))
            self.replays += 1
            return
        repeated, self._last_key = key == self._last_key, key
        if self._driver is None or not repeated:
            launch()
            return
        self.reset()
        try:
            self._graph = self._capture(launch, then)
        except Exception as error:  # a driver error, or bindings older than 12 (other signatures)
            LOG.warning("CUDA graph capture failed (%s); decoding without CUDA graphs", first_line(error))
            self._driver = None
            launch()
            return
        self._key = key
        self.captures += 1
        self._check(self._driver.cuGraphLaunch(self._graph[1], self._stream))

    def _capture(self, launch: Callable[[], None], then: int | None) -> tuple[Any, Any]:
        driver = self._driver
        assert driver is not None  # run() captures only with a usable driver
        mode = driver.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL
        self._check(driver.cuStreamBeginCapture(self._stream, mode))
        self.capturing = True
        try:
            launch()
        finally:
            self.capturing = False
            graph = self._check(driver.cuStreamEndCapture(self._stream))
        if then is not None:
            graph = self._followed_by(graph, then)
        try:
            return graph, self._check(driver.cuGraphInstantiate(graph, 0))
        except Exception:
            driver.cuGraphDestroy(graph)
            raise

    def _followed_by(self, captured: Any, then: int) -> Any:
        """A new graph of two child nodes, ``captured`` then ``then`` (both copied in); ``captured`` is destroyed."""
        driver = self._driver
        assert driver is not None
        try:
            graph = self._check(driver.cuGraphCreate(0))
            try:
                first = self._check(driver.cuGraphAddChildGraphNode(graph, None, 0, captured))
                self._check(driver.cuGraphAddChildGraphNode(graph, [first], 1, driver.CUgraph(then)))
            except Exception:
                driver.cuGraphDestroy(graph)
                raise
        finally:
            driver.cuGraphDestroy(captured)
        return graph

    def reset(self) -> None:
        """Drop the captured graph (its buffers are about to change)."""
        if self._graph is not None and self._driver is not None:
            graph, executable = self._graph
            self._driver.cuGraphExecDestroy(executable)
            self._driver.cuGraphDestroy(graph)
        self._graph = self._key = None

    def _check(self, result: tuple) -> Any:
        assert self._driver is not None  # only called on results of driver calls
        return checked(self._driver, result)
