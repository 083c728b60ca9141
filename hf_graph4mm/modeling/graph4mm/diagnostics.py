"""Measurements on node features used to check the paper's over-smoothing claim."""

from __future__ import annotations

import torch


def dirichlet_energy(features: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    """Scale-free Dirichlet energy ``sum_{(i,j) in E, i != j} ||x_i - x_j||^2 / ||X||_F^2``.

    Dividing by ``||X||^2`` (a Rayleigh quotient of the graph Laplacian) makes the number
    independent of the features' scale, so it measures only how different neighbours still
    are: 0 means every connected node carries the same vector (fully over-smoothed).

    Args:
        features: ``[nodes, dim]``.
        adjacency: ``[nodes, nodes]`` bool; each undirected edge may appear in both directions.
    """
    edges = adjacency & ~torch.eye(adjacency.shape[0], dtype=torch.bool, device=adjacency.device)
    differences = features[:, None, :] - features[None, :, :]
    squared = (differences**2).sum(dim=-1)
    return squared[edges].sum() / (features**2).sum().clamp(min=torch.finfo(features.dtype).tiny)
