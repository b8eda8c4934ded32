"""What every view shows of a trace, computed once as plain data: who sent each hop to whom, each exchange's
stages with their parameters as the rules read them, the parameter verdicts taken from the findings (never
decided again here), the headline finding, severity marks and blame words.

Above analysis (it reads the findings and the rules' own readers), below the TUI, the exporters and the CLI,
which only render it: no Rich, no Markdown, no Textual here.
"""
