"""The lab file of `wandb-kit people`: every problem named with its line and fix, all at once;
what `show` writes reads back to the same content."""

from __future__ import annotations

import pytest
from wandb_local_kit.core.errors import EXIT_USAGE, KitError
from wandb_local_kit.server.people import labfile

GOOD = """\
users:
  - email: ana@lab.org
    username: ana
    admin: true
  - email: bob@lab.org
teams:
  - name: vision
    members:
      - user: ana
        role: admin
      - user: bob@lab.org
service_accounts:
  - name: ci-vision
    team: vision
"""


def problems(text: str) -> str:
    with pytest.raises(KitError) as exc:
        labfile.parse(text, "lab.yaml")
    assert exc.value.exit_code == EXIT_USAGE
    assert "nothing was changed" in exc.value.problem
    return exc.value.render()


def test_good_file_reads_with_defaults():
    lab = labfile.parse(GOOD)
    assert [u.email for u in lab.users] == ["ana@lab.org", "bob@lab.org"]
    assert lab.users[0].admin and not lab.users[1].admin
    assert lab.teams[0].members == (
        labfile.Member("ana", "admin"),
        labfile.Member("bob@lab.org", "member"),
    )
    assert lab.service_accounts == (labfile.ServiceAccount("ci-vision", "vision"),)


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (("    admin: true", "    admn: true"), 4, ["unknown key 'admn'", "did you mean 'admin'"]),
        (("  - email: bob@lab.org", "  - email: ana@lab.org"), 5, ["duplicate email ana@lab.org"]),
        (("    team: vision", "    team: visoin"), 13, ["unknown team 'visoin'", "add the team"]),
        (("        role: admin", "        role: owner"), 10, ["invalid role 'owner'", "viewer"]),
        (
            ("      - user: bob@lab.org", "      - user: ana@lab.org"),
            11,
            ["ana@lab.org is listed twice"],
        ),
        (("      - user: bob@lab.org", "      - user: zed"), 11, ["unknown user 'zed'"]),
        (("    admin: true", "    admin: yes please"), 4, ["admin must be true or false"]),
    ],
)
def test_bad_file_names_the_line_and_the_fix(edit, line, words):
    text = problems(GOOD.replace(*edit))
    assert f"lab.yaml line {line}:" in text, text
    for w in words:
        assert w in text, text
    assert "fix:" in text


def test_all_problems_reported_at_once():
    text = problems(GOOD.replace("role: admin", "role: boss").replace("team: vision", "team: x"))
    assert "2 problem(s)" in text and "line 10" in text and "line 13" in text


def test_not_yaml_or_wrong_shape():
    text = problems_or_error("users:\n\t- email: a\n")
    assert "lab.yaml line 2 is not valid YAML" in text and "fix:" in text
    assert "must be a list" in problems("users: ana@lab.org\n")


def problems_or_error(text: str) -> str:
    with pytest.raises(KitError) as exc:
        labfile.parse(text, "lab.yaml")
    return exc.value.render()


def test_dump_reads_back_to_the_same_file():
    lab = labfile.parse(GOOD)
    again = labfile.parse(labfile.dump(lab))
    assert again.users == lab.users and again.teams == lab.teams
    assert again.service_accounts == lab.service_accounts
