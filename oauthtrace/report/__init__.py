"""What every view shows of a trace, computed once as plain data: who sent each hop to whom, each exchange's
stages with their parameters as the rules read them, the parameter verdicts taken from the findings (never
decided again here), the headline finding and severity marks (blame words: model.blame_word, which the analysis
and replay use too).

Above analysis (it reads the findings and the rules' own readers), below the TUI, the exporters and the CLI,
which only render it: no Rich, no Markdown, no Textual here.

    parties.py     who sent each hop to whom: Browser, Client, Provider, Resource server
    stages.py      an exchange's stages and parameters, the authorization request as the rules read it (PAR)
    verdicts.py    state, code, redirect_uri, code_verifier: the verdict of the rules that judge each
    exchange.py    ExchangeView: one exchange's stages, verdicts and findings
    headline.py    the finding a summary names; an exchange's path at a glance
    marks.py       severity marks, and the worst finding at each hop
    rule_words.py  a rule's cause sentence, title and quote
"""
