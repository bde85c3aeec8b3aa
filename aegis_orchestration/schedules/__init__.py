"""Schedules, in Asia/Seoul time."""
