"""The structure study's cells, statistics and command (the study itself is a benchmark, not a test)."""

import importlib.util
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from hf_graph4mm.training.structure_study import (
    ALPHAS,
    K_VALUES,
    StudyRun,
    cell_config,
    cell_summary,
    kalpha_cells,
    kalpha_table,
    order_invariant_runs,
    plan_jobs,
    positions_table,
    run_cell,
    study_budget,
)

ROOT = Path(__file__).resolve().parents[2]


def runs(name, accuracies, order="bfs", task="far_colour"):
    return [
        StudyRun(task, name, order, seed, value, [1.0, 0.5], 2.0) for seed, value in enumerate(accuracies)
    ]


def test_cells_name_their_configs_and_the_grid_skips_duplicates():
    assert cell_config("hop_aware") == ("hop_aware", {})
    assert cell_config("K3_a0.05") == ("hop_diffused", {"diffusion_steps": 3, "diffusion_alpha": 0.05})
    names = kalpha_cells()
    # K = 0 once (calA = I for every alpha), K = 2 / alpha = 0.1 is Hop-Diffused itself
    assert len(names) == 1 + (len(K_VALUES) - 1) * len(ALPHAS) - 1 and "K2_a0.1" not in names
    with pytest.raises(ValueError, match="unknown study cell 'gat'"):
        cell_config("gat")
    jobs = plan_jobs(["far_colour", "near_majority"], [("hop_aware", "bfs")], [0, 1], study_budget(), 0,
                     {"near_majority": 450})  # fmt: skip
    assert [(job[0], job[3].steps) for job in jobs][:2] == [("near_majority", 450)] * 2


def test_summary_and_paired_t_test_match_a_hand_computation():
    ours, reference = [0.50, 0.62, 0.55, 0.70, 0.58], [0.40, 0.45, 0.52, 0.50, 0.41]
    summary = cell_summary(runs("hop_aware", ours), runs("hop_diffused", reference))
    differences = np.subtract(ours, reference)
    t = differences.mean() / (differences.std(ddof=1) / math.sqrt(len(differences)))
    assert summary["mean"] == pytest.approx(np.mean(ours))
    assert summary["std"] == pytest.approx(np.std(ours, ddof=1))
    assert summary["diff"] == pytest.approx(differences.mean())
    assert summary["p"] == pytest.approx(2 * stats.t.sf(abs(t), df=len(differences) - 1), rel=1e-9)
    equal = cell_summary(runs("hop_aware", [0.5, 0.6]), runs("hop_diffused", [0.4, 0.5]))
    assert math.isnan(equal["p"]) and equal["diff"] == pytest.approx(0.1)  # constant differences: no t


def numbers(cell: str) -> list[float]:
    return [float(value) for value in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", cell)]


def test_tables_show_both_orders_and_the_grid():
    results = [*runs("hop_diffused", [0.4, 0.5]), *runs("hop_diffused", [0.4, 0.6], "shuffled"),
               *runs("mmgl_concat", [0.9, 1.0]), *runs("mmgl_concat", [0.3, 0.2], "shuffled"),
               *runs("K0_a0.1", [0.2, 0.2]), *runs("K6_a0.5", [0.7, 0.9])]  # fmt: skip
    table = positions_table(results, "far_colour", ["hop_diffused", "mmgl_concat"]).splitlines()
    assert table[0].startswith("| variant | sees slot positions | BFS order | shuffled order |")
    cells = [cell.strip() for cell in table[3].strip("|").split("|")]
    assert cells[0] == "MMGL concat (no structure, no Q-Former)" and cells[1].startswith("yes")
    assert (
        numbers(cells[2]) == pytest.approx([0.95, 0.0707, 0.5], abs=1e-3) and "p=—" in cells[2]
    )  # constant gap
    shuffled_p = stats.ttest_rel([0.3, 0.2], [0.4, 0.6]).pvalue
    assert numbers(cells[3]) == pytest.approx([0.25, 0.0707, -0.25, shuffled_p], abs=1e-3, rel=0.05)
    assert numbers(cells[4])[0] == pytest.approx(-0.7)  # shuffled minus BFS, same seeds
    grid = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in kalpha_table(results, "far_colour").splitlines()
    ]
    assert [numbers(cell) for cell in grid[2][1:]] == [pytest.approx([0.2, 0.0])] * 4  # K = 0: one model
    assert numbers(grid[4][2]) == pytest.approx([0.45, 0.0707], abs=1e-3)  # K = 2, alpha = 0.1: Hop-Diffused
    assert numbers(grid[-1][-1]) == pytest.approx([0.8, 0.1414], abs=1e-3) and grid[-1][1] == "—"


def test_order_invariant_variants_take_their_shuffled_cell_from_the_bfs_run():
    trained = [StudyRun("far_colour", "hop_aware", "bfs", 0, 0.8, [0.3], 9.0, other_accuracy=0.79),
               StudyRun("far_colour", "mmgl_concat", "bfs", 0, 0.9, [0.1], 3.0, other_accuracy=0.2)]  # fmt: skip
    (derived,) = order_invariant_runs(trained)
    assert (derived.name, derived.order, derived.accuracy, derived.other_accuracy) == (
        "hop_aware",
        "shuffled",
        0.79,
        0.8,
    )
    assert derived.derived and derived.losses == [0.3]
    assert "0.790 ± 0.000*" in positions_table([*trained, derived], "far_colour", ["hop_aware"])


def test_one_cell_trains_and_scores_in_the_shuffled_order():
    budget = study_budget(num_train=8, num_test=4, steps=2, batch_size=4)
    run = run_cell("linked_colour", "hop_diffused_aware", "shuffled", 0, budget)
    assert len(run.losses) == 2 and run.order == "shuffled"
    assert 0.0 <= run.accuracy <= 1.0 and 0.0 <= run.other_accuracy <= 1.0


@pytest.mark.parametrize("script", ["structure_study.py", "oversmoothing.py"])
def test_the_benchmark_scripts_answer_help(script, capsys):
    spec = importlib.util.spec_from_file_location(script[:-3], ROOT / "benchmarks" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as exited:
        module.main(["--help"])
    assert exited.value.code == 0 and "usage" in capsys.readouterr().out
