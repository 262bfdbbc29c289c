"""MkDocs hooks of the docs site (``mkdocs.yml``): the API reference and a nav nothing falls out of.

* **API reference pages are generated**, one per public module of ``bngeom`` (no ``_`` in its
  dotted name, not one of the 0.1 alias modules), as ``reference/<module>.md`` holding a
  mkdocstrings ``::: <module>`` directive restricted to the names the module defines and
  exports (``__all__``); names it re-exports link to the module that documents them. A new
  module gets its page without any edit.
* **No page is left out of the nav**: a page of ``docs/`` that ``mkdocs.yml``'s ``nav`` does
  not list is appended to the section ``Tutorials`` (``tutorial*.md``), ``API reference``
  (``reference/*.md``) or ``Guides`` (any other page), with an INFO line saying so; list it in
  ``nav`` to choose its place and title.
* **Links to files outside ``docs/``** (``../README.md``, ``../examples/x.py``), which work on
  GitHub but have no page on the site, are shown as the file's path; 2-space nested lists
  are indented to the 4 spaces Python-Markdown needs.
* :class:`RstToMarkdown`, a griffe extension (``mkdocs.yml``, mkdocstrings ``extensions``),
  turns the reStructuredText roles of the docstrings into Markdown: ``:math:`x``` into
  ``\\(x\\)`` (MathJax), ``.. math::`` into a display block, ``:func:`f``` (and ``:class:``,
  ``:mod:``, ``:meth:``, ``:attr:``, ``:data:``, ``:obj:``) into code linked to ``f``'s
  reference entry when there is one; it also takes the parameters' defaults shown in the
  reference from the signatures.
"""

from __future__ import annotations

import ast
import html
import logging
import re
from pathlib import Path
from typing import Any, NamedTuple

import griffe
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent
PACKAGE = "bngeom"
REFERENCE_DIR = "reference"
OVERVIEW_PAGE = "api.md"  # the one-page API overview: its names link to the reference
REFERENCE_SECTION = "API reference"
TUTORIAL_SECTION = "Tutorials"
OTHER_SECTION = "Guides"
# Subpackages in the order of the layers (docs/architecture.md); others follow, sorted.
LAYER_ORDER = ("geometry", "nn", "adapters", "dynamics", "wasserstein", "experiments",
               "testing", "cli")
# A 0.1 import path replaces itself in sys.modules by the moved module (see conftest.py).
ALIAS_MARKER = "sys.modules[__name__] ="

log = logging.getLogger("mkdocs.hooks.bngeom")


# ---------------------------------------------------------------- the reference pages


def _is_alias_module(module: griffe.Module) -> bool:
    path = module.filepath
    return isinstance(path, Path) and ALIAS_MARKER in path.read_text(encoding="utf-8")


def _alias_module_target(module: griffe.Module) -> str | None:
    """The module that a 0.1 alias module puts in its place (``sys.modules[__name__] = x``)."""
    path = module.filepath
    source = path.read_text(encoding="utf-8") if isinstance(path, Path) else ""
    match = re.search(r"sys\.modules\[__name__\]\s*=\s*(\w+)", source)
    member = module.members.get(match.group(1)) if match else None
    return member.target_path if member is not None and member.is_alias else None


def _walk(module: griffe.Module) -> list[griffe.Module]:
    found = [module]
    for sub in module.modules.values():
        if sub.is_alias or sub.name.startswith("_") or _is_alias_module(sub):
            continue
        found.extend(_walk(sub))
    return found


def _sort_key(path: str) -> tuple[int, str]:
    parts = path.split(".")
    if len(parts) == 1:
        return (-1, path)
    rank = LAYER_ORDER.index(parts[1]) if parts[1] in LAYER_ORDER else len(LAYER_ORDER)
    return (rank, path)


def public_modules() -> list[griffe.Module]:
    """The public modules of the package, parent before children, in the order of the layers."""
    package = griffe.load(PACKAGE, search_paths=[str(ROOT)], resolve_aliases=False)
    return sorted(_walk(package), key=lambda m: _sort_key(m.path))


