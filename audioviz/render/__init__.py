"""Headless GL context, the fixed-fps frame loop and the ffmpeg encoder."""
