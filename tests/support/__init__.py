"""Test support: real servers on loopback (moto for AWS, a Hub-shaped server) and their pytest fixtures."""
