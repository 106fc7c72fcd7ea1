"""Loading the settings: the TOML file, the CIRCLEBACK_ environment, and every problem said with
the file (or variable), the key path and what is allowed (docs/STYLE.md #6)."""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from circleback.connectors.accounts import expand_path
from circleback.connectors.registry import ACCOUNT_KINDS

from ..errors import ConfigError
from .model import KeyProblem, Settings

log = logging.getLogger(__package__)  # "circleback.daemon.config", as the user has always seen it

ENV_PREFIX = "CIRCLEBACK_"
ENV_NESTED_DELIMITER = "__"


def _setting_path(variable: str) -> tuple[str, ...] | None:
    """("drafting", "budget_per_week") for CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK, any case; None for others."""
    name = variable.lower()
    prefix = ENV_PREFIX.lower()
    if not name.startswith(prefix):
        return None
    path = tuple(name.removeprefix(prefix).split(ENV_NESTED_DELIMITER))
    return path if path[0] in Settings.model_fields else None  # not CIRCLEBACK_CONFIG, CIRCLEBACK_STATE_DIR


class Environment(NamedTuple):
    """What the CIRCLEBACK_ variables set, so an error in it names the variable, not the file."""

    values: dict[str, Any]  # nested raw values, as pydantic-settings read them
    variables: dict[tuple[str, ...], str]  # key path -> the variable's name as the environment spells it

    def variable_for(self, loc: tuple[str | int, ...]) -> str | None:
        """The variable whose value is at ``loc``, or None when the file (or a default) gave it."""
        node: Any = self.values
        for part in loc:
            if not isinstance(node, dict):
                break  # inside a list or table the variable gave whole, as JSON
            if part not in node:
                return None
            node = node[part]
        given = [path for path in self.variables if loc and loc[: len(path)] == path]
        return self.variables[max(given, key=len)] if given else None


NO_ENVIRONMENT = Environment({}, {})


_LIST_TABLES = ("accounts", "people")


def read_environment() -> Environment:
    """The settings the environment gives, read by pydantic-settings.

    pydantic-settings (its many sources, dotenv, argparse) adds 15-20 ms to what ``circleback
    status`` takes to start (benchmarks/core.py), so it is imported only when a variable names
    a setting; most runs set none. ``Settings`` is therefore a plain
    model, and this is the one place the environment is read.
    """
    variables = {path: name for name in os.environ if (path := _setting_path(name))}
    if not variables:
        return NO_ENVIRONMENT
    tables = sorted(name for path, name in variables.items() if path[0] in _LIST_TABLES and len(path) > 1)
    if tables:  # pydantic-settings would replace the whole list and blame the file for it
        raise ConfigError("\n".join(
            f"environment variable {name}: one key of [[accounts]] or [[people]] cannot be set from the environment "
            "(each is a list of tables); set it in the config file" for name in tables))
    from pydantic_settings import EnvSettingsSource, SettingsError

    source = EnvSettingsSource(
        Settings,  # type: ignore[arg-type]  # the source reads only its fields and the options given here
        case_sensitive=False,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
    )
    try:
        return Environment(source(), variables)
    except SettingsError as exc:
        raise ConfigError(_unparsable(str(exc), variables)) from None


def _unparsable(message: str, variables: dict[tuple[str, ...], str]) -> str:
    """Every variable that had to be JSON and is not, named with its value and key path.

    pydantic-settings stops at the first such value and names only its top-level field
    ("me" for CIRCLEBACK_ME__ADDRESSES), so the variables are checked here one by one.
    """
    lines = [
        f"{_variable_and_value(name)}: {_key_path(path)}: {what}"
        for path, name in variables.items()
        if (what := _not_json(path, os.environ[name]))
    ]
    return "\n".join(lines) or f"environment: {message}"


# Examples for the lists and tables people most often set from the environment.
_JSON_EXAMPLES = {("me", "addresses"): '["you@example.org"]', ("cadence", "groups"): '{"friends": "6w"}'}


