"""The launch files, the node's parameters, config/posenet.yaml and the rviz config agree.

``launch`` and ``launch_ros`` are not on PyPI, so the launch files run here against stand-ins that
only record what they are given. The stand-ins take exactly the keyword arguments of the real
classes that the launch files use, so a misspelt argument fails here as it would under ros2 launch.
"""

from __future__ import annotations

import ast
import configparser
import re
import runpy
import sys
import types
from pathlib import Path
from typing import List  # noqa: UP035 (launch recognises typing.List[int], not list[int])

import pytest

from ros2_posenet.models.registry import NETWORKS
from ros2_posenet.ros.params import (
    NETWORK_DEFAULT,
    NETWORK_DEFAULT_NOTE,
    PARAMETERS,
    THRESHOLDS,
    as_text,
    render_markdown,
    render_yaml,
)

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the ROS 2 wheels (scripts/build_ros_msgs.sh)")

REPO = Path(__file__).resolve().parent.parent


class Recorded:
    """Base of the stand-ins: keeps the positional and keyword arguments."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and (self.args, self.kwargs) == (other.args, other.kwargs)

    def __hash__(self) -> int:
        return hash(type(self))


class LaunchDescription(Recorded):
    def __init__(self, initial_entities=None) -> None:
        super().__init__(initial_entities=initial_entities)
        self.entities = list(initial_entities or [])


class DeclareLaunchArgument(Recorded):
    def __init__(self, name, *, default_value=None, description=None, choices=None) -> None:
        super().__init__(name, default_value=default_value, description=description, choices=choices)
        self.name, self.default_value = name, default_value


class IncludeLaunchDescription(Recorded):
    def __init__(self, launch_description_source, *, launch_arguments=None) -> None:
        super().__init__(launch_description_source, launch_arguments=dict(launch_arguments or ()))


class IfCondition(Recorded):
    def __init__(self, predicate_expression) -> None:
        super().__init__(predicate_expression)


class LaunchConfiguration(Recorded):
    def __init__(self, variable_name, *, default=None) -> None:
        super().__init__(variable_name, default=default)


class PathJoinSubstitution(Recorded):
    def __init__(self, substitutions) -> None:
        super().__init__(list(substitutions))


class PythonLaunchDescriptionSource(Recorded):
    def __init__(self, launch_file_path) -> None:
        super().__init__(launch_file_path)


class Node(Recorded):
    def __init__(
        self,
        *,
        executable,
        package=None,
        name=None,
        namespace=None,
        parameters=None,
        remappings=None,
        arguments=None,
        output="log",
        condition=None,
    ) -> None:
        super().__init__(
            executable=executable,
            package=package,
            name=name,
            namespace=namespace,
            parameters=parameters,
            remappings=remappings,
            arguments=arguments,
            output=output,
            condition=condition,
        )
        self.__dict__.update(self.kwargs)


class ParameterValue(Recorded):
    def __init__(self, value, *, value_type=None) -> None:
        super().__init__(value, value_type=value_type)
        self.value, self.value_type = value, value_type


class FindPackageShare(Recorded):
    def __init__(self, package) -> None:
        super().__init__(package)


STAND_INS = {
    "launch": {"LaunchDescription": LaunchDescription},
    "launch.actions": {
        "DeclareLaunchArgument": DeclareLaunchArgument,
        "IncludeLaunchDescription": IncludeLaunchDescription,
    },
    "launch.conditions": {"IfCondition": IfCondition},
    "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration, "PathJoinSubstitution": PathJoinSubstitution},
    "launch.launch_description_sources": {"PythonLaunchDescriptionSource": PythonLaunchDescriptionSource},
    "launch_ros": {},
    "launch_ros.actions": {"Node": Node},
    "launch_ros.parameter_descriptions": {"ParameterValue": ParameterValue},
    "launch_ros.substitutions": {"FindPackageShare": FindPackageShare},
}


@pytest.fixture
def describe(monkeypatch):
    """Run a launch file's generate_launch_description() against the stand-ins."""
    for name, members in STAND_INS.items():
        module = types.ModuleType(name)
        module.__dict__.update(members)
        monkeypatch.setitem(sys.modules, name, module)

    def run(file_name: str) -> LaunchDescription:
        return runpy.run_path(str(REPO / "launch" / file_name))["generate_launch_description"]()

    return run


