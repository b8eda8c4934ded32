"""Renderers of the report layer (oauthtrace.report) and of `check`'s findings. They draw; they decide nothing
about a parameter or a party.

    markdown.py           `export --format markdown`: the report for a forum post or an issue (sentence, diagram,
                          tables), on hops redacted first
    markdown_diagram.py   an exchange's Mermaid sequence diagram, failing hops marked
    markdown_sections.py  parameters side by side, the `state` line, findings, not evaluated, hops
    markdown_text.py      captured and project text as Markdown that shows it literally
    mcp_markdown.py       the MCP authorization chain table
    mermaid.py            Mermaid sequence diagrams that captured text cannot break
    check_formats.py      `check --format text|json|junit|sarif`
    timeline_text.py      `show`: a trace's timeline for the terminal, then its findings as text
"""
