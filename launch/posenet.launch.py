"""Pose estimation on a camera topic: ``ros2 launch ros2_posenet posenet.launch.py``.

    input_topic:=/camera/image_raw   the image topic to read (image_transport:=compressed: <topic>/compressed)
    camera:=true                     also start v4l2_camera (video_device, image_width, image_height)
    rviz:=true                       also start rviz2 showing the overlay image
    params_file:=FILE                node parameters (default: the package's config/posenet.yaml)
    <parameter>:=<value>             any node parameter (network, keypoint_threshold, overlay, ...); overrides
                                     params_file. keypoint_threshold, link_threshold: -1.0 is the network's own.
    autostart:=false                 leave the lifecycle node unconfigured (ros2 lifecycle set /posenet configure)
    dds_profile:=FILE                Fast DDS profile for camera-sized images (default: config/fastdds.xml)

ros2 launch ... --show-args lists them all; ros2_posenet/ros/launch_description.py builds what is started.
"""

from launch import LaunchDescription

from ros2_posenet.ros.launch_description import posenet_launch


def generate_launch_description() -> LaunchDescription:
    return posenet_launch(input_topic="/camera/image_raw", camera=True)