def of_type(entities: list, kind: type) -> list:
    return [e for e in entities if isinstance(e, kind)]


def the_node(entities: list, executable: str) -> Node:
    (node,) = [n for n in of_type(entities, Node) if n.executable == executable]
    return node


def test_posenet_launch_arguments_are_the_node_parameters_with_the_same_defaults(describe):
    entities = describe("posenet.launch.py").entities
    declared = {a.name: a.default_value for a in of_type(entities, DeclareLaunchArgument)}
    for name, spec in PARAMETERS.items():
        assert declared.get(name) == as_text(spec.default), name

    node = the_node(entities, "posenet_node")
    assert node.package == "ros2_posenet" and node.name == "posenet"
    (parameters,) = node.parameters
    assert set(parameters) == set(PARAMETERS)
    for name, value in parameters.items():
        assert value == ParameterValue(LaunchConfiguration(name), value_type=type(PARAMETERS[name].default)), name
    assert node.remappings == [("image", LaunchConfiguration("input_topic"))]
    assert declared["input_topic"].startswith("/")


def test_thresholds_default_to_the_network_everywhere_and_say_so(describe):
    """-1.0 (the chosen network's own threshold) is the default, and every place that shows it explains it."""
    described = {
        a.name: a.kwargs["description"] for a in of_type(describe("posenet.launch.py").entities, DeclareLaunchArgument)
    }
    yaml_lines = (REPO / "config" / "posenet.yaml").read_text().splitlines()
    for name in THRESHOLDS:
        spec = PARAMETERS[name]
        assert spec.default == NETWORK_DEFAULT and spec.bounds == (NETWORK_DEFAULT, 1.0) and spec.dynamic, name
        assert NETWORK_DEFAULT_NOTE in spec.description, name
        for network in NETWORKS.values():  # ros2 param describe tells what -1.0 becomes
            assert f"{network.name} {getattr(network, name)}" in spec.description, (network.name, spec.description)
        # the launch argument says what the node's descriptor says (which adds each network's value)
        prefix = f"posenet_node parameter {name}: "
        assert described[name].startswith(prefix) and NETWORK_DEFAULT_NOTE in described[name], described[name]
        assert spec.description.startswith(described[name].removeprefix(prefix)), (spec.description, described[name])
        (line,) = [line for line in yaml_lines if line.strip().startswith(f"{name}:")]
        assert NETWORK_DEFAULT_NOTE in line, line


def test_posenet_launch_camera_and_rviz_are_optional(describe):
    entities = describe("posenet.launch.py").entities
    declared = {a.name: a.default_value for a in of_type(entities, DeclareLaunchArgument)}
    assert declared["camera"] == declared["rviz"] == "false"

    camera = the_node(entities, "v4l2_camera_node")
    assert camera.package == "v4l2_camera" and camera.condition == IfCondition(LaunchConfiguration("camera"))
    (parameters,) = camera.parameters
    assert parameters["video_device"] == LaunchConfiguration("video_device") and declared["video_device"]
    size = parameters["image_size"]  # launch_ros takes no ParameterValue inside a list: one typed value
    assert isinstance(size, ParameterValue) and size.value_type == List[int]  # noqa: UP006
    assert size.value == ["[", LaunchConfiguration("image_width"), ", ", LaunchConfiguration("image_height"), "]"]
    assert int(declared["image_width"]) > 0 and int(declared["image_height"]) > 0
    assert camera.remappings == [("image_raw", LaunchConfiguration("input_topic"))]

    rviz = the_node(entities, "rviz2")
    assert rviz.package == "rviz2" and rviz.condition == IfCondition(LaunchConfiguration("rviz"))
    assert rviz.arguments == ["-d", PathJoinSubstitution([FindPackageShare("ros2_posenet"), "config", "posenet.rviz"])]


