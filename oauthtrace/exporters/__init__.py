"""Renderers of the report layer (oauthtrace.report) and of `check`'s findings: the Markdown report with its
Mermaid diagram, the terminal timeline, and the text, JSON, JUnit and SARIF formats. They draw; they decide
nothing about a parameter or a party."""
