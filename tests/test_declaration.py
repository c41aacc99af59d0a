"""The lab declaration: defaults, validation messages, --set, --quick, keys, --only."""

from pathlib import Path

import pytest

from lab.core import declaration
from lab.core.api import load_lab
from lab.core.errors import UserError
from lab.core.matrix import expand, run_key, select

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lab13.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path, text, overrides=()):
    return declaration.load(write(tmp_path, text), list(overrides))


def test_packaged_default_is_the_repo_declaration():
    # One copy: the top-level file is a link to the one the package ships.
    assert (REPO / "lab13.toml").is_symlink()
    assert (REPO / "lab13.toml").resolve() == load_lab().declaration.resolve()


def test_defaults_fill_what_the_file_omits(tmp_path):
    decl = load_text(tmp_path, '[student]\nname = "Ada"\n')
    assert decl.values["student"]["name"] == "Ada"
    assert decl.values["fit"]["epochs"]["values"] == [100, 1000, 10000, 50000]
    assert decl.values["cifar"]["phases"] == [{"lr": 0.1, "epochs": 5}, {"lr": 0.01, "epochs": 5}]
    assert len(decl.values["fit"]["seeds"]) == 5 and decl.values["fit"]["seeds"][0] == 2019
    assert decl.folder == tmp_path.resolve()


def test_no_file_in_the_working_directory_uses_the_packaged_one(tmp_path):
    decl = declaration.load(None, cwd=tmp_path)
    assert decl.path == load_lab().declaration and decl.folder == tmp_path


