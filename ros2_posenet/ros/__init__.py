"""The ROS 2 face: the node, its parameters, image and message conversion, the file source node.

The only folder that imports rclpy or ROS messages (ruff enforces it); the core runs without ROS.
"""