def _exports(module: griffe.Module) -> list[str]:
    """The names the module exports: its ``__all__`` if it has one, else its public members.

    A starred literal in ``__all__`` (``[..., *_LAZY]`` with ``_LAZY`` a dict or list) is
    expanded (:func:`_starred`). An ``__all__`` that is computed (``__all__ =
    list(other.__all__)`` after a wildcard import) reads as empty statically; the wildcard's
    public names stand for it then.
    """
    names: list[str] = []
    for item in module.exports or ():
        names.extend([item] if isinstance(item, str) else _starred(module, item))
    if module.exports is None or (not names and _has_wildcard_import(module)):
        return [name for name in module.members if not name.startswith("_")]
    return list(dict.fromkeys(names))  # griffe may list a name twice


def _starred(module: griffe.Module, item: Any) -> dict[str, str | None]:
    """The names of a starred literal in ``__all__``; for a dict ``{name: "module.path"}`` (a
    table of lazy imports), the module each name is imported from."""
    member = module.members.get(getattr(item, "name", ""))
    try:
        value = ast.literal_eval(str(member.value)) if member is not None else ()
    except (ValueError, SyntaxError, AttributeError):
        return {}
    if isinstance(value, dict):
        return {name: home if isinstance(home, str) else None
                for name, home in value.items() if isinstance(name, str)}
    return {name: None for name in value if isinstance(name, str)}


def _lazy_home(module: griffe.Module, name: str) -> str | None:
    """The module a lazily exported ``name`` comes from, if ``__all__`` says (see _starred)."""
    for item in module.exports or ():
        if not isinstance(item, str):
            home = _starred(module, item).get(name)
            if home:
                return home
    return None


def _has_wildcard_import(module: griffe.Module) -> bool:
    path = module.filepath
    return isinstance(path, Path) and " import *" in path.read_text(encoding="utf-8")


def _root(module: griffe.Module) -> griffe.Module:
    while module.parent is not None:
        module = module.parent
    return module


def _final_target(module: griffe.Module, path: str) -> str:
    """Follow a chain of re-exports (``a.X`` imports ``b.X``, which imports ``c.X``) to its end."""
    root = _root(module)
    for _ in range(16):
        head, _, rest = path.partition(".")
        try:
            obj = root[rest] if head == root.name and rest else None
        except (KeyError, griffe.AliasResolutionError):
            return path
        if obj is None or not obj.is_alias:
            return path
        path = obj.target_path
    return path


def _export_target(module: griffe.Module, name: str) -> str | None:
    """Where an exported name is defined (its dotted path); None for the module's own objects.

    A name exported lazily (no member to follow) is returned as ``module.name``.
    """
    member = module.members.get(name)
    if member is None:
        home = _lazy_home(module, name)
        return _final_target(module, f"{home}.{name}") if home else f"{module.path}.{name}"
    if member.is_module and _is_alias_module(member):
        return _alias_module_target(member)
    if member.is_alias:
        return _final_target(module, member.target_path)
    return None


def _is_private(path: str) -> bool:
    return any(part.startswith("_") for part in path.split("."))


class Reference(NamedTuple):
    """What the reference pages document, computed once from the package's source."""

    modules: list[griffe.Module]
    #: module path -> the names its page documents, in ``__all__`` order
    own: dict[str, list[str]]
    #: dotted path -> object, for every object a page documents (modules included)
    documented: dict[str, griffe.Object]
    #: module.name -> the documented path of what that exported name is, for re-exports
    reexports: dict[str, str | None]


def load_reference() -> Reference:
    """The public modules, what each documents, and where each re-exported name is documented.

    A module documents the objects it defines and exports, and the exported objects of private
    modules (``bngeom._covariance.NSigma`` exported by ``bngeom.geometry``): the first public
    module that exports one, in layer order with the package itself last, is its home. A name
    exported lazily is followed through the ``{name: module}`` table of ``__all__``, or else
    found by name among the documented objects when exactly one module documents it.
    """
    modules = public_modules()
    home: dict[str, str] = {}  # private object path -> documenting path
    for module in sorted(modules, key=lambda m: m.path == PACKAGE):
        for name in _exports(module):
            target = _export_target(module, name)
            if target and target.startswith(PACKAGE + ".") and _is_private(target) \
                    and _exists(module, target):
                home.setdefault(target, f"{module.path}.{name}")
    own: dict[str, list[str]] = {}
    documented: dict[str, griffe.Object] = {m.path: m for m in modules}
    for module in modules:
        members = module.members
        own[module.path] = [
            name for name in _exports(module) if name in members and not members[name].is_module
            and (not members[name].is_alias or f"{module.path}.{name}" in home.values())]
        documented.update({f"{module.path}.{n}": members[n] for n in own[module.path]})
    return Reference(modules, own, documented, _resolve_reexports(modules, own, documented, home))


