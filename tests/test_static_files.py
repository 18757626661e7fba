"""Every page's static files are found where the templates and the ES modules look for them.

Each app serves its own under static/archviz/<app>/ (AppDirectoriesFinder); what several
pages share is in the project's static/ (STATICFILES_DIRS). Read through Django's own
finders, as `runserver`, daphne's static handler and collectstatic do.
"""

import posixpath
import re
from collections import Counter
from functools import cache
from pathlib import Path

from django.contrib.staticfiles import finders

ARCHVIZ = Path(__file__).resolve().parent.parent / "archviz"
STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]\s*%}""")
# `import … from "./x.js"`, `import "./x.js"`, `export … from "./x.js"`, `import("./x.js")`
MODULE_SPECIFIER = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}/[^"']+)["']""")


@cache
def _served() -> dict[str, Path]:
    """Every file the finders serve, by its path under STATIC_URL (the first finder wins)."""
    found: dict[str, Path] = {}
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            found.setdefault(path.replace("\\", "/"), Path(storage.path(path)))
    return found


def _our_modules() -> dict[str, Path]:
    return {
        path: file
        for path, file in _served().items()
        if path.endswith(".js") and path.startswith("archviz/") and "/vendor/" not in path
    }


def test_every_static_tag_in_the_templates_is_found() -> None:
    """Each {% static %} path in a template names a file a finder serves."""
    missing = [
        f"{template.relative_to(ARCHVIZ)}: {path}"
        for template in ARCHVIZ.glob("*/templates/**/*.html")
        for path in STATIC_TAG.findall(template.read_text())
        if path not in _served()
    ]
    assert missing == []


def test_every_module_import_resolves_where_it_is_served() -> None:
    """A relative import resolves against the module's URL, so it must name a served file."""
    modules = _our_modules()
    assert "archviz/js/lib/protocol.js" in modules and "archviz/queue/queue.js" in modules
    broken = [
        f"{path}: {specifier}"
        for path, file in modules.items()
        for specifier in MODULE_SPECIFIER.findall(file.read_text())
        if posixpath.normpath(posixpath.join(posixpath.dirname(path), specifier)) not in _served()
    ]
    assert broken == []


def test_the_import_check_can_fail() -> None:
    """The specifier pattern sees every form of import, so a broken path would be reported."""
    source = 'import { a } from "./a.js";\nimport "../b.js";\nexport { c } from "./c.js";\n'
    assert MODULE_SPECIFIER.findall(source + 'const d = await import("./d.js");') == [
        "./a.js",
        "../b.js",
        "./c.js",
        "./d.js",
    ]


def test_no_two_sources_serve_the_same_path() -> None:
    """An app's file and a project file with one name would shadow each other without a word."""
    paths = Counter(
        path.replace("\\", "/") for finder in finders.get_finders() for path, _ in finder.list([])
    )
    assert [path for path, n in paths.items() if n > 1] == []


def test_each_demo_serves_its_own_files_from_its_app() -> None:
    """A page's own modules live in its app, under static/archviz/<app>/."""
    for path, file in _our_modules().items():
        app = path.split("/")[1]
        if app != "js":
            assert file.is_relative_to(ARCHVIZ / app / "static" / "archviz" / app), path
