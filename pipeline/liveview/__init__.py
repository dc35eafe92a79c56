"""The whole centre's live view, whatever the number of workers.

Each worker publishes the live state of every source partition it owns to a compacted topic
(`live_topic`, `cc.live`), keyed by source, replacing what it published before
(`publication`); any process reads that topic from its start and merges the latest state of
every source (`view`, fed by `reader`), so every wallboard shows the same figures: each
worker's pages and `ccpipe wallboard` alike. docs/live.md has the why.
"""