def _exists(module: griffe.Module, path: str) -> bool:
    """Whether ``path`` names an object of the package that ``module`` belongs to."""
    try:
        return _root(module)[path.partition(".")[2]] is not None
    except (KeyError, griffe.AliasResolutionError):
        return False


def _resolve_reexports(modules: list[griffe.Module], own: dict[str, list[str]],
                       documented: dict[str, griffe.Object], home: dict[str, str]
                       ) -> dict[str, str | None]:
    by_name: dict[str, list[str]] = {}
    for path in documented:
        by_name.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    reexports: dict[str, str | None] = {}
    for module in modules:
        for name in _exports(module):
            target = _export_target(module, name)
            if target is None or name in own[module.path]:
                continue
            target = home.get(target, target)
            if target not in documented and name not in module.members:  # lazy, home unknown
                candidates = by_name.get(name, [])
                target = candidates[0] if len(candidates) == 1 else None
            reexports[f"{module.path}.{name}"] = target if target in documented else None
    return reexports


def _summary(obj: griffe.Object) -> str:
    """The first paragraph of ``obj``'s docstring on one line, as Markdown."""
    if obj.docstring is None:
        return ""
    first = " ".join(obj.docstring.value.strip().split("\n\n")[0].split())
    return rst_to_markdown(first, _module_path(obj))


def page_markdown(module: griffe.Module, ref: Reference) -> str:
    """The Markdown of ``module``'s reference page."""
    own = ref.own[module.path]
    lines = [f"# `{module.path}`", "", f"::: {module.path}", "    options:"]
    if own:
        lines += ["      members:", *(f"        - {name}" for name in own)]
    else:
        lines.append("      members: false")
    prefix = module.path + "."
    reexported = [(path[len(prefix):], target) for path, target in ref.reexports.items()
                  if path.startswith(prefix) and "." not in path[len(prefix):]]
    if reexported:
        lines += ["", "## Defined in other modules", "",
                  f"Exported by `{module.path}` and documented where they are defined:", ""]
        for name, target in reexported:
            if target is None:
                lines.append(f"- `{name}`")
            else:
                summary = _summary(ref.documented[target])
                lines.append(f"- [`{name}`][{target}]" + (f" -- {summary}" if summary else ""))
    return "\n".join(lines) + "\n"


def reference_nav(modules: list[griffe.Module]) -> list[Any]:
    """Nav entries of the reference pages: one subsection per subpackage with submodules."""
    groups: dict[str, list[str]] = {}
    for module in modules:
        groups.setdefault(".".join(module.path.split(".")[:2]), []).append(module.path)
    entries: list[Any] = []
    for group, paths in groups.items():
        pages = [{path: f"{REFERENCE_DIR}/{path}.md"} for path in paths]
        entries.append({group: pages} if len(pages) > 1 else pages[0])
    return entries


# ---------------------------------------------------------------- the nav


def _nav_pages(nav: Any) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, dict):
        return set().union(*(_nav_pages(v) for v in nav.values()))
    if isinstance(nav, list):
        return set().union(*(_nav_pages(v) for v in nav)) if nav else set()
    return set()


def _section(nav: list[Any], title: str) -> list[Any]:
    for entry in nav:
        if isinstance(entry, dict) and title in entry and isinstance(entry[title], list):
            return entry[title]
    nav.append({title: []})
    return nav[-1][title]


def on_config(config: Any) -> Any:
    """Add the reference pages to the nav and append every page the nav leaves out."""
    nav = config["nav"]
    if nav is None:  # no explicit nav: MkDocs lists every page itself
        return config
    generated = reference_nav(public_modules())
    listed = _nav_pages(nav) | _nav_pages(generated)
    _section(nav, REFERENCE_SECTION).extend(generated)
    docs = Path(config["docs_dir"])
    for path in sorted(docs.rglob("*.md")):
        page = path.relative_to(docs).as_posix()
        if page in listed:
            continue
        if page.startswith(REFERENCE_DIR + "/"):
            title = REFERENCE_SECTION
        elif path.stem.startswith("tutorial"):
            title = TUTORIAL_SECTION
        else:
            title = OTHER_SECTION
        log.info("docs/%s is not in the nav of mkdocs.yml: listed under %r", page, title)
        _section(nav, title).append(page)
    return config


