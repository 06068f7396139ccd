"""Plain setuptools entry point; metadata lives in setup.cfg (ROS 2 ament_python convention)."""

from setuptools import setup

setup()