def _not_json(path: tuple[str, ...], value: str) -> str | None:
    """How to write the list or table at ``path``, when its variable must be JSON and is not."""
    kinds = _kinds_of(_annotation_at(path))
    if len(kinds) != 1:
        return None  # an optional table (quiet_hours) may also be a string: pydantic-settings passes it on
    if get_origin(kinds[0]) is list:
        of_tables = any(_is_model(kind) for kind in _kinds_of(get_args(kinds[0])[0]))  # accounts, people
        shape, example = "a list", '[{"key": "value"}]' if of_tables else '["a", "b"]'
    elif get_origin(kinds[0]) is dict or _is_model(kinds[0]):
        shape, example = "a table", '{"key": "value"}'
    else:
        return None
    import json  # an error path: not on every start

    try:
        json.loads(value)
    except ValueError:
        return f"{shape} is written as JSON, like {_JSON_EXAMPLES.get(path, example)!r}"
    return None


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _kinds_of(annotation: Any) -> list[Any]:
    """The types a value of ``annotation`` may have, ``Annotated`` and unions taken apart."""
    if get_origin(annotation) is Annotated:
        return _kinds_of(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return [kind for arg in get_args(annotation) for kind in _kinds_of(arg)]
    return [annotation]


def _annotation_at(loc: tuple[str | int, ...]) -> Any:
    """The annotation of the value at ``loc`` (pydantic's, union tags included), or None where there is none."""
    annotation: Any = Settings
    for part in loc:
        inner = (_inside(kind, part) for kind in _kinds_of(annotation))
        annotation = next((a for a in inner if a is not None), None)
        if annotation is None:
            return None
    return annotation


def _inside(kind: Any, part: str | int) -> Any:
    if get_origin(kind) is list:
        return get_args(kind)[0] if isinstance(part, int) else None
    if get_origin(kind) is dict:
        return get_args(kind)[1]
    if not _is_model(kind):
        return None
    if part in kind.model_fields:
        return kind.model_fields[part].annotation
    tag = kind.model_fields.get("kind")
    return kind if tag is not None and part in get_args(tag.annotation) else None  # an account's kind


def _variable_and_value(name: str) -> str:
    return f"environment variable {name}={os.environ[name]!r}"


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``, table by table, as pydantic-settings merges its sources."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _user_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """pydantic's ``loc`` less the parts the user never wrote: union tags and validator names."""
    out: list[str | int] = []
    for part in loc:
        if part in ACCOUNT_KINDS and out[:1] == ["accounts"] and len(out) == 2:
            continue  # the discriminator's tag, not a key the user wrote
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
    return tuple(out)


Names = dict[tuple[str, int], str]  # ("accounts", 1) -> "work": what the user calls that table


def _names(data: dict[str, Any]) -> Names:
    """The name of each [[accounts]] and [[people]] table, as written: errors say which one."""
    return {
        (key, i): item["name"]
        for key in ("accounts", "people")
        for i, item in enumerate(data.get(key) or [])
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip()
    }


def _key_path(loc: tuple[str | int, ...], names: Names | None = None) -> str:
    """``accounts[1] ("work").path``: the index, and the table's name when it has one."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            name = (names or {}).get((str(loc[i - 1]), part)) if i else None
            out += f' ("{name}")' if name else ""
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _explain(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return _unknown_key(tuple(err["loc"]))
    if kind == "union_tag_invalid":
        got = err.get("ctx", {}).get("tag", "?")
        return f"kind: must be one of {', '.join(repr(k) for k in ACCOUNT_KINDS)} (got {got!r})"
    if kind == "union_tag_not_found":
        return f"missing 'kind': one of {', '.join(repr(k) for k in ACCOUNT_KINDS)}"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    """What to say of the key at pydantic's ``loc``, with the nearest key its table allows."""
    table = [key for model in _kinds_of(_annotation_at(loc[:-1])) if _is_model(model) for key in model.model_fields]
    return f"unknown key{_did_you_mean(str(loc[-1]), table) or ' (check the spelling against config.example.toml)'}"


def _did_you_mean(word: str, choices: list[str]) -> str:
    """' (did you mean 'friends'?)' when ``word`` is close to one of ``choices``, else ''."""
    import difflib  # only when there is a mistake to explain: not on every start

    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


Problem = tuple[tuple[str | int, ...], str]  # key path, what is wrong and what is allowed


def _problems(exc: ValidationError) -> list[Problem]:
    """pydantic's errors as key paths the user wrote, a ``KeyProblem``'s at the key it names."""
    out = []
    for err in exc.errors():
        loc = _user_loc(tuple(err["loc"]))
        cause = err.get("ctx", {}).get("error")
        out.append((loc + cause.loc, str(cause)) if isinstance(cause, KeyProblem) else (loc, _explain(err)))
    return out


def format_problems(source: str, problems: list[Problem], env: Environment = NO_ENVIRONMENT,
                    names: Names | None = None) -> str:
    """One line per problem, naming the file and key, or the environment variable and its value."""
    lines = []
    for loc, what in problems:
        variable = env.variable_for(loc)
        where = _variable_and_value(variable) if variable else source
        lines.append(f"{where}: {_key_path(loc, names)}: {what}")
    return "\n".join(lines)


def written_config_problems(data: dict[str, Any]) -> list[Problem]:
    """Rules for a config a person wrote, checked on load but not by the model.

    Tests and the demo build partial ``Settings`` in code (no addresses); a file that circleback
    runs from must say who the user is. The rules read the file's (and environment's) raw values,
    so they run even when the model finds problems too, and every problem is reported at once;
    a value of the wrong type is left to the model to report.
    """
    problems: list[Problem] = []
    me = data.get("me", {})
    if isinstance(me, dict) and me.get("addresses", []) == []:
        problems.append((("me", "addresses"), (
            "no address given: without the addresses you write from circleback cannot tell mail you sent "
            'from mail you received; add a line like addresses = ["you@example.org"] under [me]'
        )))  # fmt: skip
    templates_dir = _table(data, "drafting").get("templates_dir")
    if isinstance(templates_dir, str) and templates_dir and (what := not_a_folder(Path(expand_path(templates_dir)))):
        why = f"{expand_path(templates_dir)} {what} (create it, or remove the key to use the built-in templates)"
        problems.append((("drafting", "templates_dir"), why))
    return problems


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    """The raw table at ``key``; empty when it is missing or not a table (the model reports that)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def not_a_folder(path: Path) -> str | None:
    """Why ``path`` cannot be a folder of templates ("does not exist", "is not a folder"), or None."""
    if path.is_dir():
        return None
    return "is not a folder" if path.exists() else "does not exist"


def group_warnings(data: dict[str, Any]) -> list[Problem]:
    """One warning per group name that ``[cadence] groups`` does not declare, at the first key naming it.

    Such a group is a label on the default cadence, which is allowed (upgraded configs use groups
    as labels); the warning catches a typo, which would otherwise lose its cadence without a word.
    """
    declared = _table(data, "cadence").get("groups", {})
    if not isinstance(declared, dict):
        return []
    named: dict[str, list[tuple[str | int, ...]]] = {}
    for loc, group in _named_groups(data):
        if group not in declared:
            named.setdefault(group, []).append(loc)
    return [(locs[0], _undeclared_group(group, sorted(declared), len(locs) - 1)) for group, locs in named.items()]


def _named_groups(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every group a person, a weight or ``linkedin_groups`` names, with its key path (other raw types skipped)."""
    people = data.get("people")
    linkedin = _table(data, "drafting").get("linkedin_groups")
    named: list[tuple[tuple[str | int, ...], Any]] = [
        *((("people", i, "group"), p.get("group")) for i, p in enumerate(_list(people)) if isinstance(p, dict)),
        *((("cadence", "weights", g), g) for g in _table(_table(data, "cadence"), "weights")),
        *((("drafting", "linkedin_groups", i), g) for i, g in enumerate(_list(linkedin))),
    ]
    return [(loc, group) for loc, group in named if isinstance(group, str) and group]


def _undeclared_group(group: str, declared: list[str], elsewhere: int) -> str:
    hint = _did_you_mean(group, declared)
    also = f" (named at {elsewhere} more key{'s' if elsewhere > 1 else ''} too)" if elsewhere else ""
    now = ", ".join(declared) or "(none)"
    return (
        f"{group!r} is not declared in [cadence] groups{hint}, so it is a label on the default cadence{also}; "
        f"declared: {now}"
    )


def load_settings(path: Path | None, *, environ: bool = True) -> Settings:
    """Read and validate the config file, the environment's CIRCLEBACK_ settings laid over it.

    ``path=None`` means all defaults, without the rules of ``written_config_problems``;
    ``environ=False`` (the demo, tests) ignores the environment. Warnings (``group_warnings``)
    are logged, so ``config check`` and the service's log show them; problems raise one
    ``ConfigError`` with a line each.
    """
    data = _read_config(path) if path is not None else {}
    source = str(path) if path else "(defaults)"
    env = read_environment() if environ else NO_ENVIRONMENT
    data = _merged(data, env.values)
    problems = written_config_problems(data) if path is not None else []
    warnings = group_warnings(data) if path is not None else []
    names = _names(data)
    for line in format_problems(source, warnings, env, names).splitlines():
        log.warning("%s", line)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(format_problems(source, _problems(exc) + problems, env, names)) from None
    if problems:
        raise ConfigError(format_problems(source, problems, env, names))
    return settings


def _read_config(path: Path) -> dict[str, Any]:
    """The config file's TOML, with ``people_file``'s people added."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file (run `circleback config init` to write a commented one there, or pass --config FILE)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return _with_people_file(data, Path(path)) if isinstance(data.get("people_file"), str) else data


def _with_people_file(data: dict[str, Any], config_path: Path) -> dict[str, Any]:
    """``[[people]]`` from ``people_file`` appended to the config's own; a relative path is beside the config."""
    target = Path(expand_path(data["people_file"]))
    if not target.is_absolute():
        target = config_path.parent / target
    try:
        extra = tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: people_file: {target}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{target}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{target}: cannot read: {exc}") from None
    unknown = sorted(set(extra) - {"people"})
    if unknown:
        raise ConfigError(f"{target}: only [[people]] entries belong in a people file; found {', '.join(unknown)}")
    people = extra.get("people", [])
    if not isinstance(people, list):
        raise ConfigError(f"{target}: people: write entries as [[people]] tables")
    return {**data, "people": [*data.get("people", []), *people]}


def what_changed(old: Settings, new: Settings) -> str:
    """What a reload changed, in words and without values (a password or a note stays out of the log):
    "accounts: added work, changed home (poll_interval); people: added Ann Lee; drafting (budget_per_week)"."""
    parts: list[str] = []
    for section in ("accounts", "people"):
        before = {_entry_name(e): e.model_dump() for e in getattr(old, section)}
        after = {_entry_name(e): e.model_dump() for e in getattr(new, section)}
        said = [f"added {', '.join(n for n in after if n not in before)}" if after.keys() - before.keys() else "",
                f"removed {', '.join(n for n in before if n not in after)}" if before.keys() - after.keys() else "",
                ", ".join(f"changed {n} ({', '.join(_keys_changed(before[n], after[n]))})"
                          for n in after if n in before and before[n] != after[n])]
        if any(said):
            parts.append(f"{section}: " + "; ".join(s for s in said if s))
    for section in type(new).model_fields:
        if section in ("accounts", "people"):
            continue
        was, now = getattr(old, section), getattr(new, section)
        if was == now:
            continue
        if hasattr(now, "model_dump"):
            parts.append(f"{section} ({', '.join(_keys_changed(was.model_dump(), now.model_dump()))})")
        else:
            parts.append(section)
    return "; ".join(parts) or "no setting changed"


def _entry_name(entry: Any) -> str:
    return str(getattr(entry, "name", "") or getattr(entry, "emails", ["?"])[0])


def _keys_changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
