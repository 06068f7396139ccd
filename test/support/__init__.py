"""Helpers shared by the tests (and the benchmarks): synthetic maps, contract ONNX, DDS harness, photos."""
