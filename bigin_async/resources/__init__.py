"""Module clients: one file per Bigin module on one shared base class (``base.ModuleClient``).

Reach them through a ``BiginClient`` (``bigin.contacts``, ``bigin.module("X")``), which owns the
one transport they all share. This file makes ``bigin_async.resources`` a regular package, so
``setuptools.find_packages`` includes it in built wheels.
"""
