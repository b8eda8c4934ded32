"""Traffic in and out of the database: HAR and mitmproxy flow files in, redacted HAR and JSON out (the Markdown
report, which needs the analysis, is oauthtrace.exporters.markdown).

    importer.py     `oauthtrace import`: recognise a file by content, one transaction per file
    har_import.py   HAR 1.2 (every browser and proxy flavour) -> hops
    flow_import.py  mitmproxy flow files -> hops, through the recorder's own conversion
    json_import.py  oauthtrace's own JSON -> hops
    export.py       `oauthtrace export`: one trace, redacted by default, streamed, written atomically
    har_export.py   hops -> HAR 1.2
    json_export.py  hops -> oauthtrace's lossless JSON
    redact.py       secrets -> stable per-export fingerprints; shared by every export and the report
    sweep.py        many known strings replaced in one linear pass (redact.py's net for free text)
"""
