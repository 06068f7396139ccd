"""Pose estimation on a camera topic: ``ros2 launch ros2_posenet posenet.launch.py``.

    input_topic:=/camera/image_raw   the sensor_msgs/Image topic to read
    camera:=true                     also start v4l2_camera (video_device, image_width, image_height)
    rviz:=true                       also start rviz2 showing the overlay image
    <parameter>:=<value>             any node parameter (network, keypoint_threshold, overlay, ...)
    keypoint_threshold, link_threshold default to -1.0: the chosen network's own thresholds.

Its arguments and their defaults come from the node's own table (ros2_posenet/ros/params.py).
"""

from typing import List  # noqa: UP035 (launch recognises typing.List[int], not list[int])

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from ros2_posenet.ros.params import PARAMETERS, as_text  # the node's parameter table: one source


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument("input_topic", default_value="/camera/image_raw", description="image topic to read"),
        DeclareLaunchArgument("camera", default_value="false", description="start v4l2_camera"),
        DeclareLaunchArgument("video_device", default_value="/dev/video0", description="v4l2 camera device"),
        DeclareLaunchArgument("image_width", default_value="640", description="camera image width"),
        DeclareLaunchArgument("image_height", default_value="480", description="camera image height"),
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 with the overlay image"),
    ]
    arguments += [
        DeclareLaunchArgument(
            name, default_value=as_text(spec.default), description=f"posenet_node parameter {name}: {spec.description}"
        )
        for name, spec in PARAMETERS.items()
    ]
    posenet = Node(
        package="ros2_posenet",
        executable="posenet_node",
        name="posenet",
        output="screen",
        parameters=[
            {
                name: ParameterValue(LaunchConfiguration(name), value_type=type(spec.default))
                for name, spec in PARAMETERS.items()
            }
        ],
        remappings=[("image", LaunchConfiguration("input_topic"))],
    )
    camera = Node(
        package="v4l2_camera",
        executable="v4l2_camera_node",
        name="camera",
        output="screen",
        parameters=[
            {
                "video_device": LaunchConfiguration("video_device"),
                # one substitution that reads "[640, 480]", typed as the integer array v4l2_camera wants
                "image_size": ParameterValue(
                    ["[", LaunchConfiguration("image_width"), ", ", LaunchConfiguration("image_height"), "]"],
                    value_type=List[int],  # noqa: UP006
                ),
            }
        ],
        remappings=[("image_raw", LaunchConfiguration("input_topic"))],
        condition=IfCondition(LaunchConfiguration("camera")),
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        arguments=["-d", PathJoinSubstitution([FindPackageShare("ros2_posenet"), "config", "posenet.rviz"])],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription([*arguments, posenet, camera, rviz])
