"""``ritme teams-manifest OUT.zip``: an installable package.

The manifest and its Dutch localization are validated against Microsoft's own JSON schemas
of the version they name, shipped in ``schema/`` (see its README); Teams' limits that the
schema does not state (icon sizes, the command list) are checked here too.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import jsonschema
import pytest

from adapters.teams.manifest import MANIFEST_VERSION
from bot.cli import main
from bot.commands.registry import teams_menu

APP_ID = "3f1b6c3e-2a6e-4c39-9a8e-6c1d2b7f0a11"
SCHEMAS = Path(__file__).parent / "schema"
COMMANDS = teams_menu()  # the registry's commands marked for the Teams command list


def schema_errors(document: dict[str, object], schema_file: str) -> list[str]:
    schema = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def pixels(png: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and RGBA pixels of an unfiltered 8-bit RGBA PNG (as we write them)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert (depth, colour) == (8, 6)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 4 * width
    out = []
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        assert row[0] == 0
        out += [tuple(row[1 + 4 * x : 5 + 4 * x]) for x in range(width)]
    return width, height, out


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> zipfile.ZipFile:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MicrosoftAppId", APP_ID)  # what the manifest holds, and nothing more:
    monkeypatch.setenv("RITME_PUBLIC_URL", "https://ritme.school.example/")
    for unneeded in ("MicrosoftAppPassword", "RITME_SECRET_KEY"):  # no password or secret is in a manifest
        monkeypatch.delenv(unneeded, raising=False)
    out = tmp_path / "ritme-teams.zip"
    assert main(["teams-manifest", str(out)]) == 0
    return zipfile.ZipFile(out)


def test_package_has_the_files_at_its_root(package: zipfile.ZipFile) -> None:
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "nl.json", "outline.png"]


def test_manifest_and_localization_validate_against_the_official_schemas(package: zipfile.ZipFile) -> None:
    m = json.loads(package.read("manifest.json"))
    nl = json.loads(package.read("nl.json"))
    assert (
        m["$schema"]
        == f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
    )
    schemas = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}"
    assert nl["$schema"] == f"{schemas}/MicrosoftTeams.Localization.schema.json"
    assert f"v{MANIFEST_VERSION}" in (SCHEMAS / "README.md").read_text(
        encoding="utf-8"
    )  # the schemas shipped are that version
    assert schema_errors(m, "MicrosoftTeams.schema.json") == []
    assert schema_errors(nl, "MicrosoftTeams.Localization.schema.json") == []


def test_schema_validation_catches_a_broken_manifest(package: zipfile.ZipFile) -> None:
    m = json.loads(package.read("manifest.json"))
    del m["developer"]
    m["bots"][0]["scopes"] = ["everywhere"]
    errors = schema_errors(m, "MicrosoftTeams.schema.json")
    assert any("'developer' is a required property" in e for e in errors)
    assert any(e.startswith("bots/0/scopes/0") for e in errors)


def test_manifest_has_what_teams_expects(package: zipfile.ZipFile) -> None:
    m = json.loads(package.read("manifest.json"))
    assert m["manifestVersion"] == MANIFEST_VERSION
    assert re.fullmatch(r"\d+\.\d+\.\d+", m["version"])
    assert m["id"] == APP_ID
    for key in ("name", "websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert m["developer"][key]
        if key != "name":
            assert m["developer"][key].startswith("https://")
    assert 0 < len(m["name"]["short"]) <= 30 and len(m["name"]["full"]) <= 100
    assert 0 < len(m["description"]["short"]) <= 80 and len(m["description"]["full"]) <= 4000
    assert m["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", m["accentColor"])
    bot = m["bots"][0]
    assert bot["botId"] == APP_ID
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    commands = bot["commandLists"][0]["commands"]
    assert 0 < len(commands) <= 10
    assert [c["title"] for c in commands] == [t for t, _ in COMMANDS]
    assert all(0 < len(c["title"]) <= 32 and 0 < len(c["description"]) <= 128 for c in commands)
    assert m["validDomains"] == ["ritme.school.example"]


def test_dutch_localization_covers_the_visible_strings(package: zipfile.ZipFile) -> None:
    m = json.loads(package.read("manifest.json"))
    nl = json.loads(package.read("nl.json"))
    assert m["localizationInfo"]["additionalLanguages"] == [{"languageTag": "nl", "file": "nl.json"}]
    assert nl["description.short"] != m["description"]["short"]
    for i in range(len(COMMANDS)):
        assert nl[f"bots[0].commandLists[0].commands[{i}].description"]


def test_icons_have_the_sizes_teams_wants(package: zipfile.ZipFile) -> None:
    width, height, colour = pixels(package.read("color.png"))
    assert (width, height) == (192, 192)
    assert all(p[3] == 255 for p in colour)
    width, height, outline = pixels(package.read("outline.png"))
    assert (width, height) == (32, 32)
    assert outline[0][3] == 0  # transparent background
    assert {p for p in outline if p[3]} == {(255, 255, 255, 255)}  # white outline only


def test_without_an_app_id_it_says_which_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    monkeypatch.setenv("RITME_PUBLIC_URL", "https://ritme.school.example/")
    assert main(["teams-manifest", str(tmp_path / "x.zip")]) == 2
    err = capsys.readouterr().err
    assert "MicrosoftAppId" in err and "RITME_PUBLIC_URL" not in err
    assert not (tmp_path / "x.zip").exists()


def test_everything_missing_is_named_at_once_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MicrosoftAppId", "RITME_PUBLIC_URL", "MicrosoftAppPassword", "RITME_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["teams-manifest", str(tmp_path / "x.zip")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ritme: configuration error: MicrosoftAppId, RITME_PUBLIC_URL: ")
    assert "MicrosoftAppPassword" not in err and "RITME_SECRET_KEY" not in err


@pytest.mark.parametrize(
    ("variable", "value"), [("MicrosoftAppId", "not-a-guid"), ("RITME_PUBLIC_URL", "ritme.school.example")]
)
def test_a_value_that_is_no_app_id_or_address_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("RITME_PUBLIC_URL", "https://ritme.school.example/")
    monkeypatch.setenv(variable, value)
    assert main(["teams-manifest", str(tmp_path / "x.zip")]) == 2
    assert capsys.readouterr().err.startswith(f"ritme: configuration error: {variable}: '{value}' is not")