def test_rviz_config_shows_the_overlay_image():
    config = yaml.safe_load((REPO / "config" / "posenet.rviz").read_text())
    displays = config["Visualization Manager"]["Displays"]
    (image,) = [d for d in displays if d["Class"] == "rviz_default_plugins/Image"]
    assert (
        image["Enabled"] and image["Topic"]["Value"] == "/overlay"
    )  # the node's overlay topic, launched without namespace


def test_yaml_and_readme_are_rendered_from_the_node_parameter_table():
    """One source: a parameter added, removed or changed in ros/params.py must be regenerated in both."""
    assert (REPO / "config" / "posenet.yaml").read_text() == render_yaml(), (
        "config/posenet.yaml is stale: python -m ros2_posenet.ros.params yaml > config/posenet.yaml"
    )
    assert render_markdown() in (REPO / "README.md").read_text(), (
        "README's parameter table is stale: python -m ros2_posenet.ros.params markdown"
    )


def test_yaml_holds_every_parameter_with_the_node_default():
    data = yaml.safe_load((REPO / "config" / "posenet.yaml").read_text())
    (values,) = [v["ros__parameters"] for v in data.values()]
    assert set(values) == set(PARAMETERS)
    for name, spec in PARAMETERS.items():
        assert values[name] == spec.default and type(values[name]) is type(spec.default), name


def file_source_parameters() -> dict[str, object]:
    """declare_parameter(name, default, ...) calls in ros/file_source.py (it imports rclpy, so it is read, not run)."""
    tree = ast.parse((REPO / "ros2_posenet" / "ros" / "file_source.py").read_text())
    return {
        call.args[0].value: ast.literal_eval(call.args[1])
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "declare_parameter"
    }


def test_file_launch_runs_the_file_source_into_the_pose_node(describe):
    entities = describe("posenet_file.launch.py").entities
    declared = {a.name: a.default_value for a in of_type(entities, DeclareLaunchArgument)}
    assert declared["source"] is None, "source has no default: ros2 launch asks for it"
    source = the_node(entities, "posenet_file_source")
    (parameters,) = source.parameters
    known = file_source_parameters()
    assert set(parameters) <= set(known)
    for name, value in parameters.items():
        assert value == ParameterValue(LaunchConfiguration(name), value_type=type(known[name])), name
        if name != "source":
            assert type(yaml.safe_load(declared[name])) is type(known[name]), name
    ((_, topic),) = source.remappings

    (include,) = of_type(entities, IncludeLaunchDescription)
    (launch_source,) = include.args
    assert launch_source == PythonLaunchDescriptionSource(
        PathJoinSubstitution([FindPackageShare("ros2_posenet"), "launch", "posenet.launch.py"])
    )
    assert include.kwargs["launch_arguments"]["input_topic"] == topic


def test_executables_exist_for_pip_and_for_colcon():
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    scripts = dict(line.split("=", 1) for line in setup["options.entry_points"]["console_scripts"].strip().splitlines())
    scripts = {k.strip(): v.strip() for k, v in scripts.items()}
    cmake = (REPO / "CMakeLists.txt").read_text()
    for executable in ("posenet_node", "posenet_file_source"):
        module = scripts[executable].split(":")[0]
        assert f'"{executable}:{module}"' in cmake, f"CMakeLists.txt installs no launcher for {executable}"
        assert (REPO / (module.replace(".", "/") + ".py")).is_file()
    for folder in ("launch", "config"):
        assert re.search(rf"install\(DIRECTORY [^)]*\b{folder}\b", cmake)
    for message in sorted((REPO / "msg").glob("*.msg")):
        assert f'"msg/{message.name}"' in cmake, f"{message.name} is not generated"
