"""Tiny rembg-shaped ONNX models built by the tests themselves (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def red_subject_model(path: Path, *, size: int | None = 64, sigmoid: bool = True) -> Path:
    """A 1x3xHxW -> 1x1xHxW model calling "subject" whatever is redder than it is blue.

    ``size=None`` gives a model with dynamic height and width; ``sigmoid=False`` returns raw
    scores (outside 0..1), which the segmenter must stretch like rembg does.
    """
    dims = [1, 3, size, size] if size else [1, 3, "height", "width"]
    out_dims = [1, 1, size, size] if size else [1, 1, "height", "width"]
    inputs = [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, dims)]
    outputs = [helper.make_tensor_value_info("mask", TensorProto.FLOAT, out_dims)]
    nodes = [
        helper.make_node("Split", ["input.1", "split"], ["r", "g", "b"], axis=1),
        helper.make_node("Sub", ["r", "b"], ["diff"]),
        helper.make_node("Mul", ["diff", "gain"], ["score" if sigmoid else "mask"]),
    ]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["score"], ["mask"]))
    initializers = [
        helper.make_tensor("split", TensorProto.INT64, [3], [1, 1, 1]),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [10.0]),
    ]
    graph = helper.make_graph(nodes, "red_subject", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # old enough for any supported onnxruntime
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def flat_input_model(path: Path) -> Path:
    """A valid ONNX model whose input is not an image (1x64): not rembg-compatible."""
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])]
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "flat", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def quantised_conv_model(path: Path, *, size: int = 64) -> Path:
    """``red_subject_model`` as a 3x3 convolution, dynamically quantised by onnxruntime's own tool.

    onnxruntime's ``quantize_dynamic`` writes the same ``DynamicQuantizeLinear`` -> ``ConvInteger``
    chains as the img.ly quint8 ISNet, which the segmenter turns back into float convolutions.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic  # only this model needs it

    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.02, (4, 3, 3, 3)).astype(np.float32)
    weight[0, :, 1, 1] += (8.0, 0.0, -8.0)  # channel 0: red minus blue, plus a little noise
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])]
    outputs = [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, size, size])]
    nodes = [
        helper.make_node("Conv", ["input", "w", "bias"], ["features"], pads=[1, 1, 1, 1]),
        helper.make_node("Slice", ["features", "starts", "ends", "axes"], ["score"]),
        helper.make_node("Sigmoid", ["score"], ["mask"]),
    ]
    initializers = [
        numpy_helper.from_array(weight, "w"),
        numpy_helper.from_array(np.zeros(4, np.float32), "bias"),
        numpy_helper.from_array(np.array([0], np.int64), "starts"),
        numpy_helper.from_array(np.array([1], np.int64), "ends"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
    ]
    graph = helper.make_graph(nodes, "red_conv", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    float_path = path.with_suffix(".float.onnx")
    onnx.save(model, str(float_path))
    quantize_dynamic(
        str(float_path), str(path), op_types_to_quantize=["Conv"], weight_type=QuantType.QUInt8
    )
    return path
