"""Tests across OS processes: several workers against one served emulator, limits shared through Redis."""