def on_files(files: Files, config: Any) -> Files:
    """Generate ``reference/<module>.md`` for every public module."""
    ref = load_reference()
    for module in ref.modules:
        src = f"{REFERENCE_DIR}/{module.path}.md"
        if files.get_file_from_path(src) is None:
            files.append(File.generated(config, src, content=page_markdown(module, ref)))
    return files


# ---------------------------------------------------------------- links out of docs/

# A code span (left alone) or an inline link.
_LINK = re.compile(r"(?P<code>(?P<ticks>`+).+?(?<!`)(?P=ticks)(?!`))"
                   r"|\[(?P<text>[^\]\n]+)\]\((?P<target>[^)\s]+)\)", flags=re.S)
_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.M | re.S)


def _outside_link(match: re.Match[str], here: Path, docs: Path) -> str:
    text, target = match.group("text"), match.group("target")
    if match.group("code"):
        return match.group(0)
    path = target.split("#", 1)[0]
    if not path or "://" in target or target.startswith(("/", "mailto:")):
        return match.group(0)
    resolved = (here / path).resolve()
    if resolved.is_relative_to(docs) or not resolved.is_relative_to(ROOT) \
            or not resolved.exists():
        return match.group(0)  # a page of the site, or broken: --strict reports it
    shown = resolved.relative_to(ROOT).as_posix()
    log.info("link to %s (outside docs/) shown as the path %r", target, shown)
    if text.strip("`") in (shown, resolved.name, path):
        return f"`{shown}`"
    return f"{text} (`{shown}`)"


_ITEM = re.compile(r"^([-*+]|\d+[.)]) ")
_NESTED_ITEM = re.compile(r"^  ([-*+]|\d+[.)]) ")


def nest_lists(text: str) -> str:
    """Indent the 2-space nested list items of GitHub Markdown to the 4 spaces MkDocs needs.

    Python-Markdown nests a list only under 4 spaces of indentation; under 2 it flattens the
    sub-items into the parent list. Only items directly under a list item are moved.
    """
    lines = text.split("\n")
    in_list = False
    for i, line in enumerate(lines):
        if _ITEM.match(line):
            in_list = True
        elif in_list and _NESTED_ITEM.match(line):
            lines[i] = "  " + line
        elif not line.strip() or not line.startswith(" "):
            in_list = False
    return "\n".join(lines)


_MODULE_HEADING = re.compile(rf"^## `({PACKAGE}(?:\.\w+)*)`")
_NAME_BULLET = re.compile(r"^- (`([A-Za-z_]\w*)[^`\n]*`)")


def reexport_targets() -> dict[str, str]:
    """``module.name`` -> the documented object it re-exports, for every public module."""
    return {path: target for path, target in load_reference().reexports.items() if target}


def link_overview(text: str, targets: dict[str, str]) -> str:
    """Link each name of the API overview (``- `name(...)` ...`` under ``## `module` ``) to its
    reference entry, when it has one (an optional cross-reference: never a broken link).

    ``targets`` maps re-exported names to where they are documented (:func:`reexport_targets`).
    """
    module = None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        heading = _MODULE_HEADING.match(line)
        if heading or line.startswith("#"):
            module = heading.group(1) if heading else None
            continue
        bullet = _NAME_BULLET.match(line) if module else None
        if bullet:
            ident = f"{module}.{bullet.group(2)}"
            tag = f'<autoref identifier="{targets.get(ident, ident)}" optional>'
            lines[i] = f"- {tag}{bullet.group(1)}</autoref>{line[bullet.end():]}"
    return "\n".join(lines)


def _prose(text: str, here: Path, docs: Path) -> str:
    return nest_lists(_LINK.sub(lambda m: _outside_link(m, here, docs), text))


