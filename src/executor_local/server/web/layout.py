"""The page frame: landmarks, the main navigation, flash messages and the logout form."""

from __future__ import annotations

from executor_local.server.web.html import Markup, join, render
from executor_local.server.web.sessions import Session

NAV = (("/", "Overview"), ("/ui/add", "Add integration"), ("/ui/connections", "Connections"),
       ("/ui/policies", "Policies"), ("/ui/executions", "Executions"))

FRAME = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title · executor</title>
<link rel="stylesheet" href="/ui/static/console.css">
<script src="/ui/static/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand">executor</p>
$nav
</header>
<main id="main" tabindex="-1">
<h1>$title</h1>
<div id="flash" role="status" aria-live="polite">$flash</div>
$body
</main>
$footer
</body>
</html>
"""


def nav(current: str) -> Markup:
    items = join(render('<li><a href="$href"$cur>$label</a></li>', href=href, label=label,
                        cur=Markup(' aria-current="page"') if href == current else Markup(""))
                 for href, label in NAV)
    return render('<nav aria-label="Main"><ul>$items</ul></nav>', items=items)


def csrf_field(session: Session) -> Markup:
    return render('<input type="hidden" name="csrf" value="$v">', v=session.csrf)


def page(title: str, body: Markup, session: Session, current: str = "") -> str:
    flash = join(render('<p class="flash $kind"$role>$text</p>', kind=kind, text=text,
                        role=Markup(' role="alert"') if kind == "error" else Markup(""))
                 for kind, text in session.pop_flash())
    footer = render('<footer><form method="post" action="/logout">$csrf'
                    '<button type="submit">Log out</button></form></footer>',
                    csrf=csrf_field(session))
    return render(FRAME, title=title, nav=nav(current), flash=flash, body=body, footer=footer)


def bare_page(title: str, text: str) -> str:
    body = render("<p>$text</p>", text=text)
    return render(FRAME, title=title, nav=Markup(""), flash=Markup(""), body=body,
                  footer=Markup(""))
