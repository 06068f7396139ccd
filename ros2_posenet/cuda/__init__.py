"""The CUDA side: the GPU context, CUDA graphs, GPU preprocessing and the kernels' sources.

With the GPU engines, the only code that imports pycuda or cuda-bindings (ruff enforces it).
"""
