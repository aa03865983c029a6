import numpy as np

from distillguard.scoring.model import Feature, TreeModel


def test_tree_reasons_list_notable_features_by_importance():
    catalogue = {"a": Feature("a", "A", "", notable=1.0), "b": Feature("b", "B", "", notable=0.5),
                 "c": Feature("c", "A", "", notable=2.0), "d": Feature("d", "D", "")}
    model = TreeModel(None, ["a", "b", "c", "d"], importance=[0.1, 0.3, 0.2, 0.9])
    x = np.array([[0, 0, 0, 9], [1, 1, 2, 9], [1, 0, 2, 0], [0, 1, 0, 0], [1, 1, 2, 9]], dtype=float)
    # By importance: b, c, a (d has no threshold); a code shared by two features is listed once.
    assert model.reasons(x, catalogue) == ["", "B;A", "A", "B", "B;A"]
    assert model.reasons(x, catalogue, top=1) == ["", "B", "A", "B", "B"]
    assert model.reasons(x[:0], catalogue) == []
    assert model.reasons(x, {k: Feature(k, "R", "") for k in catalogue}) == [""] * 5
