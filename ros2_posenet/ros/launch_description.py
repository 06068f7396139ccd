"""What both launch files start, built in one place (launch/posenet.launch.py, launch/posenet_file.launch.py).

Everything is decided in one OpaqueFunction, before any process starts, so that a launch that cannot
work fails whole: a bad parameter value or a missing optional package (v4l2_camera, rviz2) is one
line and exit code 1 with nothing left running. A node that exits with an error later ends the
launch with exit code 1 too. Only the node parameters given as launch arguments are passed on
top of ``params_file``, so the file's values hold unless the command line changes them. The Fast
DDS profile of config/fastdds.xml is applied to every process the launch starts, unless the user
already set one or runs another middleware.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.action import Action
from launch.actions import DeclareLaunchArgument, OpaqueFunction, RegisterEventHandler, SetEnvironmentVariable
from launch.event_handlers import OnProcessExit
from launch.events.process import ProcessExited
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from ros2_posenet.ros.params import PARAMETERS, as_text, parse_value

PACKAGE = "ros2_posenet"
# Fast DDS reads its XML profile from this variable; Humble's Fast DDS 2.6 from the older name.
PROFILE_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"
HUMBLE_PROFILE_VARIABLE = "FASTRTPS_DEFAULT_PROFILES_FILE"
OPTIONAL_PACKAGES = {  # launch argument -> (package it needs, how to get it)
    "camera": ("v4l2_camera", "sudo apt install ros-$ROS_DISTRO-v4l2-camera"),
    "rviz": ("rviz2", "sudo apt install ros-$ROS_DISTRO-rviz2"),
}

SourceNodes = Callable[[LaunchContext], list[Action]]


def _share(*parts: str) -> str:
    """A file of the installed package (``ros2 launch`` only finds launch files of installed packages)."""
    return os.path.join(get_package_share_directory(PACKAGE), *parts)


def _common_arguments(input_topic: str, camera: bool) -> list[DeclareLaunchArgument]:
    arguments = [
        DeclareLaunchArgument("input_topic", default_value=input_topic, description="image topic to read"),
        DeclareLaunchArgument(
            "params_file",
            default_value=_share("config", "posenet.yaml"),
            description="node parameters (YAML); the node parameter arguments given here override it",
        ),
        DeclareLaunchArgument(
            "dds_profile",
            default_value=_share("config", "fastdds.xml"),
            description=f"Fast DDS profile for camera-sized images ({PROFILE_VARIABLE}); none: no profile. "
            "Not applied when the variable is set already or RMW_IMPLEMENTATION is not Fast DDS",
        ),
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 with the overlay image"),
    ]
    if camera:
        arguments += [
            DeclareLaunchArgument("camera", default_value="false", description="start v4l2_camera"),
            DeclareLaunchArgument("video_device", default_value="/dev/video0", description="v4l2 camera device"),
            DeclareLaunchArgument("image_width", default_value="640", description="camera image width"),
            DeclareLaunchArgument("image_height", default_value="480", description="camera image height"),
        ]
    return arguments


def _node_arguments() -> list[DeclareLaunchArgument]:
    return [
        DeclareLaunchArgument(
            name, default_value=as_text(spec.default), description=f"posenet_node parameter {name}: {spec.description}"
        )
        for name, spec in PARAMETERS.items()
    ]


def _is_true(context: LaunchContext, name: str) -> bool:
    text = LaunchConfiguration(name).perform(context).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"{name}:={text!r} must be true or false")
    return text == "true"


def _require_package(argument: str) -> None:
    package, how = OPTIONAL_PACKAGES[argument]
    try:
        get_package_share_directory(package)
    except PackageNotFoundError:
        raise RuntimeError(f"{argument}:=true needs the ROS package {package}, which is not installed: {how}") from None


def _profile_environment(context: LaunchContext) -> list[Action]:
    """SetEnvironmentVariable for the Fast DDS profile, where it applies (see the module docstring)."""
    profile = LaunchConfiguration("dds_profile").perform(context)
    middleware = os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")  # Fast DDS: ROS 2's default
    variables = [PROFILE_VARIABLE] + ([HUMBLE_PROFILE_VARIABLE] if os.environ.get("ROS_DISTRO") == "humble" else [])
    off = not profile or profile.lower() == "none"  # ros2 launch refuses an empty value: dds_profile:=none
    if off or not middleware.startswith("rmw_fastrtps") or any(v in os.environ for v in variables):
        return []
    if not os.path.isfile(profile):
        raise RuntimeError(f"dds_profile:={profile} is not a file")
    return [SetEnvironmentVariable(variable, profile) for variable in variables]


def _fail_on_error_exit(event: ProcessExited, context: LaunchContext) -> None:
    """A node that exits with an error (not a signal: Ctrl-C) ends the launch with exit code 1."""
    if event.returncode > 0:
        raise RuntimeError(f"{event.action.name} exited with code {event.returncode} (its error is above)")


def _camera(context: LaunchContext) -> Node:
    size = [int(LaunchConfiguration(n).perform(context)) for n in ("image_width", "image_height")]
    return Node(
        package="v4l2_camera",
        executable="v4l2_camera_node",
        name="camera",
        output="screen",
        parameters=[{"video_device": LaunchConfiguration("video_device"), "image_size": size}],
        remappings=[("image_raw", LaunchConfiguration("input_topic"))],
    )


def _start(context: LaunchContext, given: set[str], camera: bool, sources: SourceNodes) -> list[Action]:
    """Every process of the launch, once every argument has been checked."""
    overrides = {name: parse_value(name, LaunchConfiguration(name).perform(context)) for name in sorted(given)}
    optional = [name for name in OPTIONAL_PACKAGES if (name != "camera" or camera) and _is_true(context, name)]
    for name in optional:
        _require_package(name)
    params_file = LaunchConfiguration("params_file").perform(context)
    if params_file and not os.path.isfile(params_file):
        raise RuntimeError(f"params_file:={params_file} is not a file")
    posenet = Node(
        package=PACKAGE,
        executable="posenet_node",
        name="posenet",
        output="screen",
        parameters=[*([params_file] if params_file else []), overrides],
        remappings=[("image", LaunchConfiguration("input_topic"))],
    )
    processes: list[Action] = [*sources(context), posenet]
    if "camera" in optional:
        processes.append(_camera(context))
    if "rviz" in optional:
        rviz_config = _share("config", "posenet.rviz")
        processes.append(Node(package="rviz2", executable="rviz2", name="rviz2", arguments=["-d", rviz_config]))
    watchers = [
        RegisterEventHandler(OnProcessExit(target_action=process, on_exit=_fail_on_error_exit)) for process in processes
    ]
    return [*_profile_environment(context), *watchers, *processes]


def posenet_launch(
    input_topic: str,
    camera: bool,
    extra_arguments: list[DeclareLaunchArgument] | None = None,
    sources: SourceNodes = lambda context: [],
) -> LaunchDescription:
    """The pose node on ``input_topic`` (plus, with ``camera``, the optional v4l2 camera), rviz on request,
    and the nodes ``sources`` makes (the file source)."""
    given: set[str] = set()

    def remember_given(context: LaunchContext) -> None:  # runs before the declarations set the defaults
        given.update(name for name in PARAMETERS if name in context.launch_configurations)

    return LaunchDescription(
        [
            OpaqueFunction(function=remember_given),
            *_common_arguments(input_topic, camera),
            *(extra_arguments or []),
            *_node_arguments(),
            OpaqueFunction(function=lambda context: _start(context, given, camera, sources)),
        ]
    )
