"""The node's parameters, config/posenet.yaml, the README and the rviz config agree; the launch argument
checks, without ROS. What the launch files start is tested with the real ``ros2 launch``
(test_ros_launch.py), where the ROS 2 tools kit is installed.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from ros2_posenet.models.registry import NETWORKS
from ros2_posenet.ros.params import (
    NETWORK_DEFAULT,
    NETWORK_DEFAULT_NOTE,
    PARAMETERS,
    THRESHOLDS,
    parse_value,
    render_markdown,
    render_yaml,
)

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the ROS 2 wheels (scripts/build_ros_msgs.sh)")

REPO = Path(__file__).resolve().parent.parent


def test_thresholds_default_to_the_network_everywhere_and_say_so():
    """-1.0 (the chosen network's own threshold) is the default, and every place that shows it explains it."""
    yaml_lines = (REPO / "config" / "posenet.yaml").read_text().splitlines()
    for name in THRESHOLDS:
        spec = PARAMETERS[name]
        assert spec.default == NETWORK_DEFAULT and spec.bounds == (NETWORK_DEFAULT, 1.0) and spec.dynamic, name
        assert NETWORK_DEFAULT_NOTE in spec.description, name
        for network in NETWORKS.values():  # ros2 param describe tells what -1.0 becomes
            assert f"{network.name} {getattr(network, name)}" in spec.description, (network.name, spec.description)
        (line,) = [line for line in yaml_lines if line.strip().startswith(f"{name}:")]
        assert NETWORK_DEFAULT_NOTE in line, line


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("keypoint_threshold", "0.2", 0.2),
        ("keypoint_threshold", "-1.0", -1.0),
        ("max_people", "7", 7),
        ("publish_overlay", "False", False),
        ("autostart", "true", True),
        ("image_transport", "compressed", "compressed"),
        ("input_size", "224x192", "224x192"),
    ],
)
def test_launch_arguments_become_typed_parameter_values(name, text, value):
    parsed = parse_value(name, text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("keypoint_threshold", "5.0", "keypoint_threshold 5.0 is out of range [-1.0, 1.0]"),
        ("link_threshold", "-0.5", "link_threshold -0.5 is negative"),
        ("max_people", "many", "max_people:='many' is not an integer"),
        ("max_people", "0", "max_people 0 is out of range [1, 1000]"),
        ("publish_overlay", "yes", "publish_overlay:='yes' is not true or false"),
        ("image_transport", "theora", "image_transport 'theora' is not one of raw, compressed"),
    ],
)
def test_bad_launch_arguments_are_one_line(name, text, reason):
    with pytest.raises(ValueError) as raised:
        parse_value(name, text)
    assert str(raised.value) == reason or str(raised.value).startswith(reason), str(raised.value)


def test_rviz_config_shows_the_3d_markers_in_the_camera_frame():
    config = yaml.safe_load((REPO / "config" / "posenet.rviz").read_text())
    (markers,) = [
        d for d in config["Visualization Manager"]["Displays"] if d["Class"] == "rviz_default_plugins/MarkerArray"
    ]
    assert markers["Enabled"] and markers["Topic"]["Value"] == "/markers"
    assert config["Visualization Manager"]["Global Options"]["Fixed Frame"] == "camera"  # the file source's frame_id


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
