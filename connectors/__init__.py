"""Connectors: each turns one feedback source (live API or export file) into `Signal`s. No Notion, no service.

http/       the HTTP toolkit: errors, the decision table, the retry policy, rate limiters, paginators, client
base.py     Connector: declarative attributes + THE read loop (targets x pages x records) + probe()
cursor.py   the incremental window (closed start, applied once, by the loop)
signal.py   Signal, SourceName, KindHint, RowProblem: all a connector hands up
exports.py  the one export-file reader (utf-8-sig; JSON / NDJSON / CSV records with their file:line)
text.py     html_to_text, first_line, timestamps, kind and tag guesses
registry.py name -> connector class
zendesk.py g2.py gong.py github.py discord.py   one source each: config slice, shape, to_signal
"""
