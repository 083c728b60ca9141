"""Make a saved checkpoint folder loadable WITHOUT hf-graph4mm, through ``trust_remote_code=True``.

transformers loads custom code from a checkpoint folder as flat sibling modules: the file
named in ``auto_map`` plus every file it reaches through ``from .name import ...``
(found with a regex, so only that spelling counts). Our modules live in a package tree
and import each other through ``...kernels`` or ``hf_graph4mm.kernels``, so
``register_for_auto_class`` alone would write a folder that cannot import itself.

:func:`export_code` therefore copies the module defining each class, follows every
module-level import of a ``hf_graph4mm`` module (transitively), writes each one as a flat
file and rewrites those imports to ``from .<flat_name> import ...``. Imports inside
functions (lazy, optional parts such as the Triton kernels) are not followed: when their
target is not exported they become an ``ImportError`` that says so.

:func:`add_remote_code` exports the config, the model classes, the processor and the
pipeline classes of the model's registered tasks in one pass (one set of flat names), gives the
exported config class its ``custom_pipelines`` (:mod:`.pipeline_code`) and writes ``auto_map``
into ``config.json`` (and ``processor_config.json``) so the Auto classes find the exported classes.
Which files are written follows from the imports alone, so the modules may gain or lose helpers.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .pipeline_code import append_custom_pipelines, custom_pipelines, pipelines_for

PACKAGE = "hf_graph4mm"

# The Auto classes we map a model class under, when transformers has it registered there.
MODEL_AUTO_CLASSES = (
    "AutoModel",
    "AutoModelForSequenceClassification",
    "AutoModelForCausalLM",
    "AutoModelForImageTextToText",
    "AutoModelForVision2Seq",
    "AutoModelForSeq2SeqLM",
)


def _module_file(module_name: str) -> Path | None:
    """The source file of a module of our package, or None when ``module_name`` is not a module."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin)


