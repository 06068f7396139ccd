"""Pose estimation on files, no camera: ``ros2 launch ros2_posenet posenet_file.launch.py source:=PATH``.

source:=PATH            a video, an image folder, a quoted glob ("photos/*.jpg") or an image
rate:=2.0 loop:=true    frames per second, and whether to start over at the end
encoding:=bgr8          the encoding the frames are published in
compressed_format:=jpeg with image_transport:=compressed: jpeg or png
input_topic, rviz, params_file, autostart, dds_profile and every node parameter work as in
posenet.launch.py; the file source publishes on input_topic (default /file_source/image).
"""

from launch import LaunchContext, LaunchDescription
from launch.action import Action
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from ros2_posenet.ros.launch_description import posenet_launch

SOURCE_PARAMETERS = {"source": str, "rate": float, "loop": bool, "encoding": str, "frame_id": str}
SOURCE_PARAMETERS |= {"image_transport": str, "compressed_format": str}


def file_source(context: LaunchContext) -> list[Action]:
    return [
        Node(
            package="ros2_posenet",
            executable="posenet_file_source",
            name="posenet_file_source",
            output="screen",
            parameters=[
                {
                    name: ParameterValue(LaunchConfiguration(name), value_type=kind)
                    for name, kind in SOURCE_PARAMETERS.items()
                }
            ],
            remappings=[("image", LaunchConfiguration("input_topic"))],
        )
    ]


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument("source", description="video, image folder, glob or image to publish"),
        DeclareLaunchArgument("rate", default_value="2.0", description="frames per second"),
        DeclareLaunchArgument("loop", default_value="true", description="start over at the end of the input"),
        DeclareLaunchArgument("encoding", default_value="bgr8", description="encoding of the published frames"),
        DeclareLaunchArgument("frame_id", default_value="camera", description="header.frame_id of the frames"),
        DeclareLaunchArgument(
            "compressed_format", default_value="jpeg", description="jpeg or png, with image_transport:=compressed"
        ),
    ]
    return posenet_launch(
        input_topic="/file_source/image", camera=False, extra_arguments=arguments, sources=file_source
    )
