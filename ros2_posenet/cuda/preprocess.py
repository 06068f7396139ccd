"""GPU preprocessing: the uint8 image goes up once, one kernel writes the engine's input.

Equals ``preprocess.Preprocessor`` (OpenCV INTER_LINEAR resize or letterbox, colour order,
normalisation, HWC -> NCHW) to within one grey level before normalisation, and returns the same
``InputTransform``, so keypoints map back to image pixels identically.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ros2_posenet.cuda.context import DeviceArray, GpuContext, LastView, compile_kernels, import_pycuda
from ros2_posenet.frame_buffer import FrameBuffer
from ros2_posenet.preprocess import InputTransform, Normalization, Preprocessor, to_three_channels, validate_image

BLOCK = (32, 8, 1)


class GpuPreprocessor:
    """Resize/letterbox + normalise on the GPU into a ``[1, 3, H, W]`` float32 device buffer.

    ``stream`` (a pycuda Stream) orders the upload and the kernel with the engine and decoder
    that share it.
    """

    def __init__(
        self,
        input_size: tuple[int, int],
        normalization: Normalization,
        letterbox: bool = False,
        device_index: int = 0,
        stream: Any = None,
    ) -> None:
        self.layout = Preprocessor(input_size, normalization, letterbox)  # placement rules, shared with the CPU
        self.normalization = normalization
        self.gpu = GpuContext.get(device_index)
        cuda = self.cuda = import_pycuda()
        with self.gpu:
            from pycuda.gpuarray import GPUArray

            self._kernel = compile_kernels("preprocess").get_function("preprocess")
            self._kernel.prepare("PiiiiPiiiiiiddffffffiii")
            self.stream = stream or cuda.Stream()
            width, height = input_size
            self.output = GPUArray((1, 3, height, width), np.float32)
        self._mean = np.asarray(normalization.mean, dtype=np.float32)
        self._inv_std = (1.0 / np.asarray(normalization.std, dtype=np.float32)).astype(np.float32)
        self._pad = np.clip(normalization.mean, 0, 255).astype(np.uint8).astype(np.int32)
        self._source: Any = None  # device copy of the image (pycuda)
        self._source_bytes = 0
        self._output = LastView()  # the engine's input tensor, every frame
        self._launch: tuple | None = None  # (key, transform, kernel launch) of the last frame
        self._frames = FrameBuffer(self._page_locked)

    def _page_locked(self, shape: tuple[int, int, int]) -> np.ndarray:
        with self.gpu:
            return self.cuda.pagelocked_empty(shape, np.uint8)

    def frame_buffer(self, height: int, width: int) -> np.ndarray:
        """A page-locked uint8 (height, width, 3) host array, the same for the same size: a frame
        written there goes up with one DMA that ``_upload`` only queues, so refill it once the
        stream has read it (``GpuPipeline.process`` waits for that before it returns)."""
        return self._frames.get(height, width)

    def __call__(self, image: np.ndarray, channel_order: str = "bgr", output: Any = None):
        """Upload ``image`` and fill ``output`` (default: ``self.output``); returns (output, transform).

        ``output`` may be any C-contiguous float32 ``[1, 3, H, W]`` device array (a torch tensor,
        a TensorRT input binding as GPUArray), so the engine reads the result in place.
        """
        target, transform, launch = self.stage(image, channel_order, output)
        with self.gpu:
            launch()
        return target, transform

    def stage(
        self, image: np.ndarray, channel_order: str = "bgr", output: Any = None
    ) -> tuple[Any, InputTransform, Any]:
        """``__call__`` up to the kernel: the upload is queued, the kernel's launch returned (the same
        object while nothing changes: a graph key) for the caller to run, or to capture with the
        network (``GpuPipeline``), with the context current."""
        validate_image(image)
        if channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        network_order = self.normalization.channel_order
        if image.ndim == 3 and image.shape[2] == 3:
            swap = channel_order != network_order
        else:  # grey or 4 channels: the rare case is converted on the host, like the CPU path
            image, swap = to_three_channels(image, channel_order, network_order), False
        target = self.output if output is None else output
        transform, launch = self._launch_for(image.shape[:2], swap, target)
        with self.gpu:
            self._upload(image)
        return target, transform, launch

    def _launch_for(self, size: tuple[int, int], swap: bool, target: Any) -> tuple[InputTransform, Any]:
        """The transform and the kernel's launch for a frame of ``size`` into ``target``,
        remembered while the image size, colour order and output stay the same (a camera's every
        frame): the placement and the arguments cost more than the kernel."""
        view = self._output.of(target)
        width, height = self.layout.input_width, self.layout.input_height
        if view is None or view.shape != (1, 3, height, width) or view.dtype != np.float32:
            raise ValueError(f"output must be a float32 [1, 3, {height}, {width}] GPU array")
        key = (size, swap, view.pointer)
        if self._launch is not None and self._launch[0] == key:
            return self._launch[1], self._launch[2]
        src_h, src_w = size
        transform = self.layout.transform_for(src_w, src_h)
        box = self._box(transform, src_w, src_h)
        grid = ((width + BLOCK[0] - 1) // BLOCK[0], (height + BLOCK[1] - 1) // BLOCK[1])
        launch = functools.partial(
            self._kernel.prepared_async_call,
            grid,
            BLOCK,
            self.stream,
            self._source_for(src_h * src_w * 3),
            src_h,
            src_w,
            src_w * 3,
            int(swap),
            view.pointer,
            height,
            width,
            *box,
            1.0 / (box[2] / src_w),  # OpenCV's own rounding of the scale
            1.0 / (box[3] / src_h),
            *self._mean.tolist(),
            *self._inv_std.tolist(),
            *self._pad.tolist(),
        )
        self._launch = (key, transform, launch)
        return transform, launch

    def _box(self, transform: InputTransform, src_w: int, src_h: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the resized image inside the network input, as the CPU path places it."""
        if not self.layout.letterbox:
            return 0, 0, self.layout.input_width, self.layout.input_height
        return (
            int(transform.pad_x),
            int(transform.pad_y),
            round(src_w * transform.scale_x),
            round(src_h * transform.scale_y),
        )

    def _source_for(self, nbytes: int) -> Any:
        """The device buffer the image goes to, (re)allocated for a new image size."""
        if self._source is None or self._source_bytes != nbytes:
            with self.gpu:
                if self._source is not None:
                    self.stream.synchronize()  # the old buffer may still be read
                    self._source.free()
                self._source = self.cuda.mem_alloc(nbytes)
            self._source_bytes = nbytes
        return self._source

    def _upload(self, image: np.ndarray) -> None:
        """Queue the copy of ``image`` to the device on the stream, straight from its own memory:
        the driver stages it through page-locked memory in pieces while the DMA runs (on the H200,
        0.035 ms a 640x480 frame less than our own page-locked copy followed by one DMA), and
        returns once it is staged. An image already in page-locked memory (``frame_buffer``) goes
        with one DMA and the call returns at once: it must stay as it is until the stream has read
        it, which the pipeline's ``process`` waits for before it returns."""
        image = np.ascontiguousarray(image)
        self.cuda.memcpy_htod_async(self._source_for(image.nbytes), image, self.stream)

    def close(self) -> None:
        """Free the device buffers now (once)."""
        if self._source is None and self.output is None:
            return
        with self.gpu:
            self.stream.synchronize()
            self.output.gpudata.free()
            if self._source is not None:
                self._source.free()
        self._source, self.output, self._launch = None, None, None
        self._output = LastView()
        self._frames.release()

    def download(self, output: Any = None) -> np.ndarray:
        """The preprocessed tensor on the host (for tests and debugging)."""
        view = DeviceArray.require(self.output if output is None else output, "output")
        host = np.empty(view.shape, view.dtype)
        with self.gpu:
            self.stream.synchronize()
            self.cuda.memcpy_dtoh(host, view.pointer)
        return host
