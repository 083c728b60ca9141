"""Config values that name a variant are checked wherever they are set (issue 27)."""

import pytest

from hf_graph4mm import Graph4MMConfig, Graph4MMForConditionalGeneration
from hf_graph4mm.testing import tiny_graph4mm


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    model, _ = tiny_graph4mm()
    model.save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    "load", [Graph4MMConfig.from_pretrained, Graph4MMForConditionalGeneration.from_pretrained]
)
def test_from_pretrained_with_an_unknown_structure_lists_the_valid_ones(saved, load):
    with pytest.raises(
        ValueError,
        match="structure must be one of 'hop_diffused', 'hop_aware', 'hop_diffused_aware', 'none'; got 'bogus'",
    ):
        load(saved, structure="bogus")


def test_from_pretrained_applies_a_valid_structure(saved):
    assert Graph4MMConfig.from_pretrained(saved, structure="hop_aware").structure == "hop_aware"


def test_assignment_and_fusion_are_checked_too():
    config = Graph4MMConfig()
    with pytest.raises(ValueError, match="structure must be one of"):
        config.structure = "gat"
    with pytest.raises(ValueError, match="fusion must be one of 'qformer', 'concat'; got 'sum'"):
        Graph4MMConfig(fusion="sum")
    assert config.structure == "hop_diffused"
