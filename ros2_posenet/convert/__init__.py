"""Model converters that need no deep-learning framework: TF frozen graphs -> native NCHW ONNX."""

from ros2_posenet.convert.tf_graph import OutputSpec, graph_def_to_onnx, load_graph_def

__all__ = ["OutputSpec", "graph_def_to_onnx", "load_graph_def"]
