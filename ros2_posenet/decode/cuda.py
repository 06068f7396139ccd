"""The CUDA decoder: every step of docs/decoding.md on the GPU, two small copies back.

Three kernel launches (``cuda/kernels/decode.cu``): peaks + refinement (one block per keypoint type),
PAF line integrals + greedy assignment (one block per link), assembly + scoring + ordering (one
block). The candidates are copied back as soon as the first kernel is done, on a stream of their
own so that linking does not wait for the copy, and the host turns them into ``Keypoint`` objects
(the bulk of its work) while the GPU links and assembles; the second copy brings the people as
lists of candidate numbers with their boxes, scores and links.
When a frame's assembly state does not fit the kernel's shared memory (hundreds of fragments),
the shared ``assemble_people`` runs on the copied connections instead: the same people either
way. Maps may be torch CUDA tensors, CuPy arrays, pycuda GPUArrays (anything with
``__cuda_array_interface__``) or host NumPy arrays (uploaded first).
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np

from ros2_posenet.cuda.context import GpuContext, LastView, compile_kernels, import_pycuda
from ros2_posenet.cuda.graph import StreamGraph
from ros2_posenet.decode.assembly import Connection, assemble_people, assign_links, gather
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import Keypoint, PixelMapping, Pose
from ros2_posenet.topology import Topology

MAP_PIXELS = PixelMapping(1.0, 0.0, 1.0, 0.0)  # people stay in map pixels
DEFAULT_PARAMS = DecodeParams()
PEAK_THREADS = 1024
LINK_THREADS = 256
ASSEMBLY_THREADS = 1024  # a warp per person when scoring: 32 people at once
MADE_CAP = 512  # people made from connections that the assembly kernel can hold (decode.cu)
# The assembly kernel's outputs, in its parameter order.
PEOPLE_REGIONS = ("people", "row_candidates")
PERSON_FIELDS = 7  # per finished person: end of its rows, link bits, score, box (decode.cu)


class _Layout:
    """Where each region of the packed result buffer starts (each 8-byte aligned). The candidates
    (counts, then rows) come first: they are copied back on their own, before the rest."""

    def __init__(self, keypoints: int, links: int, max_parts: int, max_people: int) -> None:
        self.links = max(links, 1)
        regions = (
            ("counts", np.int32, keypoints),  # candidates per keypoint type
            ("parts", np.float64, keypoints * max_parts * 3),  # per keypoint and candidate: y, x, score
            ("connection_counts", np.int32, self.links),
            ("header", np.int32, 2),  # people, fell back to Python assembly
            ("scores", np.float64, self.links * max_parts),  # per link, the chosen connections' scores
            ("pairs", np.int32, self.links * max_parts * 2),  # per link, the chosen (i, j)
            ("people", np.float64, max_people * PERSON_FIELDS),  # rows end, link bits, score, box
            ("row_candidates", np.int32, max_people * keypoints),  # each row's candidate, numbered overall
        )
        self.regions: dict[str, tuple[int, type, int]] = {}
        offset = 0
        for name, dtype, count in regions:
            offset += -offset % 8
            self.regions[name] = (offset, dtype, count)
            offset += count * np.dtype(dtype).itemsize
        self.size = offset
        self.candidates_end = self.offset("connection_counts")

    def offset(self, name: str) -> int:
        return self.regions[name][0]

    def views(self, buffer: np.ndarray) -> dict[str, np.ndarray]:
        """Typed views of each region of ``buffer`` (the host copy), made once per allocation."""
        return {
            name: buffer[offset : offset + count * np.dtype(dtype).itemsize].view(dtype)
            for name, (offset, dtype, count) in self.regions.items()
        }


class CudaDecoder:
    """Decodes maps of one topology on one GPU; buffers follow the map size and the parameters.
    One decode at a time per instance (the buffers are reused): give each thread its own.

    ``gpu_steps`` says how many steps of docs/decoding.md run on the GPU: 6 (default) all of them;
    5 leaves assembly to the shared Python ``assemble_people``; 4 also leaves it the assignment
    (``assign_links`` over the copied score tables). 5 and 4 exist to measure the choice (see
    benchmarks/gpu_decode.py). ``stream`` (pycuda) orders the kernels after whatever produced the
    maps on it; host maps are uploaded on it. ``fell_back`` tells whether the last ``decode`` had
    to assemble in Python. ``graphs``: when the same maps (pointers, size, parameters) come again,
    as from an engine's fixed output buffers, the launches are replayed as two CUDA graphs
    (``cuda.graph.StreamGraph``; needs cuda-bindings), one each side of the candidates' copy.
    """

    def __init__(
        self,
        topology: Topology,
        device_index: int = 0,
        gpu_steps: int = 6,
        stream: Any = None,
        graphs: bool = True,
    ) -> None:
        if gpu_steps not in (4, 5, 6):
            raise ValueError(f"gpu_steps must be 4, 5 or 6, got {gpu_steps!r}")
        self.topology = topology
        self.gpu_steps = gpu_steps
        self.fell_back = False
        self.gpu = GpuContext.get(device_index)
        cuda = self.cuda = import_pycuda()
        with self.gpu:
            module = compile_kernels("decode")
            self._find_peaks = module.get_function("find_peaks")
            self._find_peaks.prepare("PiifiidPPP")
            self._score_links = module.get_function("score_links")
            self._score_links.prepare("PiiPPPPiidddiPPPPPP")
            self._assemble = module.get_function("assemble")
            self._assemble.prepare("iiiPPPPPP" + "ididIIi" + "dddd" + "P" * 8)  # 5 scratch arrays, header, 2 regions
            self.stream = stream or cuda.Stream()
            self.graphs = tuple(StreamGraph(self.stream.handle, enabled=graphs) for _ in range(2))
            self._copy_stream = cuda.Stream()  # the candidates' copy, beside the linking kernels
            self._peaks_found, self._candidates_copied = (cuda.Event(cuda.event_flags.DISABLE_TIMING) for _ in range(2))
            links = np.asarray(topology.links, dtype=np.int32).reshape(-1)
            self._links = cuda.to_device(links if links.size else np.zeros(2, np.int32))
            channels = np.asarray(topology.paf_channels, dtype=np.int32).reshape(-1)
            self._paf_channels = cuda.to_device(channels if channels.size else np.zeros(2, np.int32))
        self._shape: tuple[int, int, int, int, int] | None = None
        self._maps: dict[str, tuple[Any, int]] = {}  # upload buffers for host maps
        self._views = {"cmap": LastView(), "paf": LastView()}  # an engine's output tensors, every frame
        self._link_sets: dict[int, tuple[tuple[int, int], ...]] = {}
        self._names = np.array(topology.keypoints, dtype=object)  # keypoint names, indexable by id arrays
        self._mapping: tuple[PixelMapping | None, np.ndarray, np.ndarray] = (None, np.ones(3), np.zeros(3))
        self.closed = False

    @property
    def _max_parts(self) -> int:
        """``max_parts`` of the buffers allocated for the last frame."""
        assert self._shape is not None, "no frame decoded yet"
        return self._shape[2]

    def close(self) -> None:
        """Free the device memory and the CUDA graphs now, not when the garbage collector gets to them."""
        if self.closed:
            return
        with self.gpu:
            self.stream.synchronize()  # it waits for the candidates' copy too
            for graph in self.graphs:
                graph.reset()
            buffers = [self._links, self._paf_channels, *(buffer for buffer, _ in self._maps.values())]
            if self._shape is not None:
                buffers += [self._result, self._scratch, self._tables, self._kept, self._order, *self._entries]
            for buffer in buffers:
                buffer.free()
        self._maps.clear()
        self._views = {"cmap": LastView(), "paf": LastView()}
        self._shape = None
        self.closed = True

    def _allocate(self, height: int, width: int, max_parts: int, max_people: int) -> None:
        """(Re)allocate scratch and result buffers when the map size or the parameters change."""
        shape = (height, width, max_parts, max_people, self.gpu_steps)
        if self._shape == shape:
            return
        for graph in self.graphs:
            graph.reset()  # its launches use the buffers about to be replaced
        cuda, k = self.cuda, self.topology.num_keypoints
        layout = self._layout = _Layout(k, self.topology.num_links, max_parts, max_people)
        self._result = cuda.mem_alloc(layout.size)
        self._host = cuda.pagelocked_empty(layout.size, np.uint8)
        self._view = layout.views(self._host)
        self._parts = self._view["parts"].reshape(k, max_parts, 3)
        self._candidate_keypoint = np.repeat(np.arange(k), max_parts).reshape(k, max_parts)
        self._candidate_number = np.arange(max_parts)
        self._scratch = cuda.mem_alloc(k * height * width * 4)
        pair_slots = layout.links * max_parts * max_parts
        self._tables = cuda.mem_alloc(pair_slots * 8)
        self._kept = cuda.mem_alloc(pair_slots * 4)
        self._order = cuda.mem_alloc(pair_slots * 4)
        self._host_tables = cuda.pagelocked_empty(pair_slots if self.gpu_steps == 4 else 1, np.float64)
        entries = MADE_CAP + k * max_parts
        self._entries = (
            cuda.mem_alloc(entries * 8),  # score
            cuda.mem_alloc(entries * 8),  # leftmost x
            cuda.mem_alloc(entries * 4),  # creation-order key
            cuda.mem_alloc(entries),  # keypoint count
            cuda.mem_alloc(MADE_CAP * 32 * 8),  # each made person's link scores by link
        )
        self._shape = shape

    def _device_map(self, name: str, array: Any, channels: int) -> tuple[int, tuple[int, int]]:
        """Device pointer and (h, w) of a ``[C, h, w]`` (or ``[1, C, h, w]``) float32 map."""
        view = self._views[name].of(array)
        if view is None:
            host = np.ascontiguousarray(array, dtype=np.float32)
            shape, dtype = host.shape, host.dtype
        else:
            shape, dtype = view.shape, view.dtype
        if len(shape) == 4 and shape[0] == 1:
            shape = shape[1:]
        if len(shape) != 3 or shape[0] != channels or dtype != np.float32:
            raise ValueError(f"{name} must be float32 [{channels}, h, w], got {dtype} {tuple(shape)}")
        if view is not None:
            return view.pointer, shape[1:]
        buffer = self._maps.get(name)
        if buffer is None or buffer[1] != host.nbytes:
            buffer = self._maps[name] = (self.cuda.mem_alloc(host.nbytes), host.nbytes)
        self.cuda.memcpy_htod_async(buffer[0], host, self.stream)
        return int(buffer[0]), shape[1:]

    def decode(
        self, cmap: Any, paf: Any, params: DecodeParams = DEFAULT_PARAMS, to_image: PixelMapping = MAP_PIXELS
    ) -> list[Pose]:
        """``cmap [K, h, w]`` and ``paf [2L, h, w]`` float32 (device or host) -> people in map pixels,
        or in the pixels ``to_image`` maps them to (the assembly kernel moves rows and boxes)."""
        self.enqueue(cmap, paf, params, to_image)
        with self.gpu:
            if self.gpu_steps == 6:
                self._candidates_copied.synchronize()
                keypoints = self._candidate_keypoints(to_image)  # while the GPU links and assembles
            self.stream.synchronize()
        count, fell_back = self._view["header"].tolist()
        self.fell_back = self.gpu_steps == 6 and bool(fell_back)
        if self.gpu_steps == 6 and not self.fell_back:
            return self._people(count, keypoints)
        poses = assemble_people(self._candidates(), self._connections(params), self.topology, params)
        return poses if to_image == MAP_PIXELS else [pose.map_points(to_image) for pose in poses]

    def enqueue(
        self, cmap: Any, paf: Any, params: DecodeParams = DEFAULT_PARAMS, to_image: PixelMapping = MAP_PIXELS
    ) -> None:
        """Queue the kernels and the copy of their results on ``stream`` without waiting for them."""
        if self.closed:
            raise RuntimeError("this CudaDecoder is closed")
        topology = self.topology
        k, links = topology.num_keypoints, topology.num_links
        with self.gpu:
            cmap_pointer, size = self._device_map("cmap", cmap, k)
            paf_pointer, paf_size = self._device_map("paf", paf, 2 * links)
            if size != paf_size:
                raise ValueError(f"cmap maps are {size} but paf maps are {paf_size}")
            height, width = size
            self._allocate(height, width, params.max_parts, params.max_people)
            key = (cmap_pointer, paf_pointer, height, width, params, to_image)
            candidates, people = self.graphs
            candidates.run(key, lambda: self._find_candidates(cmap_pointer, height, width, params))
            self._copy_candidates()
            people.run(key, lambda: self._link_and_assemble(paf_pointer, height, width, params, to_image))
            self.stream.wait_for_event(self._candidates_copied)  # what follows on the stream sees all results

    def _copy_candidates(self) -> None:
        """Copy the candidates back on a stream of their own, so that the linking kernels start as
        soon as the peaks are found instead of after the copy (their gap 12.4 -> 2.3 us on the H200)."""
        self._peaks_found.record(self.stream)
        self._copy_stream.wait_for_event(self._peaks_found)
        end = self._layout.candidates_end
        self.cuda.memcpy_dtoh_async(self._host[:end], self._result, self._copy_stream)
        self._candidates_copied.record(self._copy_stream)

    def _pointer(self, region: str) -> int:
        return int(self._result) + self._layout.offset(region)

    def _find_candidates(self, cmap_pointer: int, height: int, width: int, params: DecodeParams) -> None:
        """Steps 1-3 (a graph when repeated)."""
        k, stream = self.topology.num_keypoints, self.stream
        self._find_peaks.prepared_async_call(
            (k, 1),
            (PEAK_THREADS, 1, 1),
            stream,
            cmap_pointer,
            height,
            width,
            np.float32(params.keypoint_threshold),
            params.max_parts,
            params.refine_window // 2,
            params.refine_sigma,
            self._scratch,
            self._pointer("counts"),
            self._pointer("parts"),
        )

    def _link_and_assemble(
        self, paf_pointer: int, height: int, width: int, params: DecodeParams, to_image: PixelMapping
    ) -> None:
        """Steps 4-6 and the copy of everything after the candidates (a graph when repeated)."""
        k, links, stream = self.topology.num_keypoints, self.topology.num_links, self.stream
        counts, parts, connection_counts = (self._pointer(name) for name in ("counts", "parts", "connection_counts"))
        if links:
            self._score_links.prepared_async_call(
                (links, 1),
                (LINK_THREADS, 1, 1),
                stream,
                paf_pointer,
                height,
                width,
                self._links,
                self._paf_channels,
                counts,
                parts,
                params.max_parts,
                params.link_samples,
                float(params.link_threshold),
                float(params.sample_threshold),
                float(params.min_aligned_fraction),
                int(params.distance_prior),
                self._tables,
                self._kept,
                self._order,
                connection_counts,
                self._pointer("scores"),
                self._pointer("pairs"),
            )
        if self.gpu_steps == 6:
            self._assemble.prepared_async_call(
                (1, 1),
                (ASSEMBLY_THREADS, 1, 1),
                stream,
                k,
                links,
                params.max_parts,
                self._links,
                counts,
                parts,
                connection_counts,
                self._pointer("scores"),
                self._pointer("pairs"),
                params.min_keypoints,
                float(params.min_pose_score),
                params.complete_min_keypoints,
                float(params.complete_min_score),
                *self.topology.torso_masks,
                params.max_people,
                *map(float, to_image),
                *self._entries,
                self._pointer("header"),
                *map(self._pointer, PEOPLE_REGIONS),
            )
        start = self._layout.candidates_end
        self.cuda.memcpy_dtoh_async(self._host[start:], self._pointer("connection_counts"), stream)
        if self.gpu_steps == 4 and links:
            self.cuda.memcpy_dtoh_async(self._host_tables, self._tables, stream)

    def _candidates(self) -> list[np.ndarray]:
        """Per keypoint type, the ``[n, 3]`` rows (refined y, refined x, peak score) of its candidates."""
        return [self._parts[keypoint, :count].copy() for keypoint, count in enumerate(self._view["counts"].tolist())]

    def _connections(self, params: DecodeParams) -> list[list[Connection]]:
        """Per link, the chosen (i, j, score) in assignment order (assigned on the host for gpu_steps 4)."""
        topology, max_parts = self.topology, self._max_parts
        if self.gpu_steps == 4:
            counts = self._view["counts"].tolist()
            tables = self._host_tables.reshape(self._layout.links, max_parts * max_parts)
            score_tables = [
                tables[link, : counts[a] * counts[b]].reshape(counts[a], counts[b])
                for link, (a, b) in enumerate(topology.links)
            ]
            return assign_links(score_tables, params)
        scores = self._view["scores"].reshape(-1, max_parts)
        pairs = self._view["pairs"].reshape(-1, max_parts, 2)
        return [
            list(zip(*pairs[link, :count].T.tolist(), scores[link, :count].tolist(), strict=True)) if count else []
            for link, count in enumerate(self._view["connection_counts"][: topology.num_links].tolist())
        ]

    def _candidate_keypoints(self, to_image: PixelMapping) -> tuple[Keypoint, ...]:
        """A Keypoint for every candidate, keypoint by keypoint (the kernel numbers them so), moved
        by ``to_image`` with the same arithmetic as the kernel's boxes. Few NumPy calls: the host
        builds these while the GPU links and assembles, and is the slower of the two."""
        present = self._candidate_number < self._view["counts"][:, None]
        scale, offset = self._mapping_for(to_image)
        ys, xs, scores = (self._parts[present] * scale + offset).T.tolist()
        ids = self._candidate_keypoint[present]
        fields = (ids.tolist(), self._names[ids].tolist(), xs, ys, scores)
        # tuple.__new__ straight from C: NamedTuple's own __new__ is a Python function, twice as slow.
        return tuple(map(tuple.__new__, repeat(Keypoint), zip(*fields, strict=True)))

    def _mapping_for(self, to_image: PixelMapping) -> tuple[np.ndarray, np.ndarray]:
        """``to_image`` as (scale, offset) of ``[y, x, score]`` rows (the score kept), made once per mapping."""
        if self._mapping[0] != to_image:
            scale = np.array([to_image.scale_y, to_image.scale_x, 1.0])
            offset = np.array([to_image.offset_y, to_image.offset_x, 0.0])
            self._mapping = (to_image, scale, offset)
        return self._mapping[1], self._mapping[2]

    def _people(self, count: int, candidates: tuple[Keypoint, ...]) -> list[Pose]:
        """The Pose objects of the people the assembly kernel finished (ordered, numbered, cut): each
        a slice of its candidates' keypoints, gathered in one call, with the kernel's box."""
        if count == 0:
            return []
        fields = self._view["people"][: PERSON_FIELDS * count].reshape(count, PERSON_FIELDS).tolist()
        rows = self._view["row_candidates"][: int(fields[-1][0])].tolist()
        keypoints = gather(rows)(candidates)
        link_sets, new_pose, people, start = self._link_sets, Pose._with_box, [], 0
        for number, (row_end, link_bits, score, *box) in enumerate(fields):
            end, bits = int(row_end), int(link_bits)  # exact integers the kernel stored as doubles
            links = link_sets.get(bits) or self._links_of(bits)
            people.append(new_pose(number, keypoints[start:end], links, score, tuple(box)))
            start = end
        return people

    def _links_of(self, bits: int) -> tuple[tuple[int, int], ...]:
        """The topology links whose bits are set, in topology order (memoised: few distinct sets)."""
        links = self._link_sets.get(bits)
        if links is None:
            links = tuple(link for index, link in enumerate(self.topology.links) if bits >> index & 1)
            self._link_sets[bits] = links
        return links
