"""Pose estimation on files, no camera: ``ros2 launch ros2_posenet posenet_file.launch.py source:=PATH``.

source:=PATH            a video, an image folder, a quoted glob ("photos/*.jpg") or an image
rate:=2.0 loop:=true    frames per second, and whether to start over at the end
encoding:=bgr8          the encoding the frames are published in
rviz:=true and every argument of posenet.launch.py work here too.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

TOPIC = "/file_source/image"


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument("source", description="video, image folder, glob or image to publish"),
        DeclareLaunchArgument("rate", default_value="2.0", description="frames per second"),
        DeclareLaunchArgument("loop", default_value="true", description="start over at the end of the input"),
        DeclareLaunchArgument("encoding", default_value="bgr8", description="encoding of the published frames"),
        DeclareLaunchArgument("frame_id", default_value="camera", description="header.frame_id of the frames"),
    ]
    source = Node(
        package="ros2_posenet",
        executable="posenet_file_source",
        name="posenet_file_source",
        output="screen",
        parameters=[
            {
                "source": ParameterValue(LaunchConfiguration("source"), value_type=str),
                "rate": ParameterValue(LaunchConfiguration("rate"), value_type=float),
                "loop": ParameterValue(LaunchConfiguration("loop"), value_type=bool),
                "encoding": ParameterValue(LaunchConfiguration("encoding"), value_type=str),
                "frame_id": ParameterValue(LaunchConfiguration("frame_id"), value_type=str),
            }
        ],
        remappings=[("image", TOPIC)],
    )
    posenet = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("ros2_posenet"), "launch", "posenet.launch.py"])
        ),
        launch_arguments={"input_topic": TOPIC, "camera": "false"}.items(),
    )
    return LaunchDescription([*arguments, source, posenet])