def _session(block: str) -> str:
    """A ``python`` code block that is a doctest session is highlighted as one (``pycon``)."""
    first, _, rest = block.partition("\n")
    if first.rstrip() == "```python" and rest.lstrip().startswith(">>>"):
        return "```pycon\n" + rest
    return block


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Make GitHub-style Markdown of ``docs/`` read the same on the site.

    * Links to files of the checkout outside ``docs/`` (``../README.md``, ``../examples/x.py``)
      work in the repository but have no page on the site: the site shows the file's path
      instead. A link to a file that does not exist is left alone, so ``--strict`` reports it.
    * 2-space nested lists (:func:`nest_lists`).
    * The names of the API overview link to their reference entries (:func:`link_overview`).
    * A ``python`` code block of ``>>>`` lines is highlighted as a session (prompts and output
      set apart).

    Code blocks are left as written.
    """
    docs = Path(config["docs_dir"]).resolve()
    here = (docs / page.file.src_uri).parent
    if page.file.src_uri == OVERVIEW_PAGE:
        markdown = link_overview(markdown, reexport_targets())
    parts, last = [], 0
    for fence in _FENCE.finditer(markdown):
        parts += [_prose(markdown[last:fence.start()], here, docs), _session(fence.group(0))]
        last = fence.end()
    parts.append(_prose(markdown[last:], here, docs))
    return "".join(parts)


# ---------------------------------------------------------------- docstrings: rST -> Markdown

_ROLE = re.compile(r":(math|func|class|mod|meth|attr|data|obj|exc):`([^`]+)`")
_DIRECTIVE = re.compile(r"^([ \t]*)\.\. math::[ \t]*(.*)$")


_EXPLICIT_TITLE = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.]*")


def _xref(target: str, scope: str) -> str:
    """An optional cross-reference: a link if the object has a reference entry, else code.

    ``name``, ``~pkg.mod.name`` (shown as ``name``) and ``title <pkg.mod.name>`` as in Sphinx.
    """
    target = target.strip()
    explicit = _EXPLICIT_TITLE.match(target)
    if explicit:
        shown, ident = explicit.group("title"), explicit.group("target").strip().lstrip("~")
    else:
        ident = target.lstrip("~")
        shown = ident.rsplit(".", 1)[-1] if target.startswith("~") else ident
    ident = ident.removesuffix("()")
    code = f"<code>{html.escape(shown)}</code>"
    if not _IDENTIFIER.fullmatch(ident):
        return code
    if not ident.startswith(PACKAGE + ".") and ident != PACKAGE:
        ident = f"{scope}.{ident}"
    return f'<autoref identifier="{ident}" optional>{code}</autoref>'


def _display_math(lines: list[str]) -> list[str]:
    """``.. math:: ...`` (content on the directive's line and/or the lines indented under it)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent, body = match.group(1), [match.group(2)]
        i += 1
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > len(indent)):
            body.append(lines[i].strip())
            i += 1
        out += ["", f"{indent}\\[", *(f"{indent}{b}" for b in body if b), f"{indent}\\]", ""]
    return out


def rst_to_markdown(text: str, scope: str) -> str:
    """Docstring ``text`` with its rST math and cross-reference roles as Markdown.

    ``scope`` is the dotted path of the module that holds the docstring: relative names
    (``:func:`exp```) are looked up there.
    """
    text = "\n".join(_display_math(text.split("\n")))

    def role(match: re.Match[str]) -> str:
        kind, body = match.group(1), match.group(2)
        return f"\\({body}\\)" if kind == "math" else _xref(body, scope)

    return _ROLE.sub(role, text)


def _module_path(obj: griffe.Object) -> str:
    while not obj.is_module and obj.parent is not None:
        obj = obj.parent
    return obj.path


def signature_defaults(func: griffe.Function) -> None:
    """Give each documented parameter of ``func`` its default from the signature.

    griffe's numpy parser gives every name of a shared entry (``activation, loss : str``) the
    default of the first name, and a ``{'a', 'b'}`` entry its first choice; the signature is
    the truth.
    """
    for section in func.docstring.parsed if func.docstring is not None else ():
        if section.kind is not griffe.DocstringSectionKind.parameters:
            continue
        for param in section.value:
            if param.name in func.parameters:
                param.value = func.parameters[param.name].default


class RstToMarkdown(griffe.Extension):
    """Griffe extension: every docstring of the package through :func:`rst_to_markdown`, and
    the parameters' defaults of functions from their signatures (:func:`signature_defaults`)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and obj.path.split(".")[0] == PACKAGE:
            obj.docstring.value = rst_to_markdown(obj.docstring.value, _module_path(obj))
            if obj.is_function:
                signature_defaults(obj)
