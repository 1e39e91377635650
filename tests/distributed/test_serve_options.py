"""Ray Serve deployment options from the `ray` settings: fixed replicas, or
autoscaling between the bounds (no cluster needed)."""

from __future__ import annotations

import pytest

from rag.distributed.serve import deployment_options
from rag.errors import ConfigError
from rag.settings import build_settings


def test_fixed_replicas_by_default() -> None:
    settings = build_settings({"ray": {"replicas": 3}}, use_env=False)
    assert deployment_options(settings, settings.ray.replicas, 0.5) == {
        "ray_actor_options": {"num_cpus": 0.5},
        "num_replicas": 3,
    }


def test_autoscaling_between_the_bounds() -> None:
    ray = {"autoscaling": True, "min_replicas": 0, "max_replicas": 6, "target_ongoing_requests": 4}
    settings = build_settings({"ray": ray}, use_env=False)
    options = deployment_options(settings, settings.ray.shard_replicas, 1.0)
    assert "num_replicas" not in options
    assert options["autoscaling_config"] == {
        "min_replicas": 0,
        "max_replicas": 6,
        "target_ongoing_requests": 4.0,
    }


def test_min_above_max_is_refused_naming_the_fields() -> None:
    with pytest.raises(ConfigError, match="min_replicas"):
        build_settings({"ray": {"min_replicas": 5, "max_replicas": 2}}, use_env=False)