BAD_DECLARATIONS = [
    ("[fit]\nlearning_rte = 0.1\n", "fit.learning_rte: unknown key"),
    ("[fit.epochs]\nlr = 'fast'\n", "fit.epochs.lr: expected a number, got a string"),
    ("[fit.epochs]\nlr = -0.1\n", "fit.epochs.lr: -0.1 is out of range; it must be > 0"),
    ("[fit.epochs]\nlr = nan\n", "fit.epochs.lr: expected a finite number, got nan"),
    ("[fit.epochs]\nvalues = []\n", "fit.epochs.values: needs at least 1 item(s), got 0"),
    ("[fit.epochs]\nvalues = [100, 0]\n", "fit.epochs.values.1: 0 is out of range; it must be >= 1"),
    ("[fit.lr]\nepochs = 1.5\n", "fit.lr.epochs: expected an integer, got a number"),
    ("[fit]\nx_range = [5, -5]\n", "fit.x_range: the range must go from low to high"),
    ("[fit]\nx_range = [1, 2, 3]\n", "fit.x_range: at most 2 items, got 3"),
    ("[fit]\nhidden = [64, 100000]\n", "fit.hidden.1: 100000 is out of range; it must be >= 1 and <= 1024"),
    ("[fit]\nsamples = 10000000\n", "fit.samples: 10000000 is out of range"),
    ("[fit]\nseeds = 2019\n", "fit.seeds: expected a list, got an integer"),
    ("[report]\nlang = 'fr'\n", "report.lang: 'fr' is not one of 'zh', 'en'"),
    (
        "[student]\nid = 2024001\n",
        'student.id: expected a string, got an integer (2024001) (put it in quotes: "2024001")',
    ),
    ("[student]\nname = '  '\n", "student.name: must not be empty"),
    ("[cifar]\nphases = [{lr = 0.1}]\n", "cifar.phases.0.epochs: missing"),
    ("[cifar]\nphases = [{lr = 0.1, epochs = 5, warmup = 1}]\n", "cifar.phases.0.warmup: unknown key"),
    ("[cifar]\nmomentum = 1.5\n", "cifar.momentum: 1.5 is out of range"),
    ("[cifar]\ndownload = 'yes'\n", "cifar.download: expected true or false"),
    ("[cifar]\nbatch_size = 0\n", "cifar.batch_size: 0 is out of range"),
    ("[cifar]\nprecision = 'fp16'\n", "cifar.precision: 'fp16' is not one of 'auto', 'fp32', 'bf16'"),
    ("[fit.custom.search]\nlrs = [0.01, 0]\n", "fit.custom.search.lrs.1: 0 is out of range; it must be > 0"),
    ("[fit]\nepochs = 5\n", "fit.epochs: expected a table, got an integer"),
    ("[typo_section]\na = 1\n", "typo_section: unknown key"),
    ("[fit\n", "not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD_DECLARATIONS)
def test_bad_declarations_name_file_key_and_problem(tmp_path, text, message):
    with pytest.raises(UserError) as caught:
        load_text(tmp_path, text)
    text_of_error = str(caught.value)
    assert text_of_error.startswith(f"{tmp_path}/lab13.toml: "), text_of_error
    assert message in text_of_error
    assert "\n" not in text_of_error


def test_unknown_key_suggests_the_close_one(tmp_path):
    with pytest.raises(UserError, match="did you mean 'noise_std'"):
        load_text(tmp_path, "[fit]\nnoise_sdt = 1.0\n")


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(UserError, match="no such declaration file"):
        declaration.load(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    "override, path, expected",
    [
        ("cifar.phases.1.lr=0.005", ("cifar", "phases", 1, "lr"), 0.005),
        ("fit.lr.values=[0.5, 0.05]", ("fit", "lr", "values"), [0.5, 0.05]),
        ("student.name=Grace Hopper", ("student", "name"), "Grace Hopper"),
        ("student.id='007'", ("student", "id"), "007"),
        ("cifar.download=false", ("cifar", "download"), False),
        ("fit.epochs.values.0=50", ("fit", "epochs", "values", 0), 50),
    ],
)
def test_set_parses_toml_then_falls_back_to_string(tmp_path, override, path, expected):
    value = load_text(tmp_path, "", [override]).values
    for part in path:
        value = value[part]
    assert value == expected


@pytest.mark.parametrize(
    "override, message",
    [
        ("fit.lr.epochs", "expected KEY=VALUE"),
        ("=3", "expected KEY=VALUE"),
        ("fit..lr=3", "is not a dotted key path"),
        ("cifar.phases.7.lr=0.1", "list index must be 0..1"),
        ("fit.lr.epochs=many", "fit.lr.epochs: expected an integer, got a string"),
        ("fit.lr.epochs.x=1", "is a value, not a table"),
        ("fit.learning_rte=1", "fit.learning_rte: unknown key"),
    ],
)
def test_bad_set_is_one_clear_line(tmp_path, override, message):
    with pytest.raises(UserError, match=None) as caught:
        load_text(tmp_path, "", [override])
    assert message in str(caught.value)


def test_quick_scales_the_same_matrix_down(tmp_path):
    decl = declaration.load(write(tmp_path, ""), quick=True)
    assert decl.quick
    assert decl.values["fit"]["epochs"]["values"] == [10, 100, 1000, 5000]
    assert decl.values["fit"]["seeds"] == [2019, 2020]
    assert all(phase["epochs"] == 1 for phase in decl.values["cifar"]["phases"])
    assert decl.values["fit"]["custom"]["search"]["max_epochs"] == 200
    assert decl.values["cifar"]["train_subset"] == 2000


def test_key_is_stable_and_changes_with_any_parameter_or_version():
    params = {"lrs": [0.01], "epochs": [100, 1000], "seeds": [1, 2], "nested": {"a": 1}}
    same = {"nested": {"a": 1}, "seeds": [1, 2], "epochs": [100, 1000], "lrs": [0.01]}
    key = run_key("fit.epochs", params, "1")
    assert key == run_key("fit.epochs", same, "1")
    assert len(key) == 16
    changed = [
        run_key("fit.lr", params, "1"),
        run_key("fit.epochs", params, "2"),
        run_key("fit.epochs", {**params, "lrs": [0.02]}, "1"),
        run_key("fit.epochs", {**params, "seeds": [2, 1]}, "1"),
        run_key("fit.epochs", {**params, "nested": {"a": 2}}, "1"),
        run_key("fit.epochs", {**params, "extra": None}, "1"),
    ]
    assert len(set(changed) | {key}) == len(changed) + 1


def test_expanded_keys_follow_the_declaration(tmp_path):
    base = load_text(tmp_path, "")
    names = ["fit.epochs", "fit.lr", "fit.custom", "cifar"]
    first = {s.name: s.key for s in expand(base, names, {"cifar": {"data_fingerprint": "abc"}})}
    again = {s.name: s.key for s in expand(load_text(tmp_path, ""), names, {"cifar": {"data_fingerprint": "abc"}})}
    assert first == again and len(set(first.values())) == 4
    moved = {
        s.name: s.key
        for s in expand(load_text(tmp_path, "", ["fit.lr.epochs=2000"]), names, {"cifar": {"data_fingerprint": "abc"}})
    }
    assert moved["fit.lr"] != first["fit.lr"] and moved["fit.epochs"] == first["fit.epochs"]
    other_data = {s.name: s.key for s in expand(base, names, {"cifar": {"data_fingerprint": "xyz"}})}
    assert other_data["cifar"] != first["cifar"] and other_data["fit.lr"] == first["fit.lr"]
    renamed = {
        s.name: s.key
        for s in expand(load_text(tmp_path, "", ["student.name=Bo"]), names, {"cifar": {"data_fingerprint": "abc"}})
    }
    assert renamed == first  # who the student is changes no result


def test_only_selects_groups_and_names(tmp_path):
    assert select(load_text(tmp_path, ""), None) == ["fit.epochs", "fit.lr", "fit.custom", "cifar"]
    assert select(load_text(tmp_path, ""), ["fit"]) == ["fit.epochs", "fit.lr", "fit.custom"]
    assert select(load_text(tmp_path, ""), ["cifar", "fit.lr"]) == ["fit.lr", "cifar"]
    with pytest.raises(UserError, match="--only 'cifa': unknown experiment; valid names: fit, cifar, fit.epochs"):
        select(load_text(tmp_path, ""), ["cifa"])