def _absolute_module(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names, resolving leading dots against ``current``."""
    if node.level == 0:
        return node.module or ""
    parts = current.split(".")
    if not is_package:  # a plain module's dots count from its package
        parts = parts[:-1]
    base = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    return ".".join(base + ([node.module] if node.module else []))


@dataclass
class _ImportSite:
    """One import statement of an exported file that names a module of our package."""

    node: ast.ImportFrom
    top_level: bool
    # (module, [(name, asname)]) for ``from module import names``; module objects have name None
    targets: list[tuple[str, str | None, str | None]] = field(default_factory=list)


def _import_sites(module_name: str, source: str, is_package: bool) -> list[_ImportSite]:
    """Every ``from ... import`` of a ``hf_graph4mm`` module in ``source``, top-level or not."""
    tree = ast.parse(source)
    sites: list[_ImportSite] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                        raise ValueError(
                            f"{module_name}: `import {alias.name}` cannot be exported as remote code; "
                            f"write `from {alias.name.rsplit('.', 1)[0]} import ...` instead"
                        )
            elif isinstance(child, ast.ImportFrom):
                absolute = _absolute_module(module_name, is_package, child)
                if absolute != PACKAGE and not absolute.startswith(PACKAGE + "."):
                    continue
                site = _ImportSite(child, top_level)
                for alias in child.names:
                    submodule = f"{absolute}.{alias.name}"
                    if alias.name != "*" and _module_file(submodule) is not None:
                        site.targets.append((submodule, None, alias.asname or alias.name))
                    else:
                        site.targets.append((absolute, alias.name, alias.asname))
                sites.append(site)
            # function and class bodies run later (lazily): not part of what the file needs to import
            inner_top = top_level and not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
            )
            visit(child, inner_top)

    visit(tree, True)
    return sites


def _flat_name(module_name: str, taken: dict[str, str]) -> str:
    """A file stem for ``module_name`` unique among the exported files (``kernels.backends`` -> ``backends``)."""
    parts = module_name.split(".")
    for width in range(1, len(parts) + 1):
        candidate = "_".join(parts[-width:])
        if taken.get(candidate, module_name) == module_name:
            return candidate
    raise ValueError(f"cannot give {module_name} a unique file name among {sorted(taken)}")


def _collect(roots: list[str]) -> dict[str, str]:
    """``{module: flat_name}`` for the root modules and every module they import at module level."""
    flat: dict[str, str] = {}
    taken: dict[str, str] = {}
    pending = list(roots)
    while pending:
        module_name = pending.pop(0)
        if module_name in flat:
            continue
        path = _module_file(module_name)
        if path is None:
            raise ValueError(f"cannot find the source of module {module_name}")
        name = _flat_name(module_name, taken)
        flat[module_name], taken[name] = name, module_name
        sites = _import_sites(module_name, path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for site in sites:
            if site.top_level:
                pending.extend(target for target, _, _ in site.targets if target not in flat)
    return flat


def _rewrite_site(site: _ImportSite, flat: dict[str, str], indent: str) -> list[str]:
    """Replacement lines for one import statement, in the exported (flat) layout."""
    names_by_module: dict[str, list[str]] = {}
    lines: list[str] = []
    for target, name, asname in site.targets:
        if target not in flat:  # only possible for lazy imports: leave a clear failure in their place
            return [
                f"{indent}raise ImportError({target!r} + ' is not part of this exported checkpoint code; '"
                f" 'install hf-graph4mm to use it')"
            ]
        if name is None:  # a module object: the first line lets transformers see (and copy) the file
            lines.append(f"{indent}from .{flat[target]} import __name__ as _{flat[target]}_module_name")
            lines.append(f"{indent}from . import {flat[target]} as {asname}")
        else:
            names_by_module.setdefault(target, []).append(name if asname is None else f"{name} as {asname}")
    for target, names in names_by_module.items():
        lines.append(f"{indent}from .{flat[target]} import {', '.join(names)}")
    return lines


def _header(module_name: str) -> str:
    return f"# Exported from {module_name} by hf_graph4mm.hub.remote_code for trust_remote_code loading.\n"


def _check_not_taken(target: Path, module_name: str) -> None:
    """Refuse to overwrite a file exported from another module (two exports that named files differently)."""
    if not target.is_file():
        return
    with open(target, encoding="utf-8") as handle:
        first_line = handle.readline()
    if first_line.startswith("# Exported from ") and first_line != _header(module_name):
        raise ValueError(
            f"{target} already holds the export of another module ({first_line.split()[3]}), "
            f"not of {module_name}; save into an empty folder"
        )


def _exported_source(module_name: str, flat: dict[str, str]) -> str:
    path = _module_file(module_name)
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    sites = _import_sites(module_name, source, path.name == "__init__.py")
    # replace from the bottom up so earlier line numbers stay valid
    for site in sorted(sites, key=lambda s: s.node.lineno, reverse=True):
        first = lines[site.node.lineno - 1]
        indent = first[: len(first) - len(first.lstrip())]
        lines[site.node.lineno - 1 : site.node.end_lineno] = _rewrite_site(site, flat, indent)
    return _header(module_name) + "\n".join(lines) + "\n"


def export_code(classes: list[type], save_directory: str | os.PathLike) -> dict[str, str]:
    """Write self-contained flat copies of the modules defining ``classes`` into ``save_directory``.

    Args:
        classes: classes of our package (configs, models, processors).
        save_directory: the checkpoint folder.

    Returns:
        ``{class name: "flat_module.ClassName"}``, the references ``auto_map`` needs.
    """
    for cls in classes:
        if not cls.__module__.startswith(PACKAGE + "."):
            raise ValueError(f"{cls.__qualname__} is not defined in {PACKAGE}; nothing to export")
    flat = _collect([cls.__module__ for cls in classes])
    directory = Path(save_directory)
    directory.mkdir(parents=True, exist_ok=True)
    for module_name, name in flat.items():
        target = directory / f"{name}.py"
        _check_not_taken(target, module_name)
        target.write_text(_exported_source(module_name, flat), encoding="utf-8")
    return {cls.__name__: f"{flat[cls.__module__]}.{cls.__name__}" for cls in classes}


def auto_classes_of(config_class: type) -> dict[str, type]:
    """``{Auto class name: model class}`` for every Auto class that maps ``config_class`` to one of ours."""
    import transformers

    found = {}
    for auto_name in MODEL_AUTO_CLASSES:
        mapping = getattr(getattr(transformers, auto_name, None), "_model_mapping", None)
        if mapping is None:
            continue
        try:
            model_class = mapping[config_class]
        except KeyError:
            continue
        if model_class.__module__.startswith(PACKAGE + "."):
            found[auto_name] = model_class
    return found


def _update_json(path: Path, key: str, value: dict) -> None:
    with open(path, encoding="utf-8") as handle:
        content = json.load(handle)
    content[key] = value
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2, sort_keys=True)
        handle.write("\n")


def add_remote_code(model, save_directory: str | os.PathLike, processor=None) -> dict[str, str]:
    """Export the code of an already saved ``model`` (and ``processor``) and write the ``auto_map``s.

    Call after ``model.save_pretrained(save_directory)`` (and ``processor.save_pretrained``).

    Returns:
        the ``auto_map`` written into ``config.json``.
    """
    directory = Path(save_directory)
    config_file = directory / "config.json"
    if not config_file.is_file():
        raise ValueError(
            f"{config_file} does not exist: call model.save_pretrained({str(directory)!r}) first"
        )
    model_class = type(model)
    mapped = auto_classes_of(model_class.config_class)
    if model_class not in mapped.values():  # not registered: at least AutoModel finds it
        mapped.setdefault("AutoModel", model_class)
    pipelines = pipelines_for(model_class)
    classes = [model_class.config_class, *dict.fromkeys(mapped.values())]
    classes += [entry.pipeline_class for entry in pipelines]
    processor_class = None
    if processor is not None and type(processor).__module__.startswith(PACKAGE + "."):
        processor_class = type(processor)
        classes.append(processor_class)
    references = export_code(classes, directory)
    if pipelines:
        config_reference = references[model_class.config_class.__name__]
        append_custom_pipelines(
            directory / f"{config_reference.split('.')[0]}.py",
            model_class.config_class.__name__,
            custom_pipelines(pipelines, references),
        )

    auto_map = {"AutoConfig": references[model_class.config_class.__name__]}
    auto_map.update({name: references[cls.__name__] for name, cls in mapped.items()})
    if processor_class is not None:
        auto_map["AutoProcessor"] = references[processor_class.__name__]
        processor_file = directory / "processor_config.json"
        if not processor_file.is_file():
            raise ValueError(f"{processor_file} does not exist: call processor.save_pretrained first")
        _update_json(processor_file, "auto_map", {"AutoProcessor": references[processor_class.__name__]})
    _update_json(config_file, "auto_map", auto_map)
    return auto_map


def add_processor_remote_code(processor, save_directory: str | os.PathLike) -> dict[str, str]:
    """Export an already saved processor's code and point ``AutoProcessor`` at it in processor_config.json."""
    directory = Path(save_directory)
    processor_file = directory / "processor_config.json"
    if not processor_file.is_file():
        raise ValueError(f"{processor_file} does not exist: call processor.save_pretrained first")
    processor_class = type(processor)
    references = export_code([processor_class], directory)
    auto_map = {"AutoProcessor": references[processor_class.__name__]}
    _update_json(processor_file, "auto_map", auto_map)
    return auto_map


__all__ = ["add_processor_remote_code", "add_remote_code", "auto_classes_of", "export_code"]
