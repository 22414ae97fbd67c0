"""The ODD description keeps up with the code: every scenario parameter is documented."""

from pydantic import BaseModel

from borderabm.scenario import Scenario
from tests.conftest import REPO

ODD = (REPO / "docs" / "odd.md").read_text()


def parameter_names(model: type[BaseModel]) -> list[tuple[str, str]]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += [(name, inner) for _, inner in parameter_names(annotation)]
        else:
            names.append(("", name))
    return names


def test_every_parameter_appears_in_the_odd():
    wanted = [
        f"{section}.{name}" if section else name for section, name in parameter_names(Scenario)
    ]
    missing = [path for path in wanted if f"`{path}`" not in ODD and f"{path}," not in ODD]
    assert not missing, f"parameters missing from docs/odd.md: {missing}"


def test_every_module_the_odd_points_to_exists():
    import re

    for path in set(re.findall(r"`(borderabm/[\w/]+\.py)", ODD)):
        assert (REPO / path).exists(), path
