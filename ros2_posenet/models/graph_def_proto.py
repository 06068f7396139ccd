"""TensorFlow's GraphDef messages for protobuf alone: the subset a frozen convolutional graph uses.

Written from the field numbers TensorFlow publishes in tensorflow/core/framework/{graph,node_def,
attr_value,tensor,tensor_shape,types}.proto, so that converting mobilenet-thin needs neither
TensorFlow nor tensorboard (whose wheel carries TF's compiled protos), only the protobuf runtime
that onnx already depends on. Fields left out (GraphDef.library and versions, NodeDef's debug info,
AttrValue's func and placeholder, ...) are kept by protobuf as unknown fields and never read. Enums
are declared as int32: the same varint on the wire. test/test_conversion.py parses graphs written
with TF's own compiled protos through these.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "ros2_posenet.tf"
_F = descriptor_pb2.FieldDescriptorProto

# DataType values (types.proto) the converter reads or names in errors
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_INT16, DT_INT8, DT_STRING = 1, 2, 3, 4, 5, 6, 7
DT_INT64, DT_BOOL, DT_HALF = 9, 10, 19
DATA_TYPE_NAMES = {1: "DT_FLOAT", 2: "DT_DOUBLE", 3: "DT_INT32", 4: "DT_UINT8", 5: "DT_INT16", 6: "DT_INT8"}
DATA_TYPE_NAMES |= {7: "DT_STRING", 9: "DT_INT64", 10: "DT_BOOL", 19: "DT_HALF"}

_SCALARS = {"bytes": _F.TYPE_BYTES, "string": _F.TYPE_STRING, "int64": _F.TYPE_INT64, "int32": _F.TYPE_INT32}
_SCALARS |= {"float": _F.TYPE_FLOAT, "double": _F.TYPE_DOUBLE, "bool": _F.TYPE_BOOL}

# message -> [(field, number, type, repeated)]; a type not in _SCALARS is a message of this file
_MESSAGES: dict[str, list[tuple[str, int, str, bool]]] = {
    "Dim": [("size", 1, "int64", False), ("name", 2, "string", False)],
    "TensorShapeProto": [("dim", 2, "Dim", True), ("unknown_rank", 3, "bool", False)],
    "TensorProto": [
        ("dtype", 1, "int32", False),
        ("tensor_shape", 2, "TensorShapeProto", False),
        ("version_number", 3, "int32", False),
        ("tensor_content", 4, "bytes", False),
        ("float_val", 5, "float", True),
        ("double_val", 6, "double", True),
        ("int_val", 7, "int32", True),
        ("string_val", 8, "bytes", True),
        ("int64_val", 10, "int64", True),
        ("bool_val", 11, "bool", True),
        ("half_val", 13, "int32", True),
    ],
    "ListValue": [
        ("s", 2, "bytes", True),
        ("i", 3, "int64", True),
        ("f", 4, "float", True),
        ("b", 5, "bool", True),
        ("type", 6, "int32", True),
        ("shape", 7, "TensorShapeProto", True),
        ("tensor", 8, "TensorProto", True),
    ],
    "AttrValue": [
        ("list", 1, "ListValue", False),
        ("s", 2, "bytes", False),
        ("i", 3, "int64", False),
        ("f", 4, "float", False),
        ("b", 5, "bool", False),
        ("type", 6, "int32", False),
        ("shape", 7, "TensorShapeProto", False),
        ("tensor", 8, "TensorProto", False),
    ],
    "NodeDef": [
        ("name", 1, "string", False),
        ("op", 2, "string", False),
        ("input", 3, "string", True),
        ("device", 4, "string", False),
        ("attr", 5, "NodeDef.AttrEntry", True),  # map<string, AttrValue>
    ],
    "GraphDef": [("node", 1, "NodeDef", True)],
}


def _field(message: Any, name: str, number: int, kind: str, repeated: bool) -> None:
    field = message.field.add(name=name, number=number)
    field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
    if kind in _SCALARS:
        field.type = _SCALARS[kind]
    else:
        field.type, field.type_name = _F.TYPE_MESSAGE, f".{_PACKAGE}.{kind}"


def _file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="ros2_posenet/tf_graph.proto", package=_PACKAGE, syntax="proto3")
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field in fields:
            _field(message, *field)
        if name == "NodeDef":  # a proto map is a repeated nested entry message with map_entry set
            entry = message.nested_type.add(name="AttrEntry")
            entry.options.map_entry = True
            _field(entry, "key", 1, "string", False)
            _field(entry, "value", 2, "AttrValue", False)
    return file


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
GraphDef: Any = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.GraphDef"))
